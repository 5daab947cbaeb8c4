package org.labhal.transport.usbtmc.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportUnavailableException;
import org.labhal.api.transport.Connection;
import org.labhal.transport.sim.SimSettings;

class UsbtmcRoundTripTest {

    @Test
    void smw200aAnswersThroughUsbtmc() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A"); Connection c = sim.open()) {
            assertTrue(UsbSim.query(c, "*IDN?").contains("SMW200A"), "IDN of the SMW200A");
            UsbSim.write(c, "FREQ 2.5E9", UsbSim.IO);
            assertEquals(2.5e9, Double.parseDouble(UsbSim.query(c, "FREQ?")));
            assertEquals("token1", UsbSim.query(c, "SIM:ECHO? token1"));
            assertTrue(c.describe().contains("USB488"), c.describe());
        }
    }

    @Test
    void sharedMeterAnswersThroughUsbtmc() throws Exception {
        try (UsbSim sim = new UsbSim("SHARED"); Connection c = sim.open()) {
            assertEquals("+1.01000000E-01", UsbSim.query(c, "MEAS:VOLT? (@101)"));
            assertEquals("0,\"No error\"", UsbSim.query(c, "SYST:ERR?").replace("+0", "0"));
        }
    }

    @Test
    void longMessagesAreSplitIntoTransfersBothWays() throws Exception {
        String token = "x".repeat(3000);
        try (UsbSim sim = new UsbSim("SMW200A"); Connection c = sim.open("?max_transfer=64")) {
            int before = sim.device.messageTransfers();
            int answersBefore = sim.device.answerTransfers();
            assertEquals(token, UsbSim.query(c, "SIM:ECHO? \"" + token + "\""));
            assertTrue(sim.device.messageTransfers() - before >= 3000 / 64, "the query went out in 64-byte transfers");
            assertTrue(sim.device.answerTransfers() - answersBefore >= 3000 / 64, "the answer came in 64-byte transfers");
        }
    }

    @Test
    void aDeviceThatSplitsItsAnswersIsReadToTheEnd() throws Exception {
        try (UsbSim sim = new UsbSim("SHARED"); Connection c = sim.open()) {
            sim.device.splitTransfers(5);
            int before = sim.device.answerTransfers();
            assertEquals("+1.02000000E-01", UsbSim.query(c, "MEAS:VOLT? (@102)"));
            assertEquals(4, sim.device.answerTransfers() - before, "16 bytes in transfers of at most 5");
        }
    }

    @Test
    void aBinaryAnswerWithNewlinesInsideArrivesWhole() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A"); Connection c = sim.open()) {
            UsbSim.write(c, "SIM:BLOCK? 1000", UsbSim.IO);
            byte[] answer = UsbSim.readMessage(c, UsbSim.IO, 300); // several reads, each ending mid-transfer
            assertArrayEquals(block(1000), answer);
        }
    }

    @Test
    void termCharEndsTransfersEarlyButNotTheMessage() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A"); Connection c = sim.open("?term_char=true")) {
            assertTrue(((UsbtmcConnection) c).capabilities().termChar());
            int before = sim.device.answerTransfers();
            UsbSim.write(c, "SIM:BLOCK? 1000", UsbSim.IO);
            assertArrayEquals(block(1000), UsbSim.readMessage(c, UsbSim.IO, 8192));
            // '\n' (10) is in the data at 10, 266, 522, 778, and ends it: 5 transfers where one would do
            assertEquals(5, sim.device.answerTransfers() - before);
        }
    }

    @Test
    void termCharOffSendsOneTransfer() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A"); Connection c = sim.open("?term_char=false")) {
            int before = sim.device.answerTransfers();
            UsbSim.write(c, "SIM:BLOCK? 1000", UsbSim.IO);
            assertArrayEquals(block(1000), UsbSim.readMessage(c, UsbSim.IO, 8192));
            assertEquals(1, sim.device.answerTransfers() - before);
        }
    }

    @Test
    void termCharIsNotAskedOfADeviceWithoutIt() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A", SimSettings.defaults(), b -> b.termChar(false));
                Connection c = sim.open("?term_char=true")) {
            assertFalse(((UsbtmcConnection) c).capabilities().termChar());
            assertEquals("a", UsbSim.query(c, "SIM:ECHO? a")); // the device stalls a TermChar request
            assertEquals(0, sim.device.stalls());
        }
    }

    @Test
    void aMessageWrittenInChunksEndsWithItsLastChunkOrAnEmptyEnd() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A"); Connection c = sim.open()) {
            c.write(ByteBuffer.wrap("SIM:ECHO".getBytes(StandardCharsets.US_ASCII)), false, UsbSim.IO);
            c.write(ByteBuffer.wrap("? chunks".getBytes(StandardCharsets.US_ASCII)), false, UsbSim.IO);
            c.write(ByteBuffer.allocate(0), true, UsbSim.IO); // END alone
            assertEquals("chunks", UsbSim.read(c, UsbSim.IO));
            assertEquals(0, sim.device.stalls(), "no transfer with TransferSize 0 went out");
        }
    }

    @Test
    void anUnreadAnswerIsDroppedByTheNextWrite() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A"); Connection c = sim.open()) {
            UsbSim.write(c, "SIM:BLOCK? 2000", UsbSim.IO);
            ByteBuffer part = ByteBuffer.allocate(100);
            assertFalse(c.read(part, UsbSim.IO), "only the start of the block was read");
            assertEquals("second", UsbSim.query(c, "SIM:ECHO? second"));
        }
    }

    @Test
    void rawPipeCarriesTheBytesWithTerminations() throws Exception {
        try (UsbSim sim = new UsbSim("SHARED", SimSettings.defaults(), b -> b.raw(true));
                Connection c = sim.open("?read_termination=lf&write_termination=lf")) {
            assertTrue(sim.resource().endsWith("::RAW"));
            assertEquals("+1.03000000E-01", UsbSim.query(c, "MEAS:VOLT? (@103)"));
            assertEquals("r2", UsbSim.query(c, "SIM:ECHO? r2"));
            assertTrue(c.describe().contains("raw"), c.describe());
        }
    }

    @Test
    void badOptionsAndWrongKindsAreRefusedByName() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A")) {
            LabHalException unknown = assertThrows(LabHalException.class, () -> sim.open("?baud=9600"));
            assertTrue(unknown.getMessage().contains("'baud'") && unknown.getMessage().contains("term_char"),
                    unknown.getMessage());
            LabHalException bad = assertThrows(LabHalException.class, () -> sim.open("?max_transfer=3"));
            assertTrue(bad.getMessage().contains("max_transfer=3"), bad.getMessage());
            String raw = sim.resource().replace("::INSTR", "::RAW");
            LabHalException kind = assertThrows(LabHalException.class,
                    () -> sim.factory.open(ResourceAddress.parse(raw), UsbSim.IO));
            assertTrue(kind.getMessage().contains("open it as ::INSTR"), kind.getMessage());
        }
    }

    @Test
    void aResourceNoSimulatorServesGoesToLibUsb() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A")) {
            TransportUnavailableException e = assertThrows(TransportUnavailableException.class,
                    () -> sim.factory.open(ResourceAddress.parse("USB0::0x0957::0x1796::MY12345678::INSTR"), UsbSim.IO));
            assertTrue(e.getMessage().contains("0x0957::0x1796::MY12345678"), e.getMessage());
            try (Connection c = sim.open()) { // simulated devices keep working without libusb
                assertEquals("ok", UsbSim.query(c, "SIM:ECHO? ok"));
            }
        }
    }

    @Test
    void theInterfaceIsClaimedByOneConnectionAtATime() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A"); Connection first = sim.open()) {
            LabHalException busy = assertThrows(LabHalException.class, sim::open);
            assertTrue(busy.getMessage().contains("claimed"), busy.getMessage());
            first.close();
            try (Connection second = sim.open()) {
                assertEquals("again", UsbSim.query(second, "SIM:ECHO? again"));
            }
        }
    }

    static byte[] block(int n) {
        String header = "#" + Integer.toString(n).length() + n;
        byte[] b = new byte[header.length() + n + 1];
        System.arraycopy(header.getBytes(StandardCharsets.US_ASCII), 0, b, 0, header.length());
        for (int i = 0; i < n; i++) {
            b[header.length() + i] = (byte) i;
        }
        b[b.length - 1] = '\n';
        return b;
    }
}
