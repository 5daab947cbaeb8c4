package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class SimulatorLauncherTest {
    private static final String PROPERTY = "labhal.simulators.test";

    private final List<String> infos = new ArrayList<>();
    private final List<String> errors = new ArrayList<>();

    @Test
    void itemsAreModelAtPortSeparatedBySpacesOrCommas() {
        assertEquals(List.of(new SimulatorLauncher.Spec("SHARED", 4880), new SimulatorLauncher.Spec("SMW200A", 0)),
                SimulatorLauncher.parse(PROPERTY, " shared@4880,  SMW200A@0 "));
        assertEquals(List.of(), SimulatorLauncher.parse(PROPERTY, "  "));
        assertEquals(List.of(), SimulatorLauncher.parse(PROPERTY, null));
    }

    @Test
    void aBadItemIsNamedWithTheProperty() {
        for (String[] bad : new String[][] { { "SHARED", "expected MODEL@PORT" }, { "@4880", "expected MODEL@PORT" },
                { "SHARED@", "expected MODEL@PORT" }, { "SHARED@http", "For input string" },
                { "SHARED@70000", "port 70000 is not 0 to 65535" }, { "DMM@5025", "known models: SMW200A, SHARED" } }) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SimulatorLauncher.parse(PROPERTY, "SMW200A@1 " + bad[0]));
            assertTrue(e.getMessage().startsWith(PROPERTY + "=SMW200A@1 " + bad[0] + ": item '" + bad[0] + "'"),
                    e.getMessage());
            assertTrue(e.getMessage().contains(bad[1]), e.getMessage());
        }
    }

    @Test
    void serversStartOnRealPortsAndOneThatCannotBindIsReportedWhileTheOthersRun() throws Exception {
        try (SimServer taken = SimServer.builder("SHARED").start()) {
            String value = "SMW200A@0 SHARED@" + taken.port() + " SHARED@0";
            Map<String, String> framework = Map.of(PROPERTY, value);
            try (SimulatorLauncher launcher = SimulatorLauncher.launch(PROPERTY, framework::get, "raw TCP", spec -> {
                SimServer server = SimServer.builder(spec.model()).port(spec.port()).start();
                return new SimulatorLauncher.Started(server, server.resource());
            }, infos::add, errors::add)) {
                assertEquals(2, launcher.resources().size(), infos + " " + errors);
                assertEquals(1, errors.size(), errors.toString());
                assertTrue(errors.get(0).startsWith("Cannot serve the simulated SHARED over raw TCP on port "
                        + taken.port() + " (" + PROPERTY + "): "), errors.get(0));
                assertTrue(infos.get(0).startsWith("Serving the simulated SMW200A over raw TCP at TCPIP::127.0.0.1::"),
                        infos.toString());
                String[] second = launcher.resources().get(1).split("::"); // TCPIP::host::port::SOCKET
                try (LineClient probe = new LineClient(new InetSocketAddress(second[1], Integer.parseInt(second[2])))) {
                    assertEquals("LabHAL,SHARED-SIM,100001,1.0", probe.query("*IDN?"));
                }
            }
        }
    }

    @Test
    void aSystemPropertyWinsAndABadValueStartsNothing() {
        System.setProperty(PROPERTY, "SHARED@nope");
        try {
            SimulatorLauncher launcher = SimulatorLauncher.launch(PROPERTY, name -> "SHARED@0", "raw TCP", spec -> {
                throw new BindException("must not be called");
            }, infos::add, errors::add);
            assertEquals(List.of(), launcher.resources());
            assertEquals(1, errors.size());
            assertTrue(errors.get(0).contains(PROPERTY + "=SHARED@nope") && errors.get(0).endsWith(
                    "; no simulated instrument is served over raw TCP"), errors.get(0));
        } finally {
            System.clearProperty(PROPERTY);
        }
    }

    @Test
    void identifyAsksTheInstrumentAndLeavesItAsItWas() throws Exception {
        try (SimulatedInstrument shared = SimulatedInstrument.create("SHARED", SimSettings.defaults().withSerialNumber("42"));
                SimulatedInstrument custom = SimulatedInstrument.create("SMW200A",
                        SimSettings.defaults().withIdn("ACME,GEN-1,7,2.0"))) {
            assertEquals("LabHAL,SHARED-SIM,42,1.0", SimulatorLauncher.identify(shared));
            assertEquals("ACME,GEN-1,7,2.0", SimulatorLauncher.identify(custom));
            assertEquals(0, shared.openConnections(), "its connection is closed again");
            try (SimConnection client = shared.connect()) { // nothing left behind for the first client
                assertEquals(0, client.statusByte(false) & 0x10, "no response waiting (MAV clear)");
            }
        }
    }
}
