package org.labhal.transport.gpib.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.transport.Connection;
import org.labhal.transport.gpib.PrologixSimulator;

/** Round trips to several instruments on one board, over loopback TCP (GPIB-ETHERNET) and a pty (GPIB-USB). */
class GpibRoundTripTest {
    @TempDir
    Path dir;
    private Bench bench;
    private PtyBridge pty;

    @AfterEach
    void stop() {
        if (bench != null) {
            bench.close();
        }
        if (pty != null) {
            pty.close();
        }
    }

    @Test
    void twoInstrumentsOnOneBoardOverTcp() throws Exception {
        bench = new Bench();
        roundTrips();
        assertEquals(1, bench.simulator.clients(), "one controller link for the whole board");
    }

    @Test
    void aWriteThatHadNoTimeLeftLeavesTheControllerNotTakenForAddressed() throws Exception {
        bench = new Bench();
        try (Connection meter = bench.open("GPIB0::22::INSTR"); Connection generator = bench.open("GPIB0::5::INSTR")) {
            assertTrue(Bench.query(meter, "*IDN?").startsWith("LabHAL,SHARED-SIM"));
            // nothing goes out, the ++addr 5 queued for it included
            assertThrows(IoTimeoutException.class, () -> generator.write(
                    java.nio.ByteBuffer.wrap("*IDN?".getBytes(java.nio.charset.StandardCharsets.US_ASCII)), true,
                    Duration.ZERO));

            assertTrue(Bench.query(generator, "*IDN?").startsWith("LabHAL,SMW200A-SIM"),
                    "the next call addresses the generator instead of talking to the meter still addressed");
        }
    }

    @Test
    void twoInstrumentsOnOneBoardOverAPseudoTerminal() throws Exception {
        PrologixSimulator simulator = PrologixSimulator.builder().instrument(22, "SHARED").instrument(5, "SMW200A")
                .version("Prologix GPIB-USB Controller version 6.107").start();
        Path link = dir.resolve("ttyGPIB");
        pty = PtyBridge.toTcp(link, simulator.port());
        bench = new Bench(simulator, "ASRL" + link + "::INSTR?baud=115200");
        roundTrips();
    }

    @Test
    void aHungUpPseudoTerminalClosesEveryConnectionOnTheBoard() throws Exception {
        PrologixSimulator simulator = PrologixSimulator.builder().instrument(22, "SHARED").instrument(5, "SMW200A")
                .start();
        Path link = dir.resolve("ttyGPIB");
        pty = PtyBridge.toTcp(link, simulator.port());
        bench = new Bench(simulator, "ASRL" + link + "::INSTR");
        Connection meter = bench.open("GPIB0::22::INSTR");
        Connection generator = bench.open("GPIB0::5::INSTR");
        assertEquals("up", Bench.query(meter, "SIM:ECHO? up"));
        pty.close(); // socat ends: the pseudo-terminal hangs up, as an unplugged GPIB-USB does
        org.labhal.api.ConnectionLostException e = assertThrows(org.labhal.api.ConnectionLostException.class,
                () -> Bench.query(generator, "SIM:ECHO? down"));
        assertTrue(e.getMessage().contains("serial " + link), "names the controller: " + e.getMessage());
        assertTrue(!meter.isOpen() && !generator.isOpen());
    }

    private void roundTrips() throws Exception {
        try (Connection meter = bench.open("GPIB0::22::INSTR"); Connection generator = bench.open("GPIB::5::INSTR")) {
            assertTrue(Bench.query(generator, "*IDN?").contains("SMW200A"), "the generator answers as one");
            for (int i = 0; i < 20; i++) {
                assertEquals("m" + i, Bench.query(meter, "SIM:ECHO? m" + i));
                assertEquals("g" + i, Bench.query(generator, "SIM:ECHO? g" + i));
            }
            assertEquals(1, bench.transport.openBoards(), "one controller link for the whole board");
        }
    }

    @Test
    void addrIsSentOnlyWhenTheAddressedDeviceChanges() throws Exception {
        bench = new Bench();
        try (Connection meter = bench.open("GPIB0::22::INSTR"); Connection generator = bench.open("GPIB0::5::INSTR")) {
            for (int i = 0; i < 10; i++) {
                assertEquals("x" + i, Bench.query(meter, "SIM:ECHO? x" + i));
            }
            assertEquals(1, bench.simulator.addressChanges(), "ten queries to one device: one ++addr");
            for (int i = 0; i < 4; i++) {
                Bench.query(generator, "SIM:ECHO? g");
                Bench.query(meter, "SIM:ECHO? m");
            }
            assertEquals(9, bench.simulator.addressChanges(), "each switch between devices: one ++addr");
        }
    }

    @Test
    void secondaryAddressesReachTheirOwnDevice() throws Exception {
        bench = new Bench();
        try (Connection secondary = bench.open("GPIB0::9::3::INSTR"); Connection primaryOnly = bench.open("GPIB0::9::INSTR")) {
            assertEquals("sec", Bench.query(secondary, "SIM:ECHO? sec"));
            Bench.send(primaryOnly, "SIM:ECHO? nobody");
            assertThrows(IoTimeoutException.class, () -> Bench.answer(primaryOnly, 64, Duration.ofMillis(400)),
                    "nothing listens at 9 without a secondary address");
            assertEquals("again", Bench.query(secondary, "SIM:ECHO? again"));
        }
    }

    @Test
    void escapedBytesReachTheInstrumentAndComeBackUnchanged() throws Exception {
        bench = new Bench();
        try (Connection meter = bench.open("GPIB0::22::INSTR")) {
            String token = "a+b++c\r\u001bd+";
            assertEquals(token, Bench.query(meter, "SIM:ECHO? \"" + token + "\""));
            long versions = bench.simulator.commands("ver");
            Bench.send(meter, "++ver"); // a message that looks like a controller command
            assertTrue(Bench.query(meter, "SYST:ERR?").startsWith("-1"), "the instrument got it, and did not understand it");
            assertEquals(versions, bench.simulator.commands("ver"), "the controller did not take it as ++ver");
        }
    }

    @Test
    void anAnswerLongerThanTheSoftLimitArrivesWholeInSmallReads() throws Exception {
        bench = new Bench();
        try (Connection meter = bench.open("GPIB0::22::INSTR"); Connection generator = bench.open("GPIB0::5::INSTR")) {
            String token = "w".repeat(3 * PrologixBus.SOFT_LIMIT + 123);
            Bench.send(meter, "SIM:ECHO? " + token);
            assertEquals(token, Bench.answer(meter, 1000, Bench.IO));
            assertEquals("next", Bench.query(generator, "SIM:ECHO? next"));
            assertEquals("own", Bench.query(meter, "SIM:ECHO? own"));
        }
    }
}
