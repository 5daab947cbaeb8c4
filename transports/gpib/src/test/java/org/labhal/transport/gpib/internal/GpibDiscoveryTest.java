package org.labhal.transport.gpib.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.LabHalException;
import org.labhal.api.discovery.Discovered;
import org.labhal.api.discovery.DiscoveryRequest;
import org.labhal.transport.gpib.PrologixSimulator;

/** The opt-in scan of a board: a serial poll per primary address, within the search's time. */
class GpibDiscoveryTest {
    private final PrologixSimulator simulator;
    private final GpibTransportFactory transport = new GpibTransportFactory();

    GpibDiscoveryTest() throws Exception {
        simulator = PrologixSimulator.builder().instrument(22, "SHARED").instrument(5, "SMW200A")
                .instrument(9, 3, "SHARED").start();
        Map<String, Object> p = new HashMap<>();
        p.put("service.pid", "org.labhal.gpib.board~scan");
        p.put("board", 0);
        p.put("controller", "TCPIP::127.0.0.1::" + simulator.port() + "::SOCKET");
        p.put("read_tmo_ms", 60);
        transport.addBoard(new GpibBoard(p));
    }

    @AfterEach
    void stop() {
        transport.deactivate();
        simulator.close();
    }

    private List<Discovered> scan(String boards, Duration time) throws LabHalException {
        List<Discovered> found = new ArrayList<>();
        transport.discover(new DiscoveryRequest(time, List.of(), boards == null ? Map.of()
                : Map.of(GpibTransportFactory.SCAN, boards)), found::add);
        return found;
    }

    @Test
    void aScanFindsTheInstrumentsAtPrimaryAddressesAndLeavesTheBusUsable() throws Exception {
        List<Discovered> found = scan("0", Duration.ofSeconds(20));

        assertEquals(List.of("GPIB0::5::INSTR", "GPIB0::22::INSTR"),
                found.stream().map(d -> d.address().canonical()).toList(),
                "an instrument at a secondary address only does not answer its primary's poll");
        assertTrue(found.stream().allMatch(Discovered::probeAllowed));
        try (var meter = transport.open(org.labhal.api.ResourceAddress.parse("GPIB0::22::INSTR"), Bench.IO)) {
            assertTrue(Bench.query(meter, "*IDN?").startsWith("LabHAL,SHARED-SIM"), "the bus is in step after the scan");
        }
    }

    @Test
    void withoutAnOptInNothingIsScannedTheSearchSaysSoAndTheControllerIsNotEvenOpened() throws Exception {
        LabHalException e = assertThrows(LabHalException.class, () -> scan(null, Duration.ofSeconds(5)));

        assertTrue(e.getMessage().contains("nothing scanned: no GPIB board is opted in"), e.getMessage());
        assertEquals(0, simulator.clients());
    }

    @Test
    void aBoardConfiguredForScanningIsScannedWithoutTheSetting() throws Exception {
        PrologixSimulator second = PrologixSimulator.builder().instrument(2, "SMW200A").start();
        try {
            Map<String, Object> p = new HashMap<>();
            p.put("service.pid", "org.labhal.gpib.board~scanned");
            p.put("board", 1);
            p.put("controller", "TCPIP::127.0.0.1::" + second.port() + "::SOCKET");
            p.put("read_tmo_ms", 200);
            p.put("scan", "true");
            transport.addBoard(new GpibBoard(p));

            // addresses 1 and 2 fit in the search's time; the scan stops there, reporting what it reached
            assertEquals(List.of("GPIB1::2::INSTR"), scan(null, Duration.ofMillis(1500)).stream()
                    .map(d -> d.address().canonical()).toList());
            assertEquals(0, simulator.clients(), "board 0 is not opted in");
        } finally {
            transport.deactivate();
            second.close();
        }
    }

    @Test
    void aScanStopsAtTheSearchTimeAndAnUnknownBoardOrEntryIsNamed() throws Exception {
        // 1 ms is over before the controller link is even open: the scan stops quietly and reports nothing
        assertEquals(List.of(), scan("0", Duration.ofMillis(1)));

        LabHalException board = assertThrows(LabHalException.class, () -> scan("3", Duration.ofSeconds(1)));
        assertTrue(board.getMessage().contains("no GPIB board 3 is configured"), board.getMessage());
        LabHalException entry = assertThrows(LabHalException.class, () -> scan("zero", Duration.ofSeconds(1)));
        assertTrue(entry.getMessage().contains("gpib.scan entry 'zero' is not a board number"), entry.getMessage());
    }
}
