package org.labhal.transport.gpib.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.LabHalException;
import org.labhal.api.TransportUnavailableException;
import org.labhal.api.transport.Connection;

/** Board configurations: bad ones fail naming themselves; boards come and go with their connections. */
class BoardConfigurationTest {
    private static final String PID = "org.labhal.gpib.board~lab";
    private Bench bench;

    @AfterEach
    void stop() {
        if (bench != null) {
            bench.close();
        }
    }

    private static IllegalArgumentException bad(Object... keyValues) {
        Map<String, Object> p = new HashMap<>();
        p.put("service.pid", PID);
        for (int i = 0; i < keyValues.length; i += 2) {
            p.put((String) keyValues[i], keyValues[i + 1]);
        }
        return assertThrows(IllegalArgumentException.class, () -> new GpibBoard(p));
    }

    private static void names(IllegalArgumentException e, String... parts) {
        assertTrue(e.getMessage().contains(PID), e.getMessage());
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), e.getMessage());
        }
    }

    @Test
    void badConfigurationsFailNamingTheConfigurationAndTheProperty() {
        names(bad(), "controller");
        names(bad("controller", "TCPIP::10.0.0.7::SOCKET"), "controller", "TCPIP::10.0.0.7::SOCKET");
        names(bad("controller", "TCPIP::10.0.0.7::inst0::INSTR"), "controller", "VXI11");
        names(bad("controller", "ASRL/dev/ttyUSB0::INSTR", "board", "zero"), "board=zero");
        names(bad("controller", "ASRL/dev/ttyUSB0::INSTR", "board", -1), "board=-1");
        names(bad("controller", "ASRL/dev/ttyUSB0::INSTR", "read_tmo_ms", 5000), "read_tmo_ms=5000", "1 to 3000");
        names(bad("controller", "ASRL/dev/ttyUSB0::INSTR", "scan", "yes"), "scan=yes", "true or false");
    }

    @Test
    void aResourceOnAnUnconfiguredBoardSaysHowToConfigureIt() throws Exception {
        bench = new Bench();
        TransportUnavailableException e = assertThrows(TransportUnavailableException.class,
                () -> bench.open("GPIB3::22::INSTR"));
        assertTrue(e.getMessage().contains("GPIB3::22::INSTR") && e.getMessage().contains("board 3")
                && e.getMessage().contains("org.labhal.gpib.board") && e.getMessage().contains("board=3"), e.getMessage());
    }

    @Test
    void aBoardNumberConfiguredTwiceIsRefusedNamingBothConfigurations() throws Exception {
        bench = new Bench();
        bench.transport.addBoard(Bench.board("org.labhal.gpib.board~second", 0, "TCPIP::127.0.0.1::1::SOCKET"));
        LabHalException e = assertThrows(LabHalException.class, () -> bench.open("GPIB0::22::INSTR"));
        assertTrue(e.getMessage().contains("org.labhal.gpib.board~bench")
                && e.getMessage().contains("org.labhal.gpib.board~second"), e.getMessage());
    }

    @Test
    void anUnknownOptionIsRefused() throws Exception {
        bench = new Bench();
        LabHalException e = assertThrows(LabHalException.class, () -> bench.open("GPIB0::22::INSTR?baud=9600"));
        assertTrue(e.getMessage().contains("baud"), e.getMessage());
    }

    @Test
    void removingABoardConfigurationClosesItsConnections() throws Exception {
        bench = new Bench();
        Connection meter = bench.open("GPIB0::22::INSTR");
        assertEquals("a", Bench.query(meter, "SIM:ECHO? a"));
        bench.transport.removeBoard(bench.board);
        assertFalse(meter.isOpen());
        ConnectionLostException e = assertThrows(ConnectionLostException.class, () -> Bench.query(meter, "SIM:ECHO? b"));
        assertTrue(e.getMessage().contains("org.labhal.gpib.board~bench") && e.getMessage().contains("removed"),
                e.getMessage());
        Bench.until(() -> bench.simulator.clients() == 0, "the controller link was closed");
        assertThrows(TransportUnavailableException.class, () -> bench.open("GPIB0::22::INSTR"));
    }

    @Test
    void deactivationClosesEveryConnection() throws Exception {
        bench = new Bench();
        Connection meter = bench.open("GPIB0::22::INSTR");
        Connection generator = bench.open("GPIB0::5::INSTR");
        bench.transport.deactivate();
        assertFalse(meter.isOpen());
        assertFalse(generator.isOpen());
        assertThrows(ConnectionLostException.class, () -> Bench.query(generator, "SIM:ECHO? b"));
        assertThrows(LabHalException.class, () -> bench.open("GPIB0::22::INSTR"));
    }
}
