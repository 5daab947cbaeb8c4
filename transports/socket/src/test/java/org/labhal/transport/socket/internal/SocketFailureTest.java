package org.labhal.transport.socket.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.transport.Connection;
import org.labhal.transport.sim.SimServer;
import org.labhal.transport.sim.SimSettings;

/** Connect failures, lost links, silence, and closing from elsewhere: each a specific exception, in time. */
class SocketFailureTest {
    private static final Duration IO = Duration.ofSeconds(5);
    private final SocketTransportFactory transport = new SocketTransportFactory();

    @AfterEach
    void stopTransport() {
        transport.deactivate();
    }

    private Connection open(String resource, Duration timeout) throws LabHalException {
        return transport.open(ResourceAddress.parse(resource), timeout);
    }

    @Test
    void refusedConnectNamesTheResource() throws Exception {
        int port;
        try (ServerSocket gone = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = gone.getLocalPort();
        }
        String resource = "TCPIP::127.0.0.1::" + port + "::SOCKET";
        ConnectionLostException e = assertThrows(ConnectionLostException.class, () -> open(resource, IO));
        assertTrue(e.getMessage().contains("TCPIP0::127.0.0.1::" + port + "::SOCKET") && e.getMessage().contains("refused"),
                e.getMessage());
        assertEquals(0, transport.openConnections(), "nothing kept");
    }

    @Test
    void unknownHostNamesTheHostAndTheResource() {
        LabHalException e = assertThrows(LabHalException.class,
                () -> open("TCPIP::no-such-instrument.invalid::5025::SOCKET", IO));
        assertTrue(e.getMessage().contains("unknown host 'no-such-instrument.invalid'")
                && e.getMessage().contains("TCPIP0::no-such-instrument.invalid::5025::SOCKET"), e.getMessage());
    }

    @Test
    void connectTimeoutIsTheOpenTimeout() throws Exception {
        // A listener that never accepts, with a backlog of one: once it is full, the kernel drops
        // further connection requests and connect() waits, as with a host that does not answer.
        try (ServerSocket deaf = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            List<Socket> filling = new ArrayList<>();
            String resource = "TCPIP::127.0.0.1::" + deaf.getLocalPort() + "::SOCKET";
            try {
                IoTimeoutException timeout = null;
                for (int i = 0; i < 10 && timeout == null; i++) {
                    long start = System.nanoTime();
                    try {
                        open(resource, Duration.ofMillis(200)).close();
                        filling.add(new Socket("127.0.0.1", deaf.getLocalPort())); // fill the backlog faster
                    } catch (IoTimeoutException e) {
                        timeout = e;
                        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                        assertTrue(ms >= 190 && ms < 2000, "gave up after the open timeout: " + ms + " ms");
                    }
                }
                assertTrue(timeout != null, "the backlog filled up");
                assertTrue(timeout.getMessage().contains(resource.replace("TCPIP::", "TCPIP0::"))
                        && timeout.getMessage().contains("200 ms"), timeout.getMessage());
            } finally {
                for (Socket s : filling) {
                    s.close();
                }
            }
        }
    }

