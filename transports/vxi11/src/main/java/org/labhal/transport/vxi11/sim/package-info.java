/**
 * A VXI-11 server for the simulated instruments of {@code org.labhal.transport.sim}, with its own
 * portmapper, so that LabHAL's VXI-11 transport and standard VISA clients can be tested without
 * hardware. Needs the simulator bundle at run time (an optional import of this bundle).
 */
@Export
@Version("1.1.0")
package org.labhal.transport.vxi11.sim;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
