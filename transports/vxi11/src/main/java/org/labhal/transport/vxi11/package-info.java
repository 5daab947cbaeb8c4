/**
 * The VXI-11 transport's public face: {@link org.labhal.transport.vxi11.Vxi11Link}, the VXI-11
 * operations beyond read, write and clear (device lock and unlock, status byte, trigger,
 * remote/local, device_abort) that a {@link org.labhal.api.transport.Connection} of this transport
 * also offers, and {@link org.labhal.transport.vxi11.Vxi11Exception}, which names the VXI-11 error
 * code an instrument answered ({@link org.labhal.transport.vxi11.Vxi11AbortedException} for error 23).
 */
@Export
@Version("1.2.0")
package org.labhal.transport.vxi11;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
