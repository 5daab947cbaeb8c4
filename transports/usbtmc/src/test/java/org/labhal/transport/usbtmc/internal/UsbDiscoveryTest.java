package org.labhal.transport.usbtmc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportUnavailableException;
import org.labhal.api.discovery.Discovered;
import org.labhal.api.discovery.DiscoveryRequest;
import org.labhal.transport.usbtmc.UsbDevice;

/** USB discovery: the simulated devices offered, then the USBTMC interfaces on the bus. */
class UsbDiscoveryTest {
    private static final DiscoveryRequest REQUEST = new DiscoveryRequest(Duration.ofSeconds(1), List.of(), Map.of());

    /** A bus with two USBTMC interfaces, one of them on a device whose serial no resource can carry. */
    private static final class TwoDevices implements UsbBackend {
        @Override
        public UsbDevice open(ResourceAddress address, Duration timeout) throws LabHalException {
            throw new LabHalException("not in this test");
        }

        @Override
        public List<Found> usbtmcInterfaces(List<String> problems) {
            return List.of(new Found(0x0957, 0x1796, "MY12345678", 0, "DSO-X 2024A"),
                    new Found(0x1AB1, 0x04CE, "DS1Z:1", 0, "DS1000Z"));
        }

        @Override
        public void close() {
        }
    }

    private static List<Discovered> discover(UsbtmcTransportFactory factory) throws LabHalException {
        List<Discovered> found = new ArrayList<>();
        factory.discover(REQUEST, found::add);
        return found;
    }

    @Test
    void simulatedDevicesAndTheBussUsbtmcInterfacesAreFoundAndMayBeProbed() throws Exception {
        UsbtmcTransportFactory factory = new UsbtmcTransportFactory(TwoDevices::new);
        try (UsbSim sim = new UsbSim("SMW200A")) {
            factory.addSimulated(sim.devices);

            List<Discovered> found = discover(factory);

            assertEquals(List.of(ResourceAddress.parse(sim.resource()).canonical(),
                    "USB0::0x0957::0x1796::MY12345678::0::INSTR"),
                    found.stream().map(d -> d.address().canonical()).toList(), "the colon serial is left out");
            assertTrue(found.stream().allMatch(Discovered::probeAllowed));
            assertEquals("DSO-X 2024A", found.get(1).label());
        } finally {
            factory.deactivate();
        }
    }

    @Test
    void withoutLibusbTheSearchFailsSayingWhyUnlessSimulatedDevicesWereFound() throws Exception {
        try (UsbSim sim = new UsbSim("SHARED")) {
            UsbtmcTransportFactory bare = new UsbtmcTransportFactory(UsbSim.NoLibUsb::new);
            try {
                TransportUnavailableException e = assertThrows(TransportUnavailableException.class, () -> discover(bare));
                assertTrue(e.getMessage().contains("no libusb"), e.getMessage());
                bare.addSimulated(sim.devices);
                assertEquals(1, discover(bare).size());
            } finally {
                bare.deactivate();
            }
        }
    }

    @Test
    void libusbListsNoUsbtmcInterfaceOnAMachineWithoutAUsbBus() throws Exception {
        try (LibUsbBackend backend = new LibUsbBackend()) {
            assumeTrue(backend.unavailable() == null, "libusb cannot load here: " + backend.unavailable());
            List<String> problems = new ArrayList<>();

            assertEquals(List.of(), backend.usbtmcInterfaces(problems));
            assertEquals(List.of(), problems);
        }
    }
}
