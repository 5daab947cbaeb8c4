package org.labhal.transport.socket.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.transport.Connection;

/**
 * Interrupts end every wait of the socket transport at once with {@link StepInterruptedException},
 * keep the interrupt flag set, never spin, and close the link when a message was half sent or half
 * received (issue 10, defect 4).
 */
class SocketInterruptTest {
    private static final Duration IO = Duration.ofSeconds(5);
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private final SocketTransportFactory transport = new SocketTransportFactory();

    @AfterEach
    void stopTransport() {
        Thread.interrupted(); // never leak an interrupt into the next test
        transport.deactivate();
    }

    private Connection open(String resource) throws LabHalException {
        return transport.open(ResourceAddress.parse(resource), IO);
    }

    /** What a step did: its failure, whether the interrupt flag was still set, and its CPU and wall time. */
    private record Outcome(Throwable failure, boolean flagKept, long cpuNanos, long wallNanos) {
        /** The step ended with {@link StepInterruptedException}, the flag still set, without spinning. */
        void assertInterrupted() {
            assertInstanceOf(StepInterruptedException.class, failure, String.valueOf(failure));
            assertTrue(flagKept, "the interrupt flag stays set");
            assertNoSpin();
        }

        void assertNoSpin() {
            assertTrue(cpuNanos < wallNanos / 2 + TimeUnit.MILLISECONDS.toNanos(50),
                    "waited without spinning: " + cpuNanos / 1_000_000 + " ms CPU in " + wallNanos / 1_000_000 + " ms");
        }
    }

    private static Outcome interrupted(SocketFailureTest.Step step) {
        long cpu = THREADS.getCurrentThreadCpuTime();
        long wall = System.nanoTime();
        Throwable failure = null;
        try {
            step.run();
        } catch (Throwable t) {
            failure = t;
        }
        long cpuUsed = THREADS.getCurrentThreadCpuTime() - cpu;
        long wallUsed = System.nanoTime() - wall;
        return new Outcome(failure, Thread.interrupted(), cpuUsed, wallUsed);
    }

