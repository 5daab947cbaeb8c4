package org.labhal.itest.runtime;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.itest.runtime.RuntimeTesting.awaitService;
import static org.labhal.itest.runtime.RuntimeTesting.properties;

import java.nio.file.Path;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

import org.apache.felix.service.command.CommandProcessor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportKind;
import org.labhal.api.discovery.Discovered;
import org.labhal.api.discovery.Discoverer;
import org.labhal.api.discovery.DiscoveryRequest;
import org.labhal.api.instrument.Instrument;
import org.labhal.itest.serial.Pty;
import org.labhal.transport.sim.SimServer;
import org.labhal.transport.sim.SimSettings;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * Discovery in the runtime: {@code instr:discover} runs the installed discoverers, probes what may be
 * probed, names the model and lock policy each find would get, and {@code instr:add} configures one.
 */
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
class DiscoveryTest {
    private static final String DISCOVERY_PID = "org.labhal.discovery";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    ConfigurationAdmin cm;

    @InjectService(timeout = 10_000)
    CommandProcessor gogo;

    @TempDir
    Path dir;

    @AfterEach
    void clean() throws Exception {
        Configuration discovery = cm.getConfiguration(DISCOVERY_PID, "?");
        if (discovery.getProperties() != null) {
            discovery.delete();
        }
        RuntimeTesting.deleteAll(cm, context);
    }

    private String shell(String line) throws Exception {
        return RuntimeTesting.shell(gogo, line);
    }

    /** @return the inbox row whose resource is {@code resource} */
    private static String rowOf(String inbox, String resource) {
        return inbox.lines().filter(line -> line.contains(" " + resource + " ")).findFirst()
                .orElseThrow(() -> new AssertionError("no row for " + resource + " in:\n" + inbox));
    }

    private static int number(String row) {
        return Integer.parseInt(row.strip().split(" +")[0]);
    }

    @Test
    void aSerialPortNamedForProbingIsIdentifiedGivenItsModelAndAddedAsAnInstrument() throws Exception {
        try (SimServer server = SimServer.builder("SHARED").settings(SimSettings.defaults()).start();
                Pty pty = new Pty(dir.resolve("ttyDISC"), server.port())) {
            String resource = pty.resource("?baud=9600");
            Configuration discovery = cm.getConfiguration(DISCOVERY_PID, "?");
            discovery.update(RuntimeTesting.dictionary(properties("serialProbe", pty.link() + "@9600")));

            String found = RuntimeTesting.awaitShell(gogo, "instr:discover serial 1s", out -> out.contains(resource),
                    "the probe setting reaches the inbox");

            assertTrue(found.contains("serial ports: "), found);
            String row = rowOf(found, resource);
            assertTrue(row.contains("LabHAL,SHARED") && row.contains("probed with *IDN?"), row);
            assertTrue(row.contains("labhal-shared-sim") && row.contains("SINGLE_CONNECTION"),
                    "the model, and the one connection a serial line carries: " + row);
            int n = number(row);

            String added = shell("instr:add " + n + " ser-dmm");

            assertTrue(added.contains("ser-dmm: online"), added);
            awaitService(context, Instrument.class, "(" + Instrument.ID + "=ser-dmm)");
            assertTrue(rowOf(shell("instr:inbox"), resource).contains("configured as ser-dmm"), shell("instr:inbox"));
            Exception twice = assertThrows(Exception.class, () -> shell("instr:add " + n + " ser-dmm-2"));
            assertTrue(twice.getMessage().contains("configured already as ser-dmm"), twice.getMessage());
        }
    }

    @Test
    void aSimulatedUsbDeviceIsFoundIdentifiedAddedAndQueriedThroughUsbtmc() throws Exception {
        String generator = "USB0::0x0AAD::0x0001::SIM-SMW200A-9::INSTR";

        String found = shell("instr:discover usb 1s");

        assertTrue(found.contains("USB (USBTMC interfaces): 2 found"), found);
        String row = rowOf(found, generator);
        assertTrue(row.contains("LabHAL,SMW200A-SIM") && row.contains("labhal-smw200a-sim")
                && row.contains("SINGLE_CONNECTION"), "a USB device is one link, whatever the model: " + row);
        assertTrue(rowOf(found, "USB0::0x0957::0x0001::SIM-SHARED-9::INSTR").contains("labhal-shared-sim"), found);

        String added = shell("instr:add " + number(row) + " usb-gen");

        assertTrue(added.contains("usb-gen: online"), added);
        assertTrue(shell("instr:query usb-gen '*IDN?'").startsWith("LabHAL,SMW200A-SIM"));
        String info = shell("instr:info usb-gen");
        assertTrue(info.contains("(from the resource: its USB vendor, product and serial number)"), info);
    }

