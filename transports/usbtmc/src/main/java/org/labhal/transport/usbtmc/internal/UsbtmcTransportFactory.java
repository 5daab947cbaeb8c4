package org.labhal.transport.usbtmc.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportKind;
import org.labhal.api.discovery.Discovered;
import org.labhal.api.discovery.Discoverer;
import org.labhal.api.discovery.DiscoveryRequest;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.OpenConnections;
import org.labhal.api.transport.TransportFactory;
import org.labhal.transport.usbtmc.SimulatedUsb488Device;
import org.labhal.transport.usbtmc.SimulatedUsbDevices;
import org.labhal.transport.usbtmc.UsbDevice;
import org.labhal.transport.usbtmc.UsbException;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The USBTMC / USB488 transport, {@code USB[board]::vid::pid::serial[::interface]::INSTR}, and the raw
 * USB bulk pipe, {@code ...::RAW}. A resource opens a simulated device registered in a
 * {@link SimulatedUsbDevices} service when one has its ids and serial, else the device found through
 * libusb (usb4java). libusb is loaded at the first open of a real device: when it cannot be, this
 * factory still registers and such opens fail with a {@link org.labhal.api.TransportUnavailableException}
 * saying why; simulated devices keep working. Options: see {@link UsbSettings} and the README.
 *
 * <p>Stopping the bundle closes every connection this factory opened and releases libusb.
 */
// one value per kind: the runtime looks a transport up with (labhal.transport.kinds=<KIND>)
@Component(service = {TransportFactory.class, Discoverer.class},
        property = {TransportFactory.KINDS_PROPERTY + "=USBTMC", TransportFactory.KINDS_PROPERTY + "=USB_RAW",
            Discoverer.KINDS_PROPERTY + "=USBTMC"})
public final class UsbtmcTransportFactory implements TransportFactory, Discoverer {
    private final OpenConnections<Connection> open = new OpenConnections<>(UsbtmcTransportFactory::kill,
            "closed because the USBTMC transport stopped");
    private final List<SimulatedUsbDevices> simulated = new CopyOnWriteArrayList<>();
    private final Supplier<UsbBackend> backendMaker;
    private UsbBackend backend; // guarded by this; made at the first open of a real device
    private boolean stopped; // guarded by this

    /** The DS constructor: real devices through libusb. */
    @Activate
    public UsbtmcTransportFactory() {
        this(LibUsbBackend::new);
    }

    UsbtmcTransportFactory(Supplier<UsbBackend> backendMaker) {
        this.backendMaker = backendMaker;
    }

    /** @param devices simulated devices to find before libusb */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    public void addSimulated(SimulatedUsbDevices devices) {
        simulated.add(devices);
    }

    /** @param devices simulated devices no longer offered */
    public void removeSimulated(SimulatedUsbDevices devices) {
        simulated.remove(devices);
    }

    @Override
    public Set<TransportKind> kinds() {
        return Set.of(TransportKind.USBTMC, TransportKind.USB_RAW);
    }

    @Override
    public Connection open(ResourceAddress address, Duration timeout) throws LabHalException {
        TransportKind kind = address.kind();
        if (kind != TransportKind.USBTMC && kind != TransportKind.USB_RAW) {
            throw new LabHalException("The USBTMC transport cannot open " + address.canonical()
                    + ": it serves USB::vid::pid::serial::INSTR and ::RAW resources only");
        }
        String resource = address.canonical();
        UsbSettings settings = UsbSettings.of(address, kind);
        UsbDevice device = simulatedDevice(address).orElse(null);
        if (device == null) {
            device = backend().open(address, timeout);
        }
        if (kind == TransportKind.USB_RAW) {
            UsbRawConnection raw = new UsbRawConnection(resource, device, settings, open::remove);
            open.add(raw);
            return raw;
        }
        UsbtmcConnection connection = new UsbtmcConnection(resource, device, settings, open::remove);
        open.add(connection); // closes it at once if the transport stopped meanwhile
        try {
            connection.start(timeout);
        } catch (LabHalException | RuntimeException e) {
            connection.close();
            throw e;
        }
        return connection;
    }

