/**
 * A Prologix-style GPIB controller simulator ({@link org.labhal.transport.gpib.PrologixSimulator}) for
 * tests and for trying the GPIB transport without hardware. The transport itself is private: it is
 * reached through the {@code TransportFactory} service it registers for {@code GPIB} resources.
 */
@Export
@Version("1.0.0")
package org.labhal.transport.gpib;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
