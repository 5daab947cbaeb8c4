package org.labhal.transport.serial.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.labhal.api.InvalidResourceException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportKind;
import org.labhal.api.discovery.Discovered;
import org.labhal.api.discovery.Discoverer;
import org.labhal.api.discovery.DiscoveryRequest;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;

import com.fazecast.jSerialComm.SerialPort;

/**
 * Lists the serial ports the operating system knows (jSerialComm's port list, with the USB vendor, product
 * and serial number of USB adapters), as {@code ASRL<path>::INSTR} resources. Listing opens no port and sends
 * nothing. Probing a port with {@code *IDN?} is opt-in, port by port and with its baud rate, through the
 * request setting {@value #PROBE} ({@code /dev/ttyUSB0@9600,/dev/ttyS1@115200}), because unsolicited bytes
 * upset some instruments; a port named there that the list lacks (a pseudo-terminal, a symbolic link) is
 * reported too, since the user named it.
 */
@Component(service = Discoverer.class, property = Discoverer.KINDS_PROPERTY + "=SERIAL",
        configurationPolicy = ConfigurationPolicy.IGNORE)
public final class SerialDiscoverer implements Discoverer {
    /** The request setting naming the ports that may be probed, each with its baud rate. */
    public static final String PROBE = "serial.probe";

    /** One port the system lists. */
    record Port(String path, String description, int vendorId, int productId, String serialNumber) {
    }

    private final Supplier<List<Port>> ports;

    /** The system's port list, through jSerialComm. */
    @Activate
    public SerialDiscoverer() {
        this(SerialDiscoverer::systemPorts);
    }

    SerialDiscoverer(Supplier<List<Port>> ports) {
        this.ports = ports;
    }

    @Override
    public String name() {
        return "serial ports";
    }

    @Override
    public Set<TransportKind> kinds() {
        return Set.of(TransportKind.SERIAL);
    }

    @Override
    public void discover(DiscoveryRequest request, Consumer<Discovered> found) throws LabHalException {
        Map<String, Integer> probe = probeSetting(request.setting(PROBE).orElse(""));
        List<Port> listed;
        try {
            listed = ports.get();
        } catch (LinkageError e) {
            throw new LabHalException("Cannot list serial ports: jSerialComm's native library does not load on this "
                    + "system (" + e + ")", e);
        }
        Set<String> reported = new LinkedHashSet<>();
        for (Port port : listed) {
            reported.add(port.path());
            Map<String, String> details = new LinkedHashMap<>();
            if (port.vendorId() >= 0 && port.productId() >= 0) {
                details.put("usbVendorId", String.format("0x%04X", port.vendorId()));
                details.put("usbProductId", String.format("0x%04X", port.productId()));
            }
            if (port.serialNumber() != null && !port.serialNumber().isBlank()
                    && !"Unknown".equalsIgnoreCase(port.serialNumber())) {
                details.put("usbSerialNumber", port.serialNumber());
            }
            report(port.path(), port.description(), details, probe, found);
        }
        for (String path : probe.keySet()) {
            if (!reported.contains(path)) {
                report(path, "named in " + PROBE, Map.of(), probe, found);
            }
        }
    }

    private static void report(String path, String label, Map<String, String> details, Map<String, Integer> probe,
            Consumer<Discovered> found) {
        Integer baud = probe.get(path);
        ResourceAddress address;
        try {
            address = ResourceAddress.parse("ASRL" + path + "::INSTR" + (baud == null ? "" : "?baud=" + baud));
        } catch (InvalidResourceException e) {
            return; // a port name no resource can carry (whitespace, "::"): nothing a configuration could use
        }
        found.accept(new Discovered(address, "serial port " + path, label == null ? "" : label.strip(), details,
                baud != null));
    }

    /**
     * @param setting {@code path@baud[,path@baud...]}, or empty
     * @return the baud rate of each port that may be probed, in the order given
     * @throws LabHalException naming the malformed entry
     */
    static Map<String, Integer> probeSetting(String setting) throws LabHalException {
        Map<String, Integer> probe = new LinkedHashMap<>();
        for (String entry : setting.split(",")) {
            String item = entry.strip();
            if (item.isEmpty()) {
                continue;
            }
            int at = item.lastIndexOf('@');
            int baud = -1;
            if (at > 0) {
                try {
                    baud = Integer.parseInt(item.substring(at + 1));
                } catch (NumberFormatException e) {
                    baud = -1;
                }
            }
            if (baud < 1) {
                throw new LabHalException(PROBE + " entry '" + item + "' is not <port>@<baud rate>, e.g. /dev/ttyUSB0@9600");
            }
            probe.put(item.substring(0, at), baud);
        }
        return probe;
    }

    private static List<Port> systemPorts() {
        List<Port> list = new ArrayList<>();
        for (SerialPort port : SerialPort.getCommPorts()) {
            String path = port.getSystemPortPath();
            list.add(new Port(path == null || path.isEmpty() ? port.getSystemPortName() : path,
                    port.getPortDescription(), port.getVendorID(), port.getProductID(), port.getSerialNumber()));
        }
        return list;
    }
}