    @Test
    void peerClosingMidStepIsALostConnectionAtOnce() throws Exception {
        CountDownLatch executing = new CountDownLatch(1);
        try (SimServer server = SimServer.builder("SMW200A").settings(SimSettings.defaults()
                .withProcessingDelay(Duration.ofSeconds(3))).onMessage(m -> executing.countDown()).start();
                Connection c = open(server.resource(), IO)) {
            CompletableFuture<Throwable> step = failureOf(() -> Steps.query(c, "*IDN?", Duration.ofSeconds(20)));
            assertTrue(executing.await(10, TimeUnit.SECONDS));
            long start = System.nanoTime();
            server.dropConnections(false);
            Throwable failure = step.get(10, TimeUnit.SECONDS);
            assertInstanceOf(ConnectionLostException.class, failure);
            assertTrue(failure.getMessage().contains("peer closed"), failure.getMessage());
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) < 2000, "long before the I/O timeout");
        }
    }

    @Test
    void peerResettingMidStepIsALostConnection() throws Exception {
        CountDownLatch executing = new CountDownLatch(1);
        try (SimServer server = SimServer.builder("SMW200A").settings(SimSettings.defaults()
                .withProcessingDelay(Duration.ofSeconds(3))).onMessage(m -> executing.countDown()).start();
                Connection c = open(server.resource(), IO)) {
            CompletableFuture<Throwable> step = failureOf(() -> Steps.query(c, "*IDN?", Duration.ofSeconds(20)));
            assertTrue(executing.await(10, TimeUnit.SECONDS));
            server.dropConnections(true);
            Throwable failure = step.get(10, TimeUnit.SECONDS);
            assertInstanceOf(ConnectionLostException.class, failure);
            assertTrue(failure.getMessage().contains("peer reset"), failure.getMessage());
            assertThrows(ConnectionLostException.class, () -> Steps.query(c, "*IDN?", IO), "stays lost");
        }
    }

    @Test
    void aPeerThatClosedBetweenStepsFailsTheNextWriteInsteadOfSwallowingIt() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").start(); Connection c = open(server.resource(), IO)) {
            // (a write probes the link when nothing has arrived for a while, as before the first step)
            assertTrue(server.awaitOpenConnections(1, Duration.ofSeconds(10)));
            server.dropConnections(false);
            assertTrue(server.awaitOpenConnections(0, Duration.ofSeconds(10)));
            ConnectionLostException e = assertThrows(ConnectionLostException.class,
                    () -> Steps.write(c, "OUTP ON", IO));
            assertTrue(e.getMessage().contains("peer closed"), e.getMessage());
        }
    }

    @Test
    void silenceIsATimeoutWithinTheIoTimeout() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").settings(SimSettings.defaults()
                .withProcessingDelay(Duration.ofSeconds(2))).start(); Connection c = open(server.resource(), IO)) {
            Steps.write(c, "*IDN?", IO);
            long start = System.nanoTime();
            IoTimeoutException e = assertThrows(IoTimeoutException.class,
                    () -> c.read(ByteBuffer.allocate(64), Duration.ofMillis(200)));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(ms >= 195 && ms < 1000, "timed out after " + ms + " ms");
            assertEquals(Duration.ofMillis(200), e.timeout());
            assertTrue(e.getMessage().contains(server.resource().replace("TCPIP::", "TCPIP0::"))
                    && e.getMessage().contains("no answer within 200 ms"), e.getMessage());
        }
    }

    @Test
    void aPeerThatStopsReadingCutsTheWriteShortAtItsTimeoutAndTheLinkIsClosed() throws Exception {
        try (RawPeer peer = new RawPeer(); Connection c = open(peer.resource(""), IO)) {
            peer.accept(); // and never reads
            byte[] huge = new byte[64 << 20];
            Arrays.fill(huge, (byte) 'x');
            long start = System.nanoTime();
            ConnectionLostException e = assertThrows(ConnectionLostException.class,
                    () -> c.write(ByteBuffer.wrap(huge), true, Duration.ofMillis(300)));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(ms >= 295 && ms < 3000, "timed out after " + ms + " ms");
            assertTrue(e.getMessage().contains("did not accept the rest within 300 ms")
                    && e.getMessage().contains("cut short"), e.getMessage());
        }
    }

    @Test
    void closeFromAnotherThreadWakesABlockedRead() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").start()) {
            Connection c = open(server.resource(), IO);
            Thread[] reader = new Thread[1];
            CompletableFuture<Throwable> blocked = failureOf(() -> {
                reader[0] = Thread.currentThread();
                return c.read(ByteBuffer.allocate(64), Duration.ofSeconds(60)); // nothing was asked
            });
            awaitSelecting(reader);
            long start = System.nanoTime();
            c.close();
            Throwable failure = blocked.get(10, TimeUnit.SECONDS);
            assertInstanceOf(ConnectionLostException.class, failure);
            assertTrue(failure.getMessage().contains("closed by its owner"), failure.getMessage());
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) < 1000, "woken at once");
            assertTrue(server.awaitOpenConnections(0, Duration.ofSeconds(10)), "socket closed");
            assertEquals(0, transport.openConnections());
            assertThrows(ConnectionLostException.class, () -> Steps.write(c, "*IDN?", IO));
        }
    }

    @Test
    void deactivatingTheTransportWakesBlockedCallersAndClosesEverySocket() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").start()) {
            Connection a = open(server.resource(), IO);
            Connection b = open(server.resource(), IO);
            assertTrue(server.awaitOpenConnections(2, Duration.ofSeconds(10)));
            Thread[] reader = new Thread[1];
            CompletableFuture<Throwable> blocked = failureOf(() -> {
                reader[0] = Thread.currentThread();
                return a.read(ByteBuffer.allocate(64), Duration.ofSeconds(60));
            });
            awaitSelecting(reader);
            transport.deactivate();
            Throwable failure = blocked.get(10, TimeUnit.SECONDS);
            assertInstanceOf(ConnectionLostException.class, failure);
            assertTrue(failure.getMessage().contains("socket transport stopped"), failure.getMessage());
            assertThrows(ConnectionLostException.class, () -> Steps.query(b, "*IDN?", IO));
            assertEquals(0, transport.openConnections());
            assertTrue(server.awaitOpenConnections(0, Duration.ofSeconds(10)), "no socket left");
            assertThrows(ConnectionLostException.class, () -> open(server.resource(), IO), "a stopped transport opens nothing");
        }
    }

    @Test
    void badOptionsFailTheOpenNamingTheOption() {
        LabHalException e = assertThrows(LabHalException.class,
                () -> open("TCPIP::127.0.0.1::5025::SOCKET?read_terminator=lf", IO));
        assertTrue(e.getMessage().contains("read_terminator") && e.getMessage().contains("read_termination"),
                e.getMessage());
        e = assertThrows(LabHalException.class, () -> open("TCPIP::127.0.0.1::5025::SOCKET?read_termination=nl", IO));
        assertTrue(e.getMessage().contains("read_termination=nl") && e.getMessage().contains("lf, crlf, cr or none"),
                e.getMessage());
        e = assertThrows(LabHalException.class, () -> open("TCPIP::127.0.0.1::5025::SOCKET?drain_ms=0", IO));
        assertTrue(e.getMessage().contains("drain_ms=0"), e.getMessage());
        e = assertThrows(LabHalException.class, () -> open("TCPIP::127.0.0.1::5025::SOCKET?reconnect=maybe", IO));
        assertTrue(e.getMessage().contains("reconnect=maybe"), e.getMessage());
        e = assertThrows(LabHalException.class, () -> transport.open(ResourceAddress.parse("SIM::SMW200A::INSTR"), IO));
        assertTrue(e.getMessage().contains("SIM::SMW200A::0::INSTR"), e.getMessage());
    }

    /** A step that must fail: completes with its exception. */
    interface Step {
        Object run() throws Exception;
    }

    static CompletableFuture<Throwable> failureOf(Step step) {
        CompletableFuture<Throwable> failure = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                Object result = step.run();
                failure.completeExceptionally(new AssertionError("the step succeeded: " + result));
            } catch (Throwable t) {
                failure.complete(t);
            }
        }, "step");
        thread.start();
        return failure;
    }

    /** Waits until the thread is inside the selector, i.e. really blocked in the read. */
    static void awaitSelecting(Thread[] thread) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (thread[0] == null || Arrays.stream(thread[0].getStackTrace())
                .noneMatch(frame -> frame.getMethodName().startsWith("select")
                        || frame.getMethodName().equals("doSelect"))) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the reader never blocked");
            }
            Thread.sleep(1);
        }
    }
}
