package org.labhal.transport.socket.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.transport.Connection;
import org.labhal.transport.sim.LineEnding;
import org.labhal.transport.sim.SimServer;

/** Round trips, terminations and framing over real loopback sockets. */
class SocketRoundTripTest {
    private static final Duration IO = Duration.ofSeconds(5);
    private final SocketTransportFactory transport = new SocketTransportFactory();

    @AfterEach
    void stopTransport() {
        transport.deactivate();
    }

    private Connection open(String resource) throws LabHalException {
        return transport.open(ResourceAddress.parse(resource), IO);
    }

    @Test
    void talksToTheSimulatedGenerator() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").start(); Connection c = open(server.resource())) {
            assertEquals("LabHAL,SMW200A-SIM,100001,1.0", Steps.query(c, "*IDN?", IO));
            Steps.write(c, "FREQ 2.5 GHz", IO);
            assertEquals("2500000000", Steps.query(c, "FREQ?", IO));
            assertEquals("A;B", Steps.query(c, "SIM:ECHO? A;:SIM:ECHO? B", IO), "one message, one response");
            assertTrue(c.describe().contains("127.0.0.1") && c.describe().contains(server.resource().substring(7)),
                    c.describe());
        }
    }

    @Test
    void aReadStopsAtTheMessageEndAndKeepsTheNextMessageForTheNextRead() throws Exception {
        try (RawPeer peer = new RawPeer(); Connection c = open(peer.resource(""))) {
            peer.accept().send("FIRST\nSECOND\n"); // one segment, two messages
            ByteBuffer into = ByteBuffer.allocate(100);
            assertTrue(c.read(into, IO));
            assertEquals("FIRST\n", text(into));
            into.clear();
            assertTrue(c.read(into, IO));
            assertEquals("SECOND\n", text(into));
        }
    }

    @Test
    void aShortBufferGetsTheMessageInPiecesWithTheEndOnTheLast() throws Exception {
        try (RawPeer peer = new RawPeer(); Connection c = open(peer.resource(""))) {
            peer.accept().send("ABCDEFG\nX\n");
            ByteBuffer into = ByteBuffer.allocate(3);
            assertFalse(c.read(into, IO));
            assertEquals("ABC", text(into));
            into.clear();
            assertFalse(c.read(into, IO));
            into.clear();
            assertTrue(c.read(into, IO));
            assertEquals("G\n", text(into));
        }
    }

    @Test
    void writeTerminationIsAppendedOnlyToMessageEnds() throws Exception {
        for (String[] option : new String[][] {{"", "\n"}, {"?write_termination=crlf", "\r\n"},
                {"?write_termination=cr", "\r"}, {"?write_termination=none", ""}}) {
            try (RawPeer peer = new RawPeer(); Connection c = open(peer.resource(option[0]))) {
                peer.accept();
                c.write(ByteBuffer.wrap("PART:".getBytes(StandardCharsets.US_ASCII)), false, IO);
                c.write(ByteBuffer.wrap("ONE 1".getBytes(StandardCharsets.US_ASCII)), true, IO);
                String expected = "PART:ONE 1" + option[1];
                assertEquals(expected, peer.receive(expected.length()), option[0]);
                assertTrue(peer.quietFor(50), "nothing more sent with " + option[0]);
            }
        }
    }

    @Test
    void crLfAnswersAreWholeMessagesWithTheDefaultLfTermination() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").lineEnding(LineEnding.CRLF).start();
                Connection c = open(server.resource())) {
            Steps.write(c, "*IDN?", IO);
            byte[] answer = Steps.readMessage(c, IO, 8192);
            assertEquals("LabHAL,SMW200A-SIM,100001,1.0\r\n", new String(answer, StandardCharsets.ISO_8859_1),
                    "the CR stays for the session to strip");
        }
    }

    @Test
    void crLfTerminationBothWays() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").lineEnding(LineEnding.CRLF).start();
                Connection c = open(server.resource() + "?write_termination=crlf&read_termination=crlf")) {
            assertEquals("X1", Steps.query(c, "SIM:ECHO? X1", IO));
            assertEquals("X2", Steps.query(c, "SIM:ECHO? X2", IO));
        }
    }

    @Test
    void crTerminationBothWays() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").lineEnding(LineEnding.CR).start();
                Connection c = open(server.resource() + "?write_termination=cr&read_termination=cr")) {
            Steps.write(c, "SIM:ECHO? Y1", IO);
            assertEquals("Y1\r", new String(Steps.readMessage(c, IO, 8192), StandardCharsets.ISO_8859_1));
            assertEquals("Y2", Steps.query(c, "SIM:ECHO? Y2", IO));
        }
    }

    @Test
    void crLfTerminationNeedsBothBytesEvenAcrossReads() throws Exception {
        try (RawPeer peer = new RawPeer(); Connection c = open(peer.resource("?read_termination=crlf"))) {
            peer.accept().send("A\rB\nC\r");
            ByteBuffer into = ByteBuffer.allocate(100);
            assertFalse(c.read(into, IO), "a lone CR or LF ends nothing");
            assertEquals("A\rB\nC\r", text(into));
            peer.send("\nNEXT\r\n");
            into.clear();
            assertTrue(c.read(into, IO), "the LF completes the CR LF begun in the previous read");
            assertEquals("\n", text(into));
            into.clear();
            assertTrue(c.read(into, IO));
            assertEquals("NEXT\r\n", text(into));
        }
    }

    @Test
    void withoutReadTerminationAPauseEndsTheMessage() throws Exception {
        try (RawPeer peer = new RawPeer(); Connection c = open(peer.resource("?read_termination=none&drain_ms=50"))) {
            peer.accept().send("12\n34");
            ByteBuffer into = ByteBuffer.allocate(100);
            assertTrue(c.read(into, IO));
            assertEquals("12\n34", text(into), "a line feed is just data");
        }
    }

    @Test
    void writeTerminationNoneLeavesTheMessageOpenUntilTheCallerEndsIt() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").start();
                Connection c = open(server.resource() + "?write_termination=none")) {
            Steps.write(c, "SIM:ECHO? Z", IO);
            assertThrows(IoTimeoutException.class, () -> c.read(ByteBuffer.allocate(64), Duration.ofMillis(100)),
                    "no terminator: the instrument still waits for the rest of the message");
            c.write(ByteBuffer.wrap(new byte[] {'\n'}), false, IO);
            assertEquals("Z", Steps.read(c, IO), "an explicit read gets the late answer");
        }
    }

    @Test
    void answersAroundEachSizeOfTheGrowingReceiveBufferArriveWholeAndInOrder() throws Exception {
        // sent in one go, so that later answers sit in the buffer behind earlier ones as it grows
        StringBuilder all = new StringBuilder();
        java.util.List<String> answers = new java.util.ArrayList<>();
        for (int size = SocketConnection.FIRST_BUFFER_SIZE; size <= SocketConnection.BUFFER_SIZE; size *= 2) {
            for (int delta = -2; delta <= 1; delta++) {
                String answer = String.valueOf((char) ('a' + answers.size() % 26)).repeat(size + delta);
                answers.add(answer);
                all.append(answer).append('\n');
            }
        }
        try (RawPeer peer = new RawPeer(); Connection c = open(peer.resource(""))) {
            RawPeer accepted = peer.accept();
            // from another thread: half a megabyte may not fit the socket buffers before it is read
            java.util.concurrent.CompletableFuture<Void> sent = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    accepted.send(all.toString());
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            ByteBuffer into = ByteBuffer.allocate(SocketConnection.BUFFER_SIZE * 2);
            for (String expected : answers) {
                StringBuilder answer = new StringBuilder();
                boolean end = false;
                while (!end) { // a read returns what has arrived of the message, the end with its last piece
                    into.clear();
                    end = c.read(into, IO);
                    answer.append(text(into));
                }
                assertEquals(expected + "\n", answer.toString());
            }
            sent.get(10, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    @Test
    void oneMegabyteAnswerArrivesWholeOverManyReads() throws Exception {
        char[] token = new char[1 << 20];
        for (int i = 0; i < token.length; i++) {
            token[i] = (char) ('a' + i % 26);
        }
        String big = new String(token);
        try (SimServer server = SimServer.builder("SMW200A").start(); Connection c = open(server.resource())) {
            Steps.write(c, "SIM:ECHO? \"" + big + "\"", IO);
            ByteBuffer into = ByteBuffer.allocate(8192);
            StringBuilder answer = new StringBuilder();
            int reads = 0;
            boolean end = false;
            while (!end) {
                into.clear();
                end = c.read(into, IO);
                reads++;
                answer.append(text(into));
            }
            assertEquals(big + "\n", answer.toString());
            assertTrue(reads >= big.length() / 8192, "read in pieces: " + reads);
            assertEquals("after", Steps.query(c, "SIM:ECHO? after", IO), "nothing of the big answer left over");
        }
    }

    @Test
    void definiteLengthBlockDataMayContainTerminators() throws Exception {
        byte[] data = new byte[1000];
        Arrays.fill(data, (byte) '\n');
        data[0] = 'x';
        try (RawPeer peer = new RawPeer(); Connection c = open(peer.resource(""))) {
            peer.accept();
            peer.send("#41000");
            peer.send(data);
            peer.send("\nNEXT\n");
            byte[] message = Steps.readMessage(c, IO, 100);
            assertEquals(6 + 1000 + 1, message.length, "the block ends at the terminator after its data");
            assertArrayEquals(data, Arrays.copyOfRange(message, 6, 1006));
            assertEquals("NEXT", Steps.read(c, IO));
        }
    }

    private static String text(ByteBuffer buffer) {
        return new String(buffer.array(), 0, buffer.position(), StandardCharsets.ISO_8859_1);
    }
}
