package org.labhal.transport.gpib.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.transport.Connection;
import org.labhal.transport.gpib.PrologixSimulator;

/** Timeouts, lost links, interrupts, closes from another thread, garbage and floods from the controller. */
class GpibFaultTest {
    private static final Duration LONG = Duration.ofSeconds(30);
    private Bench bench;

    @AfterEach
    void stop() {
        if (bench != null) {
            bench.close();
        }
    }

    @Test
    void aReadFromAnEmptyAddressTimesOutAndTheNextQuestionGetsItsOwnAnswer() throws Exception {
        bench = new Bench();
        try (Connection nobody = bench.open("GPIB0::7::INSTR"); Connection meter = bench.open("GPIB0::22::INSTR")) {
            Bench.send(nobody, "*IDN?");
            IoTimeoutException e = assertThrows(IoTimeoutException.class,
                    () -> nobody.read(ByteBuffer.allocate(64), Duration.ofMillis(300)));
            assertTrue(e.getMessage().contains("GPIB0::7::INSTR") && e.getMessage().contains("no answer"),
                    e.getMessage());
            assertEquals("mine", Bench.query(meter, "SIM:ECHO? mine"));
        }
    }

    @Test
    void anAnswerCutByATimeoutIsNeverTheNextQuestionsAnswer() throws Exception {
        bench = new Bench();
        try (Connection meter = bench.open("GPIB0::22::INSTR"); Connection generator = bench.open("GPIB0::5::INSTR")) {
            bench.simulator.trickle(Duration.ofMillis(20));
            Bench.send(meter, "SIM:ECHO? " + "late".repeat(20));
            assertThrows(IoTimeoutException.class, () -> Bench.answer(meter, 16, Duration.ofMillis(150)));
            bench.simulator.trickle(Duration.ZERO);
            assertEquals("other", Bench.query(generator, "SIM:ECHO? other"), "the board is back in step");
            assertEquals("second", Bench.query(meter, "SIM:ECHO? second"), "the rest of the first answer is gone");
            assertTrue(bench.simulator.clears(22, -1) >= 1, "the meter was cleared before its next question");
        }
    }

    @Test
    void aDroppedControllerLinkClosesEveryConnectionOnTheBoard() throws Exception {
        bench = new Bench();
        Connection meter = bench.open("GPIB0::22::INSTR");
        Connection generator = bench.open("GPIB0::5::INSTR");
        assertEquals("up", Bench.query(meter, "SIM:ECHO? up"));
        bench.simulator.dropLinks();
        ConnectionLostException e = assertThrows(ConnectionLostException.class,
                () -> Bench.query(meter, "SIM:ECHO? down"));
        assertTrue(e.getMessage().contains("127.0.0.1:" + bench.simulator.port()), "names the controller: " + e.getMessage());
        assertFalse(meter.isOpen());
        assertFalse(generator.isOpen(), "the other instrument on the board is closed too");
        assertThrows(ConnectionLostException.class, () -> Bench.query(generator, "SIM:ECHO? down"));
        try (Connection again = bench.open("GPIB0::5::INSTR")) {
            assertEquals("back", Bench.query(again, "SIM:ECHO? back"), "a new open makes a new link");
        }
    }

    @Test
    void anInterruptEndsABlockedReadAtOnceAndKeepsTheFlag() throws Exception {
        bench = new Bench();
        try (Connection nobody = bench.open("GPIB0::7::INSTR"); Connection meter = bench.open("GPIB0::22::INSTR")) {
            Bench.send(nobody, "*IDN?");
            AtomicReference<Thread> reader = new AtomicReference<>();
            CompletableFuture<Boolean> flag = new CompletableFuture<>();
            long reads = bench.simulator.commands("read");
            CompletableFuture<Throwable> failure = CompletableFuture.supplyAsync(() -> {
                reader.set(Thread.currentThread());
                try {
                    nobody.read(ByteBuffer.allocate(64), LONG);
                    return null;
                } catch (LabHalException e) {
                    flag.complete(Thread.interrupted());
                    return e;
                }
            });
            Bench.until(() -> bench.simulator.commands("read") > reads, "the ++read reached the controller");
            reader.get().interrupt();
            assertInstanceOf(StepInterruptedException.class, failure.get(10, TimeUnit.SECONDS));
            assertTrue(flag.get(), "the interrupt flag is still set");
            assertEquals("fine", Bench.query(meter, "SIM:ECHO? fine"));
        }
    }

