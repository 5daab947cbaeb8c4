/**
 * A HiSLIP server for the simulated instruments of {@code org.labhal.transport.sim}: serves a
 * {@link org.labhal.transport.sim.SimulatedInstrument} on a loopback TCP port so that LabHAL's HiSLIP
 * transport and other HiSLIP clients (PyVISA-py) can talk to it, with HiSLIP lock semantics enforced
 * (sessions that do not hold the lock are held off), the simulated status byte, and synchronized or
 * overlapped mode. Needs the
 * sim bundle, which this bundle imports optionally.
 */
@Export
@Version("1.1.0")
package org.labhal.transport.hislip.server;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