    private Optional<UsbDevice> simulatedDevice(ResourceAddress address) throws LabHalException {
        int vendor = address.usbVendorId().orElseThrow();
        int product = address.usbProductId().orElseThrow();
        String serial = address.usbSerial().orElse(null);
        for (SimulatedUsbDevices devices : simulated) {
            Optional<SimulatedUsb488Device> found = devices.find(vendor, product, serial);
            if (found.isPresent()) {
                SimulatedUsb488Device device = found.get();
                if (device.isRaw() != (address.kind() == TransportKind.USB_RAW)) {
                    throw new LabHalException("Cannot open " + address.canonical() + ": " + device + " is "
                            + (device.isRaw() ? "a raw bulk device, open it as ::RAW" : "a USBTMC device, open it as ::INSTR"));
                }
                try {
                    return Optional.of(device.open());
                } catch (UsbException e) {
                    String why = "Cannot open " + address.canonical() + ": " + e.getMessage();
                    throw e.kind() == UsbException.Kind.NO_DEVICE ? new ConnectionLostException(why, e)
                            : new LabHalException(why, e);
                }
            }
        }
        return Optional.empty();
    }

    @Override
    public String name() {
        return "USB (USBTMC interfaces)";
    }

    /**
     * Lists the simulated devices offered and the USBTMC interfaces libusb sees; sends nothing to any
     * device (a real one is opened only to read its serial number). A bus that cannot be listed (no libusb)
     * fails the search only when there is no simulated device to report either.
     */
    @Override
    public void discover(DiscoveryRequest request, Consumer<Discovered> found) throws LabHalException {
        for (SimulatedUsbDevices devices : simulated) {
            for (SimulatedUsb488Device device : devices.devices()) {
                if (!device.isRaw()) {
                    found.accept(new Discovered(ResourceAddress.parse(SimulatedUsbDevices.resource(device)),
                            "simulated USB device", device.toString(), Map.of(), true));
                }
            }
        }
        List<String> problems = new ArrayList<>();
        List<UsbBackend.Found> interfaces;
        try {
            interfaces = backend().usbtmcInterfaces(problems);
        } catch (LabHalException e) {
            if (simulated.stream().anyMatch(d -> !d.devices().isEmpty())) {
                return; // the simulated devices were reported; a machine without libusb has no other
            }
            throw e;
        }
        for (UsbBackend.Found f : interfaces) {
            if (f.serial().isEmpty() || f.serial().indexOf(':') >= 0 || !f.serial().chars().allMatch(c -> c > 0x20 && c < 0x7F)) {
                problems.add(String.format("USB device 0x%04X:0x%04X has no serial number a resource string can "
                        + "carry ('%s')", f.vendorId(), f.productId(), f.serial()));
                continue;
            }
            ResourceAddress address = ResourceAddress.parse(String.format("USB0::0x%04X::0x%04X::%s::%d::INSTR",
                    f.vendorId(), f.productId(), f.serial(), f.interfaceNumber()));
            found.accept(new Discovered(address, "USB bus (libusb)", f.product(), Map.of(), true));
        }
        if (!problems.isEmpty() && interfaces.isEmpty()) {
            throw new LabHalException("USB devices were seen but none could be read: " + String.join("; ", problems));
        }
    }

    private synchronized UsbBackend backend() throws LabHalException {
        if (stopped) {
            throw new LabHalException("The USBTMC transport stopped: USB devices cannot be opened through it");
        }
        if (backend == null) {
            backend = backendMaker.get();
        }
        return backend;
    }

    /** @return how many connections this factory opened and nobody closed yet */
    int openConnections() {
        return open.size();
    }

    private static void kill(Connection connection, String reason) {
        if (connection instanceof UsbtmcConnection c) {
            c.kill(reason);
        } else if (connection instanceof UsbRawConnection c) {
            c.kill(reason);
        } else {
            connection.close();
        }
    }

    /** Closes every connection (blocked callers wake with {@link ConnectionLostException}) and libusb. */
    @Deactivate
    public void deactivate() {
        open.closeAll();
        UsbBackend b;
        synchronized (this) {
            stopped = true;
            b = backend;
        }
        if (b != null) {
            b.close();
        }
    }
}
