package org.labhal.transport.usbtmc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.transport.Connection;
import org.labhal.transport.sim.SimSettings;
import org.labhal.transport.usbtmc.SimulatedUsb488Device;
import org.labhal.transport.usbtmc.SimulatedUsb488Device.Fault;
import org.labhal.transport.usbtmc.UsbDevice;
import org.labhal.transport.usbtmc.UsbException;
import org.labhal.transport.usbtmc.SimulatedUsbDevices;

/** Every fault knob of the simulated device, and what the link is afterwards. */
class UsbtmcFaultTest {
    private static final Duration SHORT = Duration.ofMillis(150);

    @Test
    void aStalledBulkOutIsClearedAndReportedAndTheLinkGoesOn() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A"); Connection c = sim.open()) {
            sim.device.inject(Fault.STALL_BULK_OUT);
            LabHalException e = assertThrows(LabHalException.class, () -> UsbSim.query(c, "SIM:ECHO? a"));
            assertFalse(e instanceof ConnectionLostException, e.toString());
            assertTrue(e.getMessage().contains("halted endpoint 0x02 (STALL)") && e.getMessage().contains("cleared"),
                    e.getMessage());
            assertFalse(sim.device.halted(), "the halt was cleared");
            assertTrue(c.isOpen());
            assertEquals("b", UsbSim.query(c, "SIM:ECHO? b"));
        }
    }

    @Test
    void aStalledBulkInIsClearedAndReportedAndTheLinkGoesOn() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A"); Connection c = sim.open()) {
            sim.device.inject(Fault.STALL_BULK_IN);
            LabHalException e = assertThrows(LabHalException.class, () -> UsbSim.query(c, "SIM:ECHO? a"));
            assertTrue(e.getMessage().contains("halted endpoint 0x81 (STALL)"), e.getMessage());
            assertFalse(sim.device.halted());
            assertEquals("b", UsbSim.query(c, "SIM:ECHO? b"), "the answer to a was aborted, not handed on");
        }
    }

    @Test
    void aWrongTagClosesTheLink() throws Exception {
        assertClosesTheLink(Fault.WRONG_TAG, "with bTag");
    }

    @Test
    void garbageClosesTheLink() throws Exception {
        assertClosesTheLink(Fault.GARBAGE, "garbage on Bulk-IN");
    }

    @Test
    void anAbsurdTransferSizeClosesTheLink() throws Exception {
        assertClosesTheLink(Fault.ABSURD_SIZE, "absurd transfer size");
    }

    @Test
    void aTransferCutShortClosesTheLink() throws Exception {
        assertClosesTheLink(Fault.SHORT_TRANSFER, "ended the DEV_DEP_MSG_IN transfer");
    }

    private static void assertClosesTheLink(Fault fault, String reason) throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A"); Connection c = sim.open()) {
            sim.device.inject(fault);
            ConnectionLostException e = assertThrows(ConnectionLostException.class,
                    () -> UsbSim.query(c, "SIM:ECHO? a"));
            assertTrue(e.getMessage().contains(reason) && e.getMessage().contains(sim.resource()), e.getMessage());
            assertFalse(c.isOpen());
            ConnectionLostException later = assertThrows(ConnectionLostException.class,
                    () -> UsbSim.query(c, "SIM:ECHO? b"));
            assertTrue(later.getMessage().contains(reason), later.getMessage());
            assertEquals(0, sim.factory.openConnections(), "the factory forgot the closed link");
        }
    }

    @Test
    void aDeviceThatVanishesMidTransferLosesTheLink() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A", SimSettings.defaults(), b -> b.maxPacketSize(64));
                Connection c = sim.open()) {
            sim.device.inject(Fault.VANISH);
            UsbSim.write(c, "SIM:BLOCK? 2000", UsbSim.IO);
            ConnectionLostException e = assertThrows(ConnectionLostException.class,
                    () -> UsbSim.readMessage(c, UsbSim.IO, 8192));
            assertTrue(e.getMessage().contains("detached"), e.getMessage());
            assertFalse(c.isOpen());
            LabHalException reopen = assertThrows(LabHalException.class, sim::open);
            assertTrue(reopen.getMessage().contains("detached"), reopen.getMessage());
        }
    }

    @Test
    void anAnswerThatNeverComesTimesOutAndTheNextQueryGetsItsOwn() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A"); Connection c = sim.open()) {
            sim.device.inject(Fault.NEVER_ANSWER);
            IoTimeoutException e = assertThrows(IoTimeoutException.class, () -> UsbSim.query(c, "SIM:ECHO? a", SHORT));
            assertTrue(e.getMessage().contains(sim.resource()), e.getMessage());
            assertTrue(c.isOpen());
            assertEquals("b", UsbSim.query(c, "SIM:ECHO? b"));
        }
    }

    @Test
    void aLateAnswerIsNeverTheNextQuerysAnswer() throws Exception {
        SimSettings slow = SimSettings.defaults().withProcessingDelay(Duration.ofMillis(400));
        try (UsbSim sim = new UsbSim("SMW200A", slow, b -> b); Connection c = sim.open()) {
            assertThrows(IoTimeoutException.class, () -> UsbSim.query(c, "SIM:ECHO? first", SHORT));
            // no clear: the transport's abort alone keeps the late "first" from this read
            assertEquals("second", UsbSim.query(c, "SIM:ECHO? second"));
            assertEquals("third", UsbSim.query(c, "SIM:ECHO? third"));
        }
    }

    @Test
    void anAbortedReadDropsTheAnswerNotTheCommandsQueuedBeforeIt() throws Exception {
        SimSettings slow = SimSettings.defaults().withProcessingDelay(Duration.ofMillis(200));
        try (UsbSim sim = new UsbSim("SMW200A", slow, b -> b); Connection c = sim.open()) {
            UsbSim.write(c, "SIM:ECHO? x", UsbSim.IO);
            UsbSim.write(c, "FREQ 3E9", UsbSim.IO); // queued behind x when the read gives up
            assertThrows(IoTimeoutException.class, () -> UsbSim.read(c, SHORT));
            assertEquals(3e9, Double.parseDouble(UsbSim.query(c, "FREQ?")));
        }
    }

    @Test
    void aBulkOutTheDeviceNeverTakesTimesOutAndIsAborted() throws Exception {
        try (UsbSim sim = new UsbSim("SHARED"); Connection c = sim.open()) {
            sim.device.inject(Fault.BLOCK_BULK_OUT);
            ByteBuffer data = ByteBuffer.wrap("MEAS:VOLT? (@104)".getBytes());
            assertThrows(IoTimeoutException.class, () -> c.write(data, true, SHORT));
            assertEquals(0, data.position(), "nothing counts as sent");
            assertEquals("+1.05000000E-01", UsbSim.query(c, "MEAS:VOLT? (@105)"));
        }
    }

    @Test
    void aTricklingAnswerCannotStretchARead() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A", SimSettings.defaults(), b -> b.maxPacketSize(64));
                Connection c = sim.open()) {
            sim.device.trickle(Duration.ofMillis(5)); // 2000 bytes in 64-byte packets: about 160 ms
            UsbSim.write(c, "SIM:BLOCK? 2000", UsbSim.IO);
            assertThrows(IoTimeoutException.class, () -> c.read(ByteBuffer.allocate(4096), Duration.ofMillis(40)));
            sim.device.trickle(Duration.ZERO);
            assertEquals("after", UsbSim.query(c, "SIM:ECHO? after"));
        }
    }

    @Test
    void aClearDropsTheQueuedAnswer() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A"); Connection c = sim.open()) {
            UsbSim.write(c, "SIM:ECHO? stale", UsbSim.IO);
            c.clear(UsbSim.IO);
            assertEquals("fresh", UsbSim.query(c, "SIM:ECHO? fresh"));
            UsbSim.write(c, "SIM:BLOCK? 3000", UsbSim.IO);
            assertFalse(c.read(ByteBuffer.allocate(10), UsbSim.IO));
            c.clear(UsbSim.IO); // the rest of a half-read answer goes too
            assertEquals("fresh2", UsbSim.query(c, "SIM:ECHO? fresh2"));
        }
    }

    @Test
    void aRawPipeReportsAStallAndGoesOnAndLosesAVanishedDevice() throws Exception {
        try (UsbSim sim = new UsbSim("SHARED", SimSettings.defaults(), b -> b.raw(true)); Connection c = sim.open()) {
            sim.device.inject(Fault.STALL_BULK_OUT);
            LabHalException e = assertThrows(LabHalException.class, () -> UsbSim.query(c, "MEAS:VOLT? (@1)"));
            assertTrue(e.getMessage().contains("halted endpoint 0x02 (STALL)"), e.getMessage());
            assertEquals("+2.00000000E-03", UsbSim.query(c, "MEAS:VOLT? (@2)"));
            assertThrows(IoTimeoutException.class, () -> UsbSim.read(c, SHORT)); // nothing asked, nothing comes
            sim.device.detach();
            ConnectionLostException lost = assertThrows(ConnectionLostException.class,
                    () -> UsbSim.query(c, "MEAS:VOLT? (@3)"));
            assertTrue(lost.getMessage().contains("detached"), lost.getMessage());
            assertFalse(c.isOpen());
        }
    }

    @Test
    void theSimulatedDeviceStallsAWrongTagInverseAndAZeroTag() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A"); UsbDevice host = sim.device.open()) {
            byte[] bad = new byte[16];
            Usbtmc.header(bad, Usbtmc.DEV_DEP_MSG_OUT, 5, 4, Usbtmc.ATTR_EOM, 0);
            bad[2] = 0x12; // not ~5
            UsbException e = assertThrows(UsbException.class, () -> host.bulkOut(bad, 0, 16, UsbSim.IO));
            assertEquals(UsbException.Kind.STALL, e.kind());
            assertTrue(sim.device.halted());
            UsbException still = assertThrows(UsbException.class, () -> host.bulkOut(bad, 0, 16, UsbSim.IO));
            assertEquals(UsbException.Kind.STALL, still.kind(), "halted until the host clears it");
            host.clearHalt(host.bulkOutEndpoint(), UsbSim.IO);
            Usbtmc.header(bad, Usbtmc.DEV_DEP_MSG_OUT, 0, 4, Usbtmc.ATTR_EOM, 0);
            assertEquals(UsbException.Kind.STALL,
                    assertThrows(UsbException.class, () -> host.bulkOut(bad, 0, 16, UsbSim.IO)).kind());
            host.clearHalt(host.bulkOutEndpoint(), UsbSim.IO);
            byte[] unaligned = new byte[13];
            Usbtmc.header(unaligned, Usbtmc.DEV_DEP_MSG_OUT, 6, 1, Usbtmc.ATTR_EOM, 0);
            assertEquals(UsbException.Kind.STALL,
                    assertThrows(UsbException.class, () -> host.bulkOut(unaligned, 0, 13, UsbSim.IO)).kind());
            assertEquals(3, sim.device.stalls());
            assertEquals(0, sim.device.messageTransfers(), "no broken message reached the instrument");
        }
    }

    @Test
    void theSimulatedDeviceAbortsOnlyTheTagItIsAskedFor() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A"); UsbDevice host = sim.device.open()) {
            byte[] request = new byte[12];
            Usbtmc.header(request, Usbtmc.REQUEST_DEV_DEP_MSG_IN, 9, 100, 0, 0);
            host.bulkOut(request, 0, 12, UsbSim.IO); // nothing to answer: the request is held
            byte[] r = new byte[2];
            host.controlIn(UsbDevice.CLASS_ENDPOINT_IN, Usbtmc.INITIATE_ABORT_BULK_IN, 8, 0x81, r, UsbSim.IO);
            assertEquals(Usbtmc.STATUS_FAILED, r[0] & 0xFF, "another bTag");
            host.controlIn(UsbDevice.CLASS_ENDPOINT_IN, Usbtmc.INITIATE_ABORT_BULK_IN, 9, 0x81, r, UsbSim.IO);
            assertEquals(Usbtmc.STATUS_SUCCESS, r[0] & 0xFF);
            assertEquals(9, r[1] & 0xFF);
            assertEquals(0, host.bulkIn(new byte[512], 0, 512, UsbSim.IO), "a zero-length packet ends the transfer");
        }
    }

    @Test
    void simulatedResourcesAreNamedByTheirIds() throws Exception {
        try (UsbSim sim = new UsbSim("SHARED", SimSettings.defaults(), b -> b.vendorId(0x0957).productId(0x1796))) {
            assertEquals("USB0::0x0957::0x1796::SIM-SHARED-0::INSTR", SimulatedUsbDevices.resource(sim.device));
            assertThrows(IllegalStateException.class, () -> sim.devices.add(sim.device));
            assertTrue(sim.device.toString().contains("SHARED"));
            SimulatedUsb488Device.Builder builder = SimulatedUsb488Device.builder(sim.instrument);
            assertThrows(IllegalArgumentException.class, () -> builder.maxPacketSize(100));
        }
    }
}