    @Test
    void aScanOfTheSimulatedGpibBusFindsItsInstrumentsAndEachStepTakesTheBusLock() throws Exception {
        // the simulated board is opted in to scanning by its own configuration
        String found = shell("instr:discover gpib 10s");

        String meter = rowOf(found, "GPIB0::22::INSTR");
        assertTrue(meter.contains("LabHAL,SHARED-SIM") && meter.contains("labhal-shared-sim"), meter);
        assertTrue(rowOf(found, "GPIB0::5::INSTR").contains("LabHAL,SMW200A-SIM"), found);
        assertTrue(shell("instr:add " + number(meter) + " gpib-dmm").contains("gpib-dmm: online"));
        assertTrue(shell("instr:add " + number(rowOf(found, "GPIB0::5::INSTR")) + " gpib-gen").contains("online"));

        assertTrue(shell("instr:query gpib-dmm '*IDN?'").startsWith("LabHAL,SHARED-SIM"));
        assertTrue(shell("instr:query gpib-gen '*IDN?'").startsWith("LabHAL,SMW200A-SIM"));
        String locks = shell("instr:locks");
        String bus = locks.lines().filter(line -> line.startsWith("GPIB0 ")).findFirst()
                .orElseThrow(() -> new AssertionError("no bus lock GPIB0 in:\n" + locks));
        assertTrue(bus.contains("gpib-dmm (bus)") && bus.contains("gpib-gen (bus)"), bus);
        assertTrue(locks.lines().anyMatch(line -> line.startsWith("GPIB0::22 ") && line.contains("gpib-dmm")), locks);
        assertTrue(shell("instr:info gpib-dmm").contains("bus lock"), "instr:info names the bus lock");
    }

    @Test
    void aSimulatorAdvertisedByMdnsOnLoopbackIsFoundOnTheLanAndIdentified() throws Exception {
        // this framework serves a raw-TCP simulator on a free port and advertises it on 127.0.0.1
        String found = RuntimeTesting.awaitShell(gogo, "instr:discover lan 6s",
                out -> out.lines().anyMatch(line -> line.contains("::SOCKET ") && line.contains("SHARED-SIM")),
                "the advertised simulator is found and identified");

        assertTrue(found.contains("mDNS"), found);
        String row = found.lines().filter(line -> line.contains("::SOCKET ") && line.contains("SHARED-SIM"))
                .findFirst().orElseThrow();
        assertTrue(row.contains("TCPIP0::127.0.0.1::") && row.contains("labhal-shared-sim")
                && row.contains("probed with *IDN?"), row);
    }

    /** Stands for a transport bundle's discoverer that arrives after the runtime started. */
    private static final class SimDiscoverer implements Discoverer {
        private final String resource;

        SimDiscoverer(String resource) {
            this.resource = resource;
        }

        @Override
        public String name() {
            return "test simulators";
        }

        @Override
        public Set<TransportKind> kinds() {
            return Set.of(TransportKind.SIM);
        }

        @Override
        public void discover(DiscoveryRequest request, Consumer<Discovered> found) {
            found.accept(new Discovered(ResourceAddress.parse(resource), "a test", "generator", Map.of(), true));
        }
    }

    @Test
    void aDiscovererRegisteredLaterJoinsTheNextSearchAndLeavesWithItsService() throws Exception {
        String smw = RuntimeTesting.smw();
        String canonical = ResourceAddress.parse(smw).canonical();
        Dictionary<String, Object> kinds = new Hashtable<>(Map.of(Discoverer.KINDS_PROPERTY, "SIM"));
        ServiceRegistration<Discoverer> registration =
                context.registerService(Discoverer.class, new SimDiscoverer(smw), kinds);
        String found;
        try {
            found = shell("instr:discover sim 1s");
        } finally {
            registration.unregister();
        }

        assertTrue(found.contains("test simulators: 1 found"), found);
        String row = rowOf(found, canonical);
        assertTrue(row.contains("SMW200A") && row.contains("labhal-smw200a-sim") && row.contains("INDEPENDENT_SESSIONS"),
                "identity, model and the policy the model gives: " + row);
        String gone = shell("instr:discover sim 1s");
        assertTrue(gone.contains("No installed transport can search for sim"), gone);

        shell("instr:ignore " + number(row));
        assertFalse(shell("instr:inbox").contains(canonical), "an ignored entry is hidden");
    }

    @Test
    void somethingThatCannotBeDiscoveredIsNamedWithTheChoices() {
        Exception e = assertThrows(Exception.class, () -> shell("instr:discover printers"));

        assertTrue(e.getMessage().contains("'printers' is not something to discover: use all, lan, serial, usb, gpib"),
                e.getMessage());
    }
}
