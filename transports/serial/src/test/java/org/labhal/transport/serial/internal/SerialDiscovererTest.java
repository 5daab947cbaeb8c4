package org.labhal.transport.serial.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.labhal.api.LabHalException;
import org.labhal.api.discovery.Discovered;
import org.labhal.api.discovery.DiscoveryRequest;

import com.fazecast.jSerialComm.SerialPort;

/** The serial port list as resources; probing only where the user opted in, with the baud rate named. */
class SerialDiscovererTest {
    private static final List<SerialDiscoverer.Port> PORTS = List.of(
            new SerialDiscoverer.Port("/dev/ttyUSB0", "FT232R USB UART", 0x0403, 0x6001, "A12345"),
            new SerialDiscoverer.Port("/dev/ttyS0", "Physical Port S0", -1, -1, "Unknown"));

    private static List<Discovered> discover(SerialDiscoverer discoverer, Map<String, String> settings)
            throws LabHalException {
        List<Discovered> found = new ArrayList<>();
        discoverer.discover(new DiscoveryRequest(Duration.ofSeconds(1), List.of(), settings), found::add);
        return found;
    }

    @Test
    void everyListedPortIsAResourceWithItsUsbIdsAndNoneMayBeProbedUnlessNamed() throws Exception {
        List<Discovered> found = discover(new SerialDiscoverer(() -> PORTS), Map.of());

        assertEquals(2, found.size());
        Discovered usb = found.get(0);
        assertEquals("ASRL/dev/ttyUSB0::INSTR", usb.address().canonical());
        assertEquals("FT232R USB UART", usb.label());
        assertEquals(Map.of("usbVendorId", "0x0403", "usbProductId", "0x6001", "usbSerialNumber", "A12345"),
                usb.details());
        assertFalse(usb.probeAllowed(), "unsolicited bytes upset some instruments: probing is opt-in");
        assertEquals(Map.of(), found.get(1).details(), "no USB ids, no made-up serial number");
        assertFalse(found.get(1).probeAllowed());
    }

    @Test
    void aPortNamedForProbingCarriesItsBaudRateAndOneTheListLacksIsReportedToo() throws Exception {
        List<Discovered> found = discover(new SerialDiscoverer(() -> PORTS),
                Map.of(SerialDiscoverer.PROBE, "/dev/ttyUSB0@9600, /dev/pts/7@115200"));

        assertEquals(List.of("ASRL/dev/ttyUSB0::INSTR?baud=9600", "ASRL/dev/ttyS0::INSTR",
                "ASRL/dev/pts/7::INSTR?baud=115200"), found.stream().map(d -> d.address().canonical()).toList());
        assertEquals(List.of(true, false, true), found.stream().map(Discovered::probeAllowed).toList());
    }

    @Test
    void aMalformedProbeEntryIsNamed() {
        LabHalException e = assertThrows(LabHalException.class,
                () -> discover(new SerialDiscoverer(() -> PORTS), Map.of(SerialDiscoverer.PROBE, "/dev/ttyUSB0:9600")));

        assertTrue(e.getMessage().contains("'/dev/ttyUSB0:9600' is not <port>@<baud rate>"), e.getMessage());
    }

    @Test
    void theSystemListIsWhatJSerialCommListsAndNoPortMayBeProbedUnasked() throws Exception {
        int listed = SerialPort.getCommPorts().length;

        List<Discovered> found = discover(new SerialDiscoverer(), Map.of());

        assertEquals(listed, found.size(), "one resource per listed port: " + found);
        assertTrue(found.stream().noneMatch(Discovered::probeAllowed));
    }
}
