package org.labhal.transport.usbtmc.internal;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportKind;
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
@Component(service = TransportFactory.class,
        property = {TransportFactory.KINDS_PROPERTY + "=USBTMC", TransportFactory.KINDS_PROPERTY + "=USB_RAW"})
public final class UsbtmcTransportFactory implements TransportFactory {
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
