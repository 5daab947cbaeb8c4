package org.labhal.discovery.lxi.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportKind;
import org.labhal.api.discovery.Discovered;
import org.labhal.api.discovery.DiscoveryRequest;
import org.labhal.discovery.lxi.Advertisement;
import org.labhal.discovery.lxi.MdnsAdvertiser;
import org.labhal.transport.sim.ServedSimulator;
import org.labhal.transport.sim.SimServer;
import org.labhal.transport.sim.SimulatorLauncher;

/** Served simulators become mDNS advertisements and are withdrawn when they stop. */
class SimulatorAdvertiserTest {
    private static final String IDN = "LabHAL,SHARED-SIM,1,1.0";
    private final List<String> warnings = new CopyOnWriteArrayList<>();

    /** What one advertise call asked for, and whether its handle was closed. */
    private static final class Recorded implements Advertisement {
        final String where;
        final String type;
        final String name;
        final int port;
        final Map<String, String> txt;
        int closed;

        Recorded(String where, String type, String name, int port, Map<String, String> txt) {
            this.where = where;
            this.type = type;
            this.name = name;
            this.port = port;
            this.txt = txt;
        }

        @Override
        public String instanceName() {
            return name;
        }

        @Override
        public String serviceType() {
            return type;
        }

        @Override
        public int port() {
            return port;
        }

        @Override
        public void close() {
            closed++;
        }
    }

    private static final class Recorder implements MdnsAdvertiser {
        final List<Recorded> made = new ArrayList<>();

        @Override
        public Advertisement advertise(String where, String type, String name, int port, Map<String, String> txt)
                throws LabHalException {
            if (where.equals("nosuch0")) {
                throw new LabHalException("There is no network interface named 'nosuch0'");
            }
            Recorded one = new Recorded(where, type, name, port, txt);
            made.add(one);
            return one;
        }
    }

    @Test
    void eachKindGetsItsTypesWithTheIdentityAndGoesWhenItStops() {
        Recorder recorder = new Recorder();
        SimulatorAdvertiser simulators = new SimulatorAdvertiser(recorder, List.of("127.0.0.1", "nosuch0"),
                warnings::add);
        ServedSimulator hislip = new ServedSimulator(TransportKind.HISLIP, "HiSLIP",
                "TCPIP0::127.0.0.1::hislip0::INSTR", 4880, IDN);
        ServedSimulator vxi11 = new ServedSimulator(TransportKind.VXI11, "VXI-11", "TCPIP0::127.0.0.1::inst0::INSTR",
                111, IDN);
        ServedSimulator vxi11Elsewhere = new ServedSimulator(TransportKind.VXI11, "VXI-11",
                "TCPIP0::127.0.0.1::inst0::INSTR?portmapper=40111", 40111, IDN);
        ServedSimulator socket = new ServedSimulator(TransportKind.SOCKET, "raw TCP",
                "TCPIP0::127.0.0.1::5025::SOCKET", 5025, "");
        simulators.addSimulator(hislip);
        simulators.addSimulator(vxi11);
        simulators.addSimulator(vxi11Elsewhere);
        simulators.addSimulator(socket);

        assertEquals(List.of("_hislip._tcp", "_vxi-11._tcp", "_lxi._tcp", "_vxi-11._tcp", "_scpi-raw._tcp"),
                recorder.made.stream().map(r -> r.type).toList(), "_lxi._tcp only where VXI-11 is on port 111");
        assertTrue(recorder.made.stream().allMatch(r -> r.where.equals("127.0.0.1")));
        Recorded first = recorder.made.get(0);
        assertEquals("SHARED-SIM 1 (HiSLIP 4880)", first.name);
        assertEquals(4880, first.port);
        assertEquals(Map.of("Manufacturer", "LabHAL", "Model", "SHARED-SIM", "SerialNumber", "1",
                "FirmwareVersion", "1.0"), first.txt);
        assertEquals("LabHAL simulator (raw TCP 5025)", recorder.made.get(4).name, "no identity, still a name");
        assertEquals(Map.of(), recorder.made.get(4).txt);
        assertEquals(5, warnings.size(), "each advertisement that failed on the missing interface is reported: "
                + warnings);
        assertTrue(warnings.get(0).contains("nosuch0"), warnings.get(0));

        simulators.removeSimulator(vxi11);
        assertEquals(List.of(0, 1, 1, 0, 0), recorder.made.stream().map(r -> r.closed).toList());
        simulators.deactivate();
        assertEquals(List.of(1, 1, 1, 1, 1), recorder.made.stream().map(r -> r.closed).toList(),
                "everything withdrawn once");
    }

    @Test
    void thePropertyListsInterfacesAndEmptyMeansNone() {
        assertEquals(List.of("127.0.0.1"), SimulatorAdvertiser.interfaces(null));
        assertEquals(List.of(), SimulatorAdvertiser.interfaces(" "));
        assertEquals(List.of("127.0.0.1", "eth0"), SimulatorAdvertiser.interfaces("127.0.0.1, eth0"));
        Recorder recorder = new Recorder();
        SimulatorAdvertiser none = new SimulatorAdvertiser(recorder, List.of(), warnings::add);
        none.addSimulator(new ServedSimulator(TransportKind.HISLIP, "HiSLIP", "TCPIP0::127.0.0.1::hislip0::INSTR",
                4880, IDN));
        assertEquals(List.of(), recorder.made);
    }

    @Test
    void aServedSocketSimulatorIsFoundByTheLxiDiscovererAndTheFindOpens() throws Exception {
        JmdnsAdvertiser advertiser = new JmdnsAdvertiser(Responders.JMDNS, s -> { });
        List<String> log = new CopyOnWriteArrayList<>();
        LxiDiscoverer discoverer = new LxiDiscoverer(Responders.JMDNS, log::add);
        try (SimServer server = SimServer.builder("SHARED").start()) {
            ServedSimulator served = new ServedSimulator(TransportKind.SOCKET, "raw TCP", server.resource(),
                    ResourceAddress.parse(server.resource()).port().getAsInt(),
                    SimulatorLauncher.identify(server.instrument()));
            SimulatorAdvertiser simulators = new SimulatorAdvertiser(advertiser, List.of("127.0.0.1"), warnings::add);
            simulators.addSimulator(served);
            List<Discovered> found = new CopyOnWriteArrayList<>();
            try { // the browse starts with the advertisement: it sees it after up to 4 s
                discoverer.discover(new DiscoveryRequest(Duration.ofSeconds(8), List.of("127.0.0.1"), Map.of()),
                        found::add);
            } finally {
                simulators.deactivate();
            }
            Discovered sim = found.stream().filter(d -> d.address().equals(ResourceAddress.parse(server.resource())))
                    .findFirst().orElseThrow(() -> new AssertionError(server.resource() + " not in " + found + ", log " + log));
            assertEquals("LabHAL", sim.details().get("Manufacturer"));
            assertEquals("SHARED-SIM", sim.details().get("Model"));
            assertEquals(SimulatorAdvertiser.instanceName(served), sim.label());
            assertEquals(List.of(), warnings);
        } finally {
            discoverer.deactivate();
            advertiser.deactivate();
        }
    }
}
