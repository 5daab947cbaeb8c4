package org.labhal.transport.usbtmc;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Simulated USB devices that the USBTMC transport finds before it asks libusb: register an instance of
 * this class as an OSGi service (or hand it to the transport in a test), add devices to it, and
 * {@code USB0::0x0AAD::0x0001::SIM-SMW-0::INSTR} opens the simulated device with that vendor id, product
 * id and serial. Thread-safe.
 */
public final class SimulatedUsbDevices {
    private final ConcurrentMap<String, SimulatedUsb488Device> devices = new ConcurrentHashMap<>();

    /**
     * @param device the device to offer
     * @throws IllegalStateException when a device with the same ids and serial is already there
     */
    public void add(SimulatedUsb488Device device) {
        String key = key(device.vendorId(), device.productId(), device.serial());
        if (devices.putIfAbsent(key, device) != null) {
            throw new IllegalStateException("a simulated USB device " + key + " is already registered");
        }
    }

    /**
     * @param device the device to withdraw; it stays powered (close it yourself)
     * @return whether it was registered
     */
    public boolean remove(SimulatedUsb488Device device) {
        return devices.remove(key(device.vendorId(), device.productId(), device.serial()), device);
    }

    /**
     * @param serial the iSerialNumber, or {@code null} for the first device with these ids
     * @return the device with these ids and serial
     */
    public Optional<SimulatedUsb488Device> find(int vendorId, int productId, String serial) {
        if (serial != null) {
            return Optional.ofNullable(devices.get(key(vendorId, productId, serial)));
        }
        return devices.values().stream().filter(d -> d.vendorId() == vendorId && d.productId() == productId)
                .findFirst();
    }

    /** @return the registered devices, a snapshot */
    public List<SimulatedUsb488Device> devices() {
        return List.copyOf(devices.values());
    }

    /**
     * @return the resource string that opens {@code device}, e.g.
     *         {@code USB0::0x0AAD::0x0001::SIM-SMW-0::INSTR} ({@code ::RAW} for a raw device)
     */
    public static String resource(SimulatedUsb488Device device) {
        Objects.requireNonNull(device, "device");
        return String.format("USB0::0x%04X::0x%04X::%s::%s", device.vendorId(), device.productId(), device.serial(),
                device.isRaw() ? "RAW" : "INSTR");
    }

    private static String key(int vendorId, int productId, String serial) {
        return String.format("0x%04X:0x%04X:%s", vendorId, productId, serial);
    }
}
