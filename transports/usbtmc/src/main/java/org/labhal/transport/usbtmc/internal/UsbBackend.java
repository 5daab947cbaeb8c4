package org.labhal.transport.usbtmc.internal;

import java.time.Duration;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.transport.usbtmc.UsbDevice;

/** Finds, opens and claims the USB interface a resource names. */
interface UsbBackend extends AutoCloseable {

    /**
     * @param address a {@code USBTMC} or {@code USB_RAW} resource
     * @param timeout bounds the opening
     * @return the claimed interface
     * @throws LabHalException naming the resource when no such device is there or it cannot be claimed
     */
    UsbDevice open(ResourceAddress address, Duration timeout) throws LabHalException;

    /** Releases what the backend holds (the libusb context); idempotent. */
    @Override
    void close();
}
