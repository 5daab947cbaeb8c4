package org.labhal.transport.usbtmc.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportKind;
import org.labhal.api.TransportUnavailableException;
import org.labhal.transport.usbtmc.UsbDevice;
import org.usb4java.ConfigDescriptor;
import org.usb4java.Context;
import org.usb4java.Device;
import org.usb4java.DeviceDescriptor;
import org.usb4java.DeviceHandle;
import org.usb4java.DeviceList;
import org.usb4java.EndpointDescriptor;
import org.usb4java.Interface;
import org.usb4java.InterfaceDescriptor;
import org.usb4java.LibUsb;

/**
 * Real USB devices through libusb (usb4java): one libusb context, made when this backend is, finding a
 * device by vendor id, product id and serial and claiming its USBTMC interface (class 0xFE, subclass
 * 0x03) or, for {@code ::RAW}, the interface named or the first with a bulk pipe each way. A kernel
 * driver holding the interface (Linux {@code usbtmc}) is detached first, as PyVISA-py does. When libusb
 * cannot be loaded or initialised, every open fails with {@link TransportUnavailableException} saying why.
 * Thread-safe.
 */
final class LibUsbBackend implements UsbBackend {
    private final Context context;
    private final String unavailable; // why libusb cannot be used, or null
    private boolean closed; // guarded by this

    LibUsbBackend() {
        Context made = null;
        String why = null;
        try {
            made = new Context();
            int result = LibUsb.init(made);
            if (result != LibUsb.SUCCESS) {
                why = "libusb_init failed: " + LibUsb.errorName(result);
                made = null;
            }
        } catch (LinkageError | RuntimeException e) { // native library missing or not loadable here
            why = "the libusb native library could not be loaded (" + e + ")";
            made = null;
        }
        this.context = made;
        this.unavailable = why;
    }

    /** @return why libusb cannot be used, or {@code null} when it can */
    String unavailable() {
        return unavailable;
    }

    /** @return the libusb version, e.g. 1.0.22 */
    String version() {
        var v = LibUsb.getVersion();
        return v.major() + "." + v.minor() + "." + v.micro();
    }

    /**
     * @return vendor:product of every USB device libusb sees
     * @throws LabHalException when libusb is unavailable or cannot list devices
     */
    synchronized List<String> devices() throws LabHalException {
        List<String> found = new ArrayList<>();
        eachDevice((device, d) -> found.add(ids(d)));
        return found;
    }

    /** What to do with one device libusb lists, and its descriptor. */
    @FunctionalInterface
    private interface DeviceVisit {
        void visit(Device device, DeviceDescriptor descriptor);
    }

    /**
     * Lists the devices libusb sees and visits each whose descriptor could be read; the list is freed after.
     *
     * @throws LabHalException when libusb is unavailable or cannot list devices
     */
    private void eachDevice(DeviceVisit visit) throws LabHalException {
        check(null);
        DeviceList list = new DeviceList();
        int count = LibUsb.getDeviceList(context, list);
        if (count < 0) {
            throw new LabHalException("libusb could not list the USB devices: " + LibUsb.errorName(count));
        }
        try {
            for (Device device : list) {
                DeviceDescriptor d = new DeviceDescriptor();
                if (LibUsb.getDeviceDescriptor(device, d) == LibUsb.SUCCESS) {
                    visit.visit(device, d);
                }
            }
        } finally {
            LibUsb.freeDeviceList(list, true);
        }
    }

    private static String ids(DeviceDescriptor d) {
        return String.format("0x%04X:0x%04X", d.idVendor() & 0xFFFF, d.idProduct() & 0xFFFF);
    }

