package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** The simulators on real loopback sockets. */
class SimServerTest {

    @Test
    void listensOnLoopbackOnAFreePortAndNamesItsResource() throws Exception {
        try (SimServer server = SimServer.builder("smw200a").start()) {
            assertTrue(server.address().getAddress().isLoopbackAddress(), server.address().toString());
            assertTrue(server.port() > 0);
            assertEquals("TCPIP::127.0.0.1::" + server.port() + "::SOCKET", server.resource());
            try (LineClient client = new LineClient(server)) {
                assertEquals("LabHAL,SMW200A-SIM,100001,1.0", client.query("*IDN?"));
            }
        }
    }

    @Test
    void generatorConnectionsAreIndependentButShareTheSettings() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").start();
                LineClient a = new LineClient(server); LineClient b = new LineClient(server)) {
            a.send("BOGUS:HEADER\n");
            a.send("FREQ 2 GHz\n");
            assertEquals("1", a.query("*OPC?"), "a's messages have run");
            assertEquals("0,\"No error\"", b.query("SYST:ERR?"), "b has its own error queue");
            assertEquals("2000000000", b.query("FREQ?"), "one physical instrument");
            assertEquals("-113", a.query("SYST:ERR?").split(",")[0]);
            assertTrue(server.awaitOpenConnections(2, Duration.ofSeconds(5)));
            assertEquals(2, server.instrument().openConnections());
        }
    }

    @Test
    void sharedModelSharesOneExchangeAcrossConnections() throws Exception {
        try (SimServer server = SimServer.builder("SHARED").start();
                LineClient a = new LineClient(server); LineClient b = new LineClient(server)) {
            a.send("BOGUS:HEADER\n");
            assertEquals("1", a.query("*OPC?"));
            assertEquals("-113", b.query("SYST:ERR?").split(",")[0], "one error queue for all");
            a.send("CONF:VOLT:DC (@101)\n");
            assertEquals("1", a.query("*OPC?"));
            assertEquals("+1.01000000E-01", b.query("READ?"), "one configuration for all");
        }
    }

    @Test
    void pipelinedQueriesAreAnsweredInOrderWithoutInterruptingEachOther() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").start(); LineClient client = new LineClient(server)) {
            client.send("SIM:ECHO? a\nSIM:ECHO? b\n*RST\nSIM:ECHO? c\n");
            assertEquals("a", client.readLine());
            assertEquals("b", client.readLine());
            assertEquals("c", client.readLine());
            assertEquals("0,\"No error\"", client.query("SYST:ERR?"), "no -410 Query INTERRUPTED");
        }
    }

    @Test
    void messagesMaySpanSegments() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").start(); LineClient client = new LineClient(server)) {
            client.send("SIM:EC");
            client.send("HO? split\n");
            assertEquals("split", client.readLine());
        }
    }

    @Test
    void singleConnectionModeKeepsTheNextClientWaitingInTheBacklog() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").singleConnection(true).start()) {
            LineClient first = new LineClient(server);
            assertEquals("first", first.query("SIM:ECHO? first"));
            try (LineClient second = new LineClient(server)) { // the connect completes in the backlog
                second.send("SIM:ECHO? second\n");
                second.timeout(300);
                assertThrows(SocketTimeoutException.class, second::readLine, "not accepted, not answered");
                assertEquals(1, server.acceptedConnections());
                first.close();
                second.timeout(5000);
                assertEquals("second", second.readLine(), "accepted once the first one left");
                assertEquals(2, server.acceptedConnections());
            }
        }
    }

    @Test
    void crLineEndingEndsMessagesAndAnswers() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").lineEnding(LineEnding.CR).start();
                LineClient client = new LineClient(server)) {
            client.send("SIM:ECHO? one\rSIM:ECHO? two\r");
            assertEquals("one", client.readUntil('\r'));
            assertEquals("two", client.readUntil('\r'));
        }
    }

    @Test
    void crLfLineEndingAnswersWithCrLf() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").lineEnding(LineEnding.CRLF).start();
                LineClient client = new LineClient(server)) {
            assertEquals("x\r", client.query("SIM:ECHO? x"));
            client.send("SIM:ECHO? y\r\n");
            assertEquals("y\r", client.readLine());
        }
    }

    @Test
    void processingDelayMakesAnswersLate() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A")
                .settings(SimSettings.defaults().withProcessingDelay(Duration.ofMillis(300))).start();
                LineClient client = new LineClient(server)) {
            long start = System.nanoTime();
            assertEquals("late", client.query("SIM:ECHO? late"));
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) >= 295);
        }
    }

    @Test
    void droppingConnectionsClosesThemAndCountsDown() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").start();
                LineClient a = new LineClient(server); LineClient b = new LineClient(server)) {
            assertEquals("a", a.query("SIM:ECHO? a"));
            assertEquals("b", b.query("SIM:ECHO? b"));
            server.dropConnections(false);
            assertTrue(a.closedByServer());
            assertTrue(server.awaitOpenConnections(0, Duration.ofSeconds(5)));
            assertEquals(0, server.instrument().openConnections(), "the simulator connections closed too");
        }
    }

    @Test
    void closeStopsItsThreadsClosesItsSocketsAndFreesThePort() throws Exception {
        SimServer server = SimServer.builder("SMW200A").start();
        int port = server.port();
        String prefix = "labhal-sim-smw200a-" + port + "-";
        try (LineClient a = new LineClient(server); LineClient b = new LineClient(server)) {
            assertEquals("a", a.query("SIM:ECHO? a"));
            b.send("SIM:EC"); // a bridge in the middle of a message
            assertTrue(server.awaitOpenConnections(2, Duration.ofSeconds(5)));
            // A connection counts as open when accepted; its thread may start a moment later.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (threadsNamed(prefix) < 3 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(threadsNamed(prefix) >= 3, "acceptor and two clients");
            server.close();
            assertTrue(a.closedByServer());
            assertTrue(b.closedByServer());
        }
        long gone = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (threadsNamed(prefix) > 0 && System.nanoTime() < gone) {
            Thread.sleep(5); // close() has stopped them; they may still be unwinding
        }
        assertEquals(0, threadsNamed(prefix), "no thread left");
        try (ServerSocket again = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            assertEquals(port, again.getLocalPort(), "port free again");
        }
    }

    /**
     * A program message leaves at most one response, and its bridge sends that one only. On a SHARED
     * instrument the next client asks as soon as this answer reaches its own client; a bridge that
     * looked for more after sending took that client's answer too and sent it to the wrong stream
     * (the soak: one in about 100,000 steps though the clients took turns, and that client one answer
     * behind from then on). Here the other client asks while the bridge flushes.
     */
    @Test
    void aBridgeSendsItsMessagesResponseOnlyNotTheNextClientsAskedMeanwhile() throws Exception {
        SimulatedInstrument instrument = SimulatedInstrument.create("SHARED", SimSettings.defaults());
        try (SimConnection other = instrument.connect(); SimConnection bridged = instrument.connect()) {
            ByteArrayOutputStream sent = new ByteArrayOutputStream() {
                private boolean asked;

                @Override
                public void flush() throws IOException {
                    if (!asked) { // the answer is out: the other client takes its turn
                        asked = true;
                        byte[] question = "SIM:ECHO? other\n".getBytes(StandardCharsets.ISO_8859_1);
                        try {
                            other.write(question, 0, question.length, true);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new IOException(e);
                        }
                    }
                }
            };
            new SimStreamBridge(bridged,
                    new ByteArrayInputStream("SIM:ECHO? mine\n".getBytes(StandardCharsets.ISO_8859_1)), sent,
                    LineEnding.LF).serve();
            assertEquals("mine\n", sent.toString(StandardCharsets.ISO_8859_1), "its own answer only");
            byte[] buffer = new byte[64];
            SimRead read = other.read(buffer, 0, buffer.length, Duration.ofSeconds(1));
            assertEquals("other\n", new String(buffer, 0, read.count(), StandardCharsets.ISO_8859_1));
        } finally {
            instrument.close();
        }
    }

    @Test
    void theBridgeServesAnyPairOfStreams() throws Exception {
        SimulatedInstrument instrument = SimulatedInstrument.create("SMW200A", SimSettings.defaults());
        try (SimConnection connection = instrument.connect();
                PipedOutputStream toInstrument = new PipedOutputStream();
                PipedInputStream fromInstrument = new PipedInputStream(1 << 16)) {
            PipedInputStream instrumentInput = new PipedInputStream(toInstrument, 1 << 16);
            PipedOutputStream instrumentOutput = new PipedOutputStream(fromInstrument);
            SimStreamBridge bridge = new SimStreamBridge(connection, instrumentInput, instrumentOutput, LineEnding.LF);
            CompletableFuture<Void> served = CompletableFuture.runAsync(() -> {
                try {
                    bridge.serve();
                    instrumentOutput.close();
                } catch (IOException | InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            toInstrument.write("*IDN?\nSIM:ECHO? piped\n".getBytes(StandardCharsets.ISO_8859_1));
            toInstrument.close(); // end of input: the bridge returns after answering
            served.get(10, TimeUnit.SECONDS);
            assertEquals("LabHAL,SMW200A-SIM,100001,1.0\npiped\n",
                    new String(fromInstrument.readAllBytes(), StandardCharsets.ISO_8859_1));
        } finally {
            instrument.close();
        }
    }

    @Test
    void commandLineArgumentsBuildTheServer() throws Exception {
        assertNull(SimServer.fromArguments(new String[] {"--help"}));
        try (SimServer server = SimServer.fromArguments(new String[] {"--model", "SHARED", "--port", "0",
                "--single", "--delay", "2ms", "--termination", "crlf"}).start();
                LineClient client = new LineClient(server)) {
            assertTrue(client.query("*IDN?").startsWith("LabHAL,SHARED-SIM"));
        }
        assertThrows(IllegalArgumentException.class, () -> SimServer.fromArguments(new String[] {"--model", "XYZ"}));
        assertThrows(IllegalArgumentException.class, () -> SimServer.fromArguments(new String[] {"--delay", "soon"}));
        assertThrows(IllegalArgumentException.class, () -> SimServer.fromArguments(new String[] {"--port"}));
        assertThrows(IllegalArgumentException.class, () -> SimServer.fromArguments(new String[] {"--termination", "nl"}));
        assertThrows(IllegalArgumentException.class, () -> SimServer.fromArguments(new String[] {"--verbose", "1"}));
        assertEquals(Duration.ofNanos(500_000), SimServer.duration("--delay", "500us"));
        assertEquals(Duration.ofSeconds(2), SimServer.duration("--delay", "2s"));
        assertEquals(Duration.ofMillis(7), SimServer.duration("--delay", "7"));
    }

    private static long threadsNamed(String prefix) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith(prefix)).count();
    }
}
