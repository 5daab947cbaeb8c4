package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.transport.sim.ScpiClient.BRIEF;
import static org.labhal.transport.sim.ScpiClient.TIMEOUT;
import static org.labhal.transport.sim.ScpiClient.errorCodes;
import static org.labhal.transport.sim.ScpiClient.query;
import static org.labhal.transport.sim.ScpiClient.read;
import static org.labhal.transport.sim.ScpiClient.send;
import static org.labhal.transport.sim.ScpiClient.write;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** IEEE 488.2 message exchange behaviour seen through connections: reads, terminators, clears, closing. */
class MessageExchangeTest {

    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void stopThreads() throws InterruptedException {
        threads.shutdownNow();
        assertTrue(threads.awaitTermination(5, TimeUnit.SECONDS));
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void partialReadsDeliverTheRestOfTheResponseLater(String model) throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, SimSettings.defaults());
                SimConnection c = instrument.connect()) {
            send(c, "*IDN?");
            String expected = "LabHAL," + model + "-SIM,100001,1.0\n";
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            byte[] buffer = new byte[16];
            int reads = 0;
            SimRead read;
            do {
                read = c.read(buffer, 3, 5, TIMEOUT);
                assertTrue(read.count() >= 1 && read.count() <= 5);
                received.write(buffer, 3, read.count());
                reads++;
                assertEquals(received.size() == expected.length(), read.end(), "end only with the last byte");
            } while (!read.end());
            assertEquals(expected, received.toString(StandardCharsets.ISO_8859_1));
            assertEquals((expected.length() + 4) / 5, reads);
            assertThrows(TimeoutException.class, () -> read(c, Duration.ZERO), "the response is used up");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void newMessageInterruptsUnreadResponse(String model) throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, SimSettings.defaults());
                SimConnection c = instrument.connect()) {
            send(c, "SIM:ECHO? first");
            assertEquals("second", query(c, "SIM:ECHO? second"));
            byte[] two = new byte[2];
            send(c, "SIM:ECHO? third");
            assertEquals(new SimRead(2, false), c.read(two, 0, 2, TIMEOUT));
            send(c, "*CLS;SIM:ECHO? fourth");
            assertEquals("fourth", read(c, TIMEOUT), "the unread rest of 'third' is gone");
            send(c, "SIM:ECHO? fifth");
            send(c, "*OPC"); // a message without queries interrupts just the same
            assertThrows(TimeoutException.class, () -> read(c, BRIEF));
            assertEquals(List.of(-410, -420), errorCodes(c));
            assertEquals(Integer.toString(ScpiError.QYE | MessageExchange.OPC), query(c, "*ESR?"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void readTimeoutQueuesQueryUnterminated(String model) throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, SimSettings.defaults());
                SimConnection c = instrument.connect()) {
            TimeoutException e = assertThrows(TimeoutException.class, () -> read(c, Duration.ofMillis(20)));
            assertTrue(e.getMessage().contains("-420"), e.getMessage());
            assertEquals("4", query(c, "*ESR?"), "QYE");
            assertEquals(List.of(-420), errorCodes(c));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void newlineAndEndBothTerminateMessages(String model) throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, SimSettings.defaults());
                SimConnection c = instrument.connect()) {
            write(c, "SIM:EC", false);
            write(c, "HO? split", true);
            assertEquals("split", read(c, TIMEOUT), "END without newline completes the message");
            write(c, "SIM:ECHO? one\nSIM:ECHO? two\nSIM:ECHO? thr", false);
            assertEquals("two", read(c, TIMEOUT), "each newline completes a message");
            write(c, "ee", false);
            assertThrows(TimeoutException.class, () -> read(c, BRIEF), "no terminator yet");
            write(c, "", true);
            assertEquals("three", read(c, TIMEOUT));
            write(c, "  \r\n", true);
            assertThrows(TimeoutException.class, () -> read(c, BRIEF), "blank messages do nothing");
            assertEquals(List.of(-410, -420, -420), errorCodes(c));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void deviceClearEmptiesBuffersButKeepsErrors(String model) throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, SimSettings.defaults());
                SimConnection c = instrument.connect()) {
            send(c, "BOGUS;SIM:ECHO? pending");
            write(c, "SIM:ECHO? garb", false);
            c.deviceClear();
            assertThrows(TimeoutException.class, () -> read(c, BRIEF), "output queue cleared");
            assertEquals("clean", query(c, "SIM:ECHO? clean"), "input buffer cleared");
            assertEquals(List.of(-113, -420), errorCodes(c), "error queue kept");
        }
    }

    @Test
    void deviceClearDiscardsTheExecutingMessage() throws Exception {
        CountDownLatch waiting = new CountDownLatch(1);
        SimSettings slow = SimSettings.defaults().withOperationTime(Duration.ofMinutes(30));
        try (SimulatedInstrument instrument = InstrumentSimulator.of("SMW200A", slow, message -> {
            if (message.contains("*WAI")) {
                waiting.countDown();
            }
        }); SimConnection c = instrument.connect()) {
            Future<?> writer = threads.submit(() -> {
                send(c, "INIT;*WAI;SIM:ECHO? discarded");
                return null;
            });
            assertTrue(waiting.await(5, TimeUnit.SECONDS));
            c.deviceClear();
            writer.get(5, TimeUnit.SECONDS); // returns normally: the device does not tell
            assertThrows(TimeoutException.class, () -> read(c, BRIEF));
            assertEquals("after", query(c, "*RST;SIM:ECHO? after"));
        }
    }

    @Test
    void closedConnectionRefusesEverything() throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create("SMW200A", SimSettings.defaults())) {
            SimConnection c = instrument.connect();
            assertEquals(1, instrument.openConnections());
            c.close();
            c.close();
            assertEquals(0, instrument.openConnections());
            byte[] buffer = new byte[8];
            assertEquals("connection closed", assertThrows(IOException.class, () -> send(c, "*IDN?")).getMessage());
            assertEquals("connection closed",
                    assertThrows(IOException.class, () -> c.read(buffer, 0, 8, BRIEF)).getMessage());
            assertEquals("connection closed", assertThrows(IOException.class, c::deviceClear).getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void closeWakesABlockedRead(String model) throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, SimSettings.defaults());
                SimConnection other = instrument.connect()) {
            SimConnection c = instrument.connect();
            Future<?> reader = threads.submit(() -> read(c, Duration.ofMinutes(1)));
            c.close();
            ExecutionException e = assertThrows(ExecutionException.class, () -> reader.get(5, TimeUnit.SECONDS));
            assertEquals("connection closed", assertInstanceOf(IOException.class, e.getCause()).getMessage());
            assertEquals("still here", query(other, "SIM:ECHO? 'still here'"), "other connections go on");
        }
    }

    @Test
    void closeAbandonsAMessageWaitingForItsProcessingDelay() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        SimSettings slow = SimSettings.defaults().withProcessingDelay(Duration.ofMinutes(30));
        try (SimulatedInstrument instrument = InstrumentSimulator.of("SHARED", slow, message -> started.countDown())) {
            SimConnection c = instrument.connect();
            Future<?> writer = threads.submit(() -> {
                send(c, "SIM:ECHO? never");
                return null;
            });
            assertTrue(started.await(5, TimeUnit.SECONDS));
            c.close();
            ExecutionException e = assertThrows(ExecutionException.class, () -> writer.get(5, TimeUnit.SECONDS));
            assertEquals("connection closed", assertInstanceOf(IOException.class, e.getCause()).getMessage());
        }
    }

    @Test
    void interruptingABlockedReadThrowsInterruptedException() throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create("SHARED", SimSettings.defaults());
                SimConnection c = instrument.connect()) {
            Thread.currentThread().interrupt();
            assertThrows(InterruptedException.class, () -> read(c, Duration.ofMinutes(1)));
            assertFalse(Thread.interrupted());
        }
    }

    @Test
    void closingTheInstrumentClosesItsConnections() throws Exception {
        SimulatedInstrument instrument = SimulatedInstrument.create("SHARED", SimSettings.defaults());
        SimConnection a = instrument.connect();
        SimConnection b = instrument.connect();
        assertEquals(2, instrument.openConnections());
        Future<?> reader = threads.submit(() -> read(a, Duration.ofMinutes(1)));
        instrument.close();
        instrument.close();
        assertEquals(0, instrument.openConnections());
        ExecutionException e = assertThrows(ExecutionException.class, () -> reader.get(5, TimeUnit.SECONDS));
        assertInstanceOf(IOException.class, e.getCause());
        assertThrows(IOException.class, () -> send(b, "*IDN?"));
        IOException refused = assertThrows(IOException.class, instrument::connect);
        assertEquals("simulated instrument SHARED is closed", refused.getMessage());
    }

    @Test
    void checksArguments() throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create("SMW200A", SimSettings.defaults());
                SimConnection c = instrument.connect()) {
            byte[] buffer = new byte[4];
            assertThrows(IllegalArgumentException.class, () -> c.read(buffer, 0, 0, BRIEF));
            assertThrows(IndexOutOfBoundsException.class, () -> c.read(buffer, 2, 3, BRIEF));
            assertThrows(IndexOutOfBoundsException.class, () -> c.write(buffer, -1, 2, true));
            assertThrows(NullPointerException.class, () -> c.read(buffer, 0, 4, null));
            assertThrows(NullPointerException.class, () -> SimulatedInstrument.create(null, SimSettings.defaults()));
            assertThrows(IllegalArgumentException.class, () -> new SimRead(0, true));
        }
    }
    /** A message longer than the input buffer, in pieces or with END: -363 once, not executed, nothing kept. */
    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void aMessageLongerThanTheInputBufferIsAnOverrunAndIsDiscarded(String model) throws Exception {
        SimSettings small = SimSettings.defaults().withInputBufferSize(1024);
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, small);
                SimConnection c = instrument.connect()) {
            write(c, "SIM:ECHO? " + "a".repeat(1014), false); // exactly the buffer: kept
            write(c, "\n", false);
            assertEquals(1014, read(c, TIMEOUT).length(), "a message of the buffer's size runs");
            for (int i = 0; i < 100; i++) {
                write(c, "SIM:ECHO? " + "b".repeat(1000), false); // 100 KB of one message
            }
            write(c, "x", true); // END terminates it too
            assertEquals(List.of(-363), errorCodes(c), "one overrun, the message not executed");
            assertEquals("after", query(c, "SIM:ECHO? after"), "the next message runs as usual");
            assertThrows(IllegalArgumentException.class, () -> SimSettings.defaults().withInputBufferSize(1023));
        }
    }

    /**
     * The input buffer grown for a long message is let go once the message is taken, and at once when a
     * message overruns it (an endless one has no terminator to wait for): a connection that sent one long
     * line, or sends an endless one, does not keep megabytes.
     */
    @Test
    void theInputBufferGrownForALongMessageOrAnOverrunIsLetGo() {
        int limit = 1 << 20;
        MessageExchange exchange = new MessageExchange(10, limit);
        byte[] chunk = "x".repeat(64 * 1024).getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < 8; i++) { // 512 KiB of one message that fits
            assertEquals(List.of(), exchange.accept(chunk, 0, chunk.length, false));
        }
        assertTrue(exchange.inputCapacity() >= 512 * 1024, "it grew: " + exchange.inputCapacity());
        assertEquals(1, exchange.accept(new byte[] {'\n'}, 0, 1, false).size());
        assertTrue(exchange.inputCapacity() <= 8 * 1024, "after the long message: " + exchange.inputCapacity());
        int largest = 0;
        for (int i = 0; i < 48; i++) { // 3 MiB without a terminator
            exchange.accept(chunk, 0, chunk.length, false);
            if ((i + 1) * chunk.length > limit) {
                largest = Math.max(largest, exchange.inputCapacity());
            }
        }
        assertTrue(largest <= 8 * 1024, "while the overrun went on: " + largest);
        assertEquals(List.of(), exchange.accept(new byte[] {'\n'}, 0, 1, false), "the overrun is not executed");
        assertTrue(exchange.inputCapacity() <= 8 * 1024, "after the overrun: " + exchange.inputCapacity());
        List<MessageExchange.Message> next = exchange.accept("*IDN?\n".getBytes(StandardCharsets.ISO_8859_1), 0, 6,
                false);
        assertEquals("*IDN?", next.get(0).text().trim(), "the next message is taken as usual");
    }
}
