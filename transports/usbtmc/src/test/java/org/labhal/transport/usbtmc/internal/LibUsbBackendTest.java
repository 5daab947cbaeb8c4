package org.labhal.transport.usbtmc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportUnavailableException;

/** usb4java on this machine: libusb loads, lists the (here: no) devices, and a missing device is named. */
class LibUsbBackendTest {

    @Test
    void libusbInitialisesAndAMissingDeviceIsNamed() throws Exception {
        try (LibUsbBackend backend = new LibUsbBackend()) {
            assumeTrue(backend.unavailable() == null, "libusb cannot load here: " + backend.unavailable());
            assertTrue(backend.version().startsWith("1.0."), backend.version());
            List<String> devices = backend.devices();
            assertEquals(0, devices.size(), "this machine has no USB bus; if yours has, expect its devices: " + devices);
            ResourceAddress address = ResourceAddress.parse("USB0::0x0957::0x1796::MY12345678::INSTR");
            ConnectionLostException e = assertThrows(ConnectionLostException.class,
                    () -> backend.open(address, UsbSim.IO));
            assertTrue(e.getMessage().contains("no USB device 0x0957:0x1796 serial MY12345678 found (0 USB devices seen)"),
                    e.getMessage());
        }
    }

    @Test
    void theDsFactoryOpensRealResourcesThroughLibusb() throws Exception {
        UsbtmcTransportFactory factory = new UsbtmcTransportFactory();
        try {
            LabHalException e = assertThrows(LabHalException.class, () -> factory.open(
                    ResourceAddress.parse("USB::0x1AB1::0x0588::DS1ED141904883::RAW"), UsbSim.IO));
            assertTrue(e instanceof TransportUnavailableException
                    || e.getMessage().contains("no USB device 0x1AB1:0x0588 serial DS1ED141904883 found"), e.getMessage());
        } finally {
            factory.deactivate();
        }
        LabHalException stopped = assertThrows(LabHalException.class, () -> factory.open(
                ResourceAddress.parse("USB::0x1AB1::0x0588::DS1ED141904883::RAW"), UsbSim.IO));
        assertFalse(stopped.getMessage().isEmpty());
    }

    @Test
    void aBackendThatCannotLoadLibusbSaysSoOnEveryOpen() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A")) { // its factory's backend is one without libusb
            TransportUnavailableException e = assertThrows(TransportUnavailableException.class,
                    () -> sim.factory.open(ResourceAddress.parse("USB::0x0957::0x1796::MY1::INSTR"), UsbSim.IO));
            assertTrue(e.getMessage().contains("no libusb"), e.getMessage());
        }
    }
}
