/**
 * The HiSLIP (IVI-6.1) transport's public face: {@link org.labhal.transport.hislip.HislipLink}, what a
 * HiSLIP {@link org.labhal.api.transport.Connection} offers beyond moving bytes (instrument-side locks,
 * status query, remote/local control, trigger, the negotiated session parameters), and the specific
 * exceptions for errors the instrument reports, frames or message ids that break the protocol, and a
 * read ended by a device clear from another thread.
 */
@Export
@Version("1.2.0")
package org.labhal.transport.hislip;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
