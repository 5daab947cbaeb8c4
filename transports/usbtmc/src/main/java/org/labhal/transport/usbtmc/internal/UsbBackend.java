package org.labhal.transport.usbtmc.internal;

import java.time.Duration;
import java.util.List;

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

    /** A USBTMC interface found on the bus: what a resource string needs, and the product's name. */
    record Found(int vendorId, int productId, String serial, int interfaceNumber, String product) {
    }

    /**
     * @param problems receives one line per device that was seen but could not be read
     * @return the USBTMC interfaces (class 0xFE, subclass 0x03) of the devices on the bus
     * @throws LabHalException when the bus cannot be listed at all
     */
    default List<Found> usbtmcInterfaces(List<String> problems) throws LabHalException {
        return List.of();
    }

    /** Releases what the backend holds (the libusb context); idempotent. */
    @Override
    void close();
}