    /** Runs {@code step} on a thread of its own and interrupts it once it waits in the selector. */
    private static Outcome interruptWhenBlocked(SocketFailureTest.Step step) throws Exception {
        Thread[] thread = new Thread[1];
        CompletableFuture<Outcome> done = new CompletableFuture<>();
        thread[0] = new Thread(() -> done.complete(interrupted(step)), "interrupted-step");
        thread[0].start();
        SocketFailureTest.awaitSelecting(thread);
        thread[0].interrupt();
        return done.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aReadWithTheInterruptSetEndsAtOnceAndKeepsTheLink() throws Exception {
        try (RawPeer peer = new RawPeer(); Connection c = open(peer.resource(""))) {
            peer.accept();
            Steps.write(c, "SLOW?", IO);
            Thread.currentThread().interrupt();
            Outcome outcome = interrupted(() -> c.read(ByteBuffer.allocate(64), Duration.ofSeconds(2)));
            outcome.assertInterrupted();
            assertTrue(c.isOpen(), "nothing of an answer had arrived: the link is in step");
            // The answer to SLOW? is owed: it is discarded when it comes, the next query gets its own
            peer.receive("SLOW?\n".length());
            Steps.write(c, "NEXT?", IO);
            peer.receive("NEXT?\n".length());
            peer.send("slow\nnext\n");
            assertEquals("next", Steps.read(c, IO));
        }
    }

    @Test
    void aBlockedReadInterruptedFromAnotherThreadEndsAtOnceWithoutSpinning() throws Exception {
        try (RawPeer peer = new RawPeer(); Connection c = open(peer.resource(""))) {
            peer.accept();
            Steps.write(c, "SLOW?", IO);
            Outcome outcome = interruptWhenBlocked(() -> c.read(ByteBuffer.allocate(64), Duration.ofSeconds(30)));
            outcome.assertInterrupted();
            assertTrue(outcome.failure().getMessage().contains(peer.resource("").replace("TCPIP::", "TCPIP0::")),
                    outcome.failure().getMessage());
        }
    }

    @Test
    void aReadInterruptedHalfWayThroughAMessageClosesTheLink() throws Exception {
        try (RawPeer peer = new RawPeer(); Connection c = open(peer.resource(""))) {
            peer.accept();
            Steps.write(c, "LONG?", IO);
            peer.send("PART");
            ByteBuffer into = ByteBuffer.allocate(64);
            assertFalse(c.read(into, IO), "the start of the answer, not its end");
            Thread.currentThread().interrupt();
            Outcome outcome = interrupted(() -> c.read(ByteBuffer.allocate(64), IO));
            outcome.assertInterrupted();
            assertTrue(outcome.failure().getMessage().contains("link was closed"), outcome.failure().getMessage());
            assertFalse(c.isOpen(), "half an answer read: out of step");
            ConnectionLostException later = assertThrows(ConnectionLostException.class, () -> Steps.query(c, "X?", IO));
            assertTrue(later.getMessage().contains("interrupted"), later.getMessage());
        }
    }

    @Test
    void aWriteInterruptedHalfWayClosesTheLinkAndSaysHowMuchWentOut() throws Exception {
        try (RawPeer peer = new RawPeer(); Connection c = open(peer.resource(""))) {
            peer.accept(); // and never reads: the write fills the socket buffers, then waits
            ByteBuffer data = ByteBuffer.wrap(new byte[64 << 20]);
            Outcome outcome = interruptWhenBlocked(() -> {
                c.write(data, true, Duration.ofSeconds(30));
                return null;
            });
            outcome.assertInterrupted();
            assertTrue(data.position() > 0 && data.hasRemaining(), "part went out: " + data.position());
            String message = outcome.failure().getMessage();
            assertTrue(message.contains("after " + data.position() + " of " + (data.capacity() + 1) + " bytes")
                    && message.contains("link was closed"), message);
            assertFalse(c.isOpen());
            assertThrows(ConnectionLostException.class, () -> Steps.write(c, "OUTP ON", IO));
        }
    }

    @Test
    void aLargeWriteWithTheInterruptSetSendsNothingAndKeepsTheLink() throws Exception {
        try (RawPeer peer = new RawPeer(); Connection c = open(peer.resource(""))) {
            peer.accept();
            ByteBuffer data = ByteBuffer.wrap(new byte[64 << 20]);
            Thread.currentThread().interrupt();
            Outcome outcome = interrupted(() -> {
                c.write(data, true, Duration.ofSeconds(2));
                return null;
            });
            outcome.assertInterrupted();
            assertEquals(0, data.position(), "nothing went out");
            assertTrue(c.isOpen());
            Steps.write(c, "OUTP ON", IO);
            assertEquals("OUTP ON\n", peer.receive("OUTP ON\n".length()), "the next message is whole");
        }
    }

    @Test
    void aClearWithTheInterruptSetEndsAtOnceAndKeepsALinkInStep() throws Exception {
        try (RawPeer peer = new RawPeer(); Connection c = open(peer.resource("?drain_ms=3000"))) {
            peer.accept();
            Thread.currentThread().interrupt();
            Outcome outcome = interrupted(() -> {
                c.clear(IO);
                return null;
            });
            outcome.assertInterrupted();
            assertTrue(c.isOpen());
            Steps.write(c, "ECHO?", IO);
            peer.receive("ECHO?\n".length());
            peer.send("echo\n");
            assertEquals("echo", Steps.read(c, IO));
        }
    }

    @Test
    void aConnectWithTheInterruptSetEndsAtOnce() throws Exception {
        // A listener that never accepts, its backlog full: a connect to it waits, as to a host that
        // does not answer. Until the backlog is full a connect may complete without waiting.
        try (ServerSocket deaf = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            ResourceAddress resource = ResourceAddress.parse("TCPIP::127.0.0.1::" + deaf.getLocalPort() + "::SOCKET");
            List<Socket> filling = new ArrayList<>();
            try {
                Outcome outcome = null;
                for (int i = 0; i < 20 && outcome == null; i++) {
                    Thread.currentThread().interrupt();
                    Outcome attempt = interrupted(() -> {
                        transport.open(resource, Duration.ofSeconds(2)).close();
                        return null;
                    });
                    if (attempt.failure() != null) {
                        outcome = attempt;
                        break;
                    }
                    Socket s = new Socket(); // connected without a wait: fill the backlog further
                    filling.add(s);
                    try {
                        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), deaf.getLocalPort()), 200);
                    } catch (SocketTimeoutException full) {
                        // full now
                    }
                }
                assertTrue(outcome != null, "the backlog filled up");
                outcome.assertInterrupted();
                assertEquals(0, transport.openConnections(), "nothing kept");
            } finally {
                for (Socket s : filling) {
                    s.close();
                }
            }
        }
    }
}