    @Test
    void anInterruptedThreadDoesNotWaitForTheBoard() throws Exception {
        bench = new Bench();
        try (Connection meter = bench.open("GPIB0::22::INSTR")) {
            Thread.currentThread().interrupt();
            try {
                assertThrows(StepInterruptedException.class, () -> Bench.query(meter, "SIM:ECHO? x"));
                assertTrue(Thread.currentThread().isInterrupted());
            } finally {
                Thread.interrupted();
            }
            assertEquals("y", Bench.query(meter, "SIM:ECHO? y"));
        }
    }

    @Test
    void closeFromAnotherThreadWakesABlockedRead() throws Exception {
        bench = new Bench();
        Connection nobody = bench.open("GPIB0::7::INSTR");
        try (Connection meter = bench.open("GPIB0::22::INSTR")) {
            Bench.send(nobody, "*IDN?");
            long reads = bench.simulator.commands("read");
            CompletableFuture<Throwable> failure = CompletableFuture.supplyAsync(() -> {
                try {
                    nobody.read(ByteBuffer.allocate(64), LONG);
                    return null;
                } catch (LabHalException e) {
                    return e;
                }
            });
            Bench.until(() -> bench.simulator.commands("read") > reads, "the ++read reached the controller");
            nobody.close();
            assertInstanceOf(ConnectionLostException.class, failure.get(10, TimeUnit.SECONDS));
            assertFalse(nobody.isOpen());
            assertEquals("still", Bench.query(meter, "SIM:ECHO? still"), "the board goes on");
        }
    }

    @Test
    void garbageFromTheControllerIsDroppedBeforeTheNextCall() throws Exception {
        bench = new Bench();
        try (Connection meter = bench.open("GPIB0::22::INSTR")) {
            assertEquals("a", Bench.query(meter, "SIM:ECHO? a"));
            bench.simulator.sendGarbage("junk\r\nmore junk\n".getBytes());
            Bench.until(() -> bench.transport.openBoard(0).orElseThrow().unread() > 0, "the garbage arrived");
            assertEquals("b", Bench.query(meter, "SIM:ECHO? b"));
            assertEquals("c", Bench.query(meter, "SIM:ECHO? c"));
        }
    }

    @Test
    void aFloodFromTheControllerClosesTheLinkInsteadOfFillingMemory() throws Exception {
        bench = new Bench();
        try (Connection meter = bench.open("GPIB0::22::INSTR")) {
            assertEquals("a", Bench.query(meter, "SIM:ECHO? a"));
            byte[] flood = new byte[PrologixBus.HARD_LIMIT + 2 * PrologixBus.INBOX_BYTES];
            Arrays.fill(flood, (byte) 'x');
            CompletableFuture.runAsync(() -> bench.simulator.sendGarbage(flood));
            ConnectionLostException e = assertThrows(ConnectionLostException.class, () -> {
                for (int i = 0; i < 1000; i++) { // until the flood is seen: it arrives while we ask
                    Bench.query(meter, "SIM:ECHO? b");
                }
            });
            assertTrue(e.getMessage().contains("flood"), e.getMessage());
            assertFalse(meter.isOpen());
        }
    }

    @Test
    void aPeerThatIsNotAPrologixControllerIsRefused() throws Exception {
        PrologixSimulator other = PrologixSimulator.builder().instrument(22, "SHARED").version("ACME DMM 1.0").start();
        bench = new Bench(other, null);
        LabHalException e = assertThrows(LabHalException.class, () -> bench.transport.open(
                org.labhal.api.ResourceAddress.parse("GPIB0::22::INSTR"), Duration.ofMillis(500)));
        assertTrue(e.getMessage().contains("ACME DMM 1.0") && e.getMessage().contains("not a Prologix-style"),
                e.getMessage());
    }
}