    /**
     * Lists the USBTMC interfaces (class 0xFE, subclass 0x03) of the devices libusb sees. A device is opened
     * only to read its serial number and product string; one that cannot be opened (no permission) is left
     * out and named in {@code problems}.
     *
     * @param problems receives one line per device that could not be read
     * @return the interfaces found
     * @throws LabHalException when libusb is unavailable or cannot list devices
     */
    @Override
    public synchronized List<Found> usbtmcInterfaces(List<String> problems) throws LabHalException {
        List<Found> found = new ArrayList<>();
        eachDevice((device, d) -> {
            List<Integer> interfaces = usbtmcInterfaceNumbers(device);
            if (interfaces.isEmpty()) {
                return;
            }
            DeviceHandle handle = new DeviceHandle();
            int result = LibUsb.open(device, handle);
            if (result != LibUsb.SUCCESS) {
                problems.add("USB device " + ids(d) + " has a USBTMC interface but could not be opened to read its "
                        + "serial number (" + LibUsb.errorName(result) + (result == LibUsb.ERROR_ACCESS
                                ? ": no permission, add a udev rule for it" : "") + ")");
                return;
            }
            try {
                String serial = d.iSerialNumber() == 0 ? "" : LibUsb.getStringDescriptor(handle, d.iSerialNumber());
                String product = d.iProduct() == 0 ? "" : LibUsb.getStringDescriptor(handle, d.iProduct());
                for (int number : interfaces) {
                    found.add(new Found(d.idVendor() & 0xFFFF, d.idProduct() & 0xFFFF, serial == null ? "" : serial,
                            number, product == null ? "" : product));
                }
            } finally {
                LibUsb.close(handle);
            }
        });
        return found;
    }

    private static List<Integer> usbtmcInterfaceNumbers(Device device) {
        List<Integer> numbers = new ArrayList<>();
        ConfigDescriptor config = new ConfigDescriptor();
        if (LibUsb.getActiveConfigDescriptor(device, config) != LibUsb.SUCCESS) {
            return numbers;
        }
        try {
            for (Interface iface : config.iface()) {
                for (InterfaceDescriptor alt : iface.altsetting()) {
                    if ((alt.bInterfaceClass() & 0xFF) == Usbtmc.INTERFACE_CLASS
                            && (alt.bInterfaceSubClass() & 0xFF) == Usbtmc.INTERFACE_SUBCLASS
                            && !numbers.contains(alt.bInterfaceNumber() & 0xFF)) {
                        numbers.add(alt.bInterfaceNumber() & 0xFF);
                    }
                }
            }
        } finally {
            LibUsb.freeConfigDescriptor(config);
        }
        return numbers;
    }

    private void check(ResourceAddress address) throws LabHalException {
        if (closed) {
            throw new LabHalException("The USBTMC transport stopped: " + (address == null ? "libusb" : address.canonical())
                    + " cannot be opened");
        }
        if (unavailable != null) {
            throw new TransportUnavailableException("USB devices cannot be opened"
                    + (address == null ? "" : " (" + address.canonical() + ")") + ": " + unavailable,
                    address == null ? TransportKind.USBTMC : address.kind());
        }
    }

    @Override
    public synchronized UsbDevice open(ResourceAddress address, Duration timeout) throws LabHalException {
        check(address);
        int vendor = address.usbVendorId().orElseThrow();
        int product = address.usbProductId().orElseThrow();
        String serial = address.usbSerial().orElse(null);
        boolean raw = address.kind() == TransportKind.USB_RAW;
        int wanted = address.usbInterface().orElse(-1);
        String name = String.format("USB device 0x%04X:0x%04X", vendor, product) + (serial == null ? "" : " serial " + serial);
        DeviceList list = new DeviceList();
        int count = LibUsb.getDeviceList(context, list);
        if (count < 0) {
            throw new LabHalException("libusb could not list the USB devices for " + address.canonical() + ": "
                    + LibUsb.errorName(count));
        }
        List<String> problems = new ArrayList<>();
        try {
            for (Device device : list) {
                DeviceDescriptor d = new DeviceDescriptor();
                if (LibUsb.getDeviceDescriptor(device, d) != LibUsb.SUCCESS || (d.idVendor() & 0xFFFF) != vendor
                        || (d.idProduct() & 0xFFFF) != product) {
                    continue;
                }
                DeviceHandle handle = new DeviceHandle();
                int result = LibUsb.open(device, handle);
                if (result != LibUsb.SUCCESS) {
                    problems.add("one could not be opened (" + LibUsb.errorName(result)
                            + (result == LibUsb.ERROR_ACCESS ? ": no permission, add a udev rule for it" : "") + ")");
                    continue;
                }
                boolean keep = false;
                try {
                    String actual = d.iSerialNumber() == 0 ? "" : LibUsb.getStringDescriptor(handle, d.iSerialNumber());
                    if (serial != null && !serial.equals(actual)) {
                        continue;
                    }
                    LibUsbDevice claimed = claim(device, handle, address, raw, wanted, actual == null ? "" : actual,
                            name);
                    keep = true;
                    return claimed;
                } finally {
                    if (!keep) {
                        LibUsb.close(handle);
                    }
                }
            }
        } finally {
            LibUsb.freeDeviceList(list, true);
        }
        throw new ConnectionLostException("Cannot open " + address.canonical() + ": no " + name + " found (" + count
                + " USB device" + (count == 1 ? "" : "s") + " seen" + (problems.isEmpty() ? "" : "; " + String.join("; ", problems))
                + ")", null);
    }

