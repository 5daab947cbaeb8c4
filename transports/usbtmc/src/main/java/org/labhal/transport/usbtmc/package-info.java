/**
 * USBTMC / USB488 access for LabHAL: the host-side view of one USB interface ({@link UsbDevice}) that
 * the protocol engine runs over, and a simulated USB488 device ({@link SimulatedUsb488Device}) that
 * puts a simulated SCPI instrument behind USBTMC endpoints, for tests and for the runtime's simulated
 * USB resources ({@link SimulatedUsbDevices}). The transport itself is a private DS component.
 */
@Export
@Version("1.0.0")
package org.labhal.transport.usbtmc;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