    /** Finds the interface and its endpoints, detaches a kernel driver, claims the interface. */
    private LibUsbDevice claim(Device device, DeviceHandle handle, ResourceAddress address, boolean raw, int wanted,
            String serial, String name) throws LabHalException {
        ConfigDescriptor config = new ConfigDescriptor();
        int result = LibUsb.getActiveConfigDescriptor(device, config);
        if (result != LibUsb.SUCCESS) {
            throw new LabHalException("Cannot open " + address.canonical() + ": the configuration descriptor of the "
                    + name + " could not be read (" + LibUsb.errorName(result) + ")");
        }
        try {
            for (Interface iface : config.iface()) {
                for (InterfaceDescriptor alt : iface.altsetting()) {
                    int number = alt.bInterfaceNumber() & 0xFF;
                    boolean usbtmc = (alt.bInterfaceClass() & 0xFF) == Usbtmc.INTERFACE_CLASS
                            && (alt.bInterfaceSubClass() & 0xFF) == Usbtmc.INTERFACE_SUBCLASS;
                    if (wanted >= 0 ? number != wanted : !raw && !usbtmc) {
                        continue;
                    }
                    int bulkIn = -1;
                    int bulkOut = -1;
                    int interruptIn = -1;
                    int inPacket = 0;
                    int outPacket = 0;
                    for (EndpointDescriptor ep : alt.endpoint()) {
                        int addr = ep.bEndpointAddress() & 0xFF;
                        int type = ep.bmAttributes() & 0x03;
                        boolean in = (addr & 0x80) != 0;
                        if (type == 2 && in && bulkIn < 0) {
                            bulkIn = addr;
                            inPacket = ep.wMaxPacketSize() & 0x7FF;
                        } else if (type == 2 && !in && bulkOut < 0) {
                            bulkOut = addr;
                            outPacket = ep.wMaxPacketSize() & 0x7FF;
                        } else if (type == 3 && in && interruptIn < 0) {
                            interruptIn = addr;
                        }
                    }
                    if (bulkIn < 0 || bulkOut < 0) {
                        continue;
                    }
                    detachKernelDriver(handle, number, address, name);
                    result = LibUsb.claimInterface(handle, number);
                    if (result != LibUsb.SUCCESS) {
                        throw new LabHalException("Cannot open " + address.canonical() + ": interface " + number
                                + " of the " + name + " could not be claimed (" + LibUsb.errorName(result)
                                + (result == LibUsb.ERROR_BUSY ? ": another program or driver holds it" : "") + ")");
                    }
                    return new LibUsbDevice(handle, name + " interface " + number, serial, number,
                            alt.bInterfaceProtocol() & 0xFF, bulkOut, bulkIn, raw ? -1 : interruptIn, outPacket,
                            inPacket);
                }
            }
        } finally {
            LibUsb.freeConfigDescriptor(config);
        }
        throw new LabHalException("Cannot open " + address.canonical() + ": the " + name + " has no "
                + (wanted >= 0 ? "interface " + wanted + " with a bulk pipe each way"
                        : raw ? "interface with a bulk pipe each way" : "USBTMC interface (class 0xFE, subclass 0x03)"));
    }

    private static void detachKernelDriver(DeviceHandle handle, int number, ResourceAddress address, String name)
            throws LabHalException {
        int active = LibUsb.kernelDriverActive(handle, number);
        if (active == 1) {
            int result = LibUsb.detachKernelDriver(handle, number);
            if (result != LibUsb.SUCCESS) {
                throw new LabHalException("Cannot open " + address.canonical() + ": interface " + number + " of the "
                        + name + " is held by a kernel driver (usbtmc) and detaching it failed ("
                        + LibUsb.errorName(result) + "): unload it (rmmod usbtmc) or give this process the permission");
            }
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            if (context != null) {
                LibUsb.exit(context);
            }
        }
    }
}
