package org.labhal.itest.lan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionClosedException;
import org.labhal.api.SessionFactory;
import org.labhal.api.SessionOptions;
import org.labhal.api.TransportKind;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.LockPolicy;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.TransportFactory;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

/**
 * The scenarios every LAN instrument transport must pass in a real framework, run by one concrete
 * class per transport: that class injects the services and starts its simulator server.
 */
abstract class LanTransportScenarios {
    static final Duration LONG = Duration.ofSeconds(10);
    /** The blocked reader's I/O timeout: far longer than the wake-up the test demands. */
    static final Duration READER_IO = Duration.ofSeconds(8);

    /** @return the injected session factory service */
    abstract SessionFactory sessions();

    /** @return the test bundle's context */
    abstract BundleContext context();

    /** @return the transport's bundle symbolic name */
    abstract String bundleName();

    /** @return the kind of resource the transport serves */
    abstract TransportKind kind();

    /** Starts the simulator server for model SMW200A on loopback; {@link #resource()} reaches it. */
    abstract void startServer() throws Exception;

    /** Stops the simulator server. */
    abstract void stopServer();

    /** @return the resource string of the running simulator */
    abstract String resource();

    /** @return the exception type the transport throws for an instrument-side lock held elsewhere */
    abstract Class<? extends LabHalException> lockHeldElsewhere();

    /** @return the port the simulator listens on: HiSLIP's port, VXI-11's core port */
    abstract int serverPort();

    /** @return the resource string that reaches the simulator through {@code port} on loopback */
    abstract String resourceThrough(int port);

    /**
     * Ends a read in progress on {@code link} from another thread the way the protocol can: HiSLIP
     * sends a device clear, VXI-11 a device_abort on its abort channel (its core channel is busy with
     * the very read). With no read in progress yet it may do nothing, or clear what is pending.
     */
    abstract void endReadFromAnotherThread(Connection link) throws LabHalException;

    /** @return the exception type of a read ended by {@link #endReadFromAnotherThread(Connection)} */
    abstract Class<? extends LabHalException> readEndedFromAnotherThread();

    @BeforeEach
    void start() throws Exception {
        startServer();
        await(() -> sessions().transports().contains(kind()), "the " + kind() + " transport is there");
    }

    @AfterEach
    void stop() throws Exception {
        stopServer();
        Bundle bundle = transportBundle();
        if (bundle.getState() != Bundle.ACTIVE) {
            bundle.start();
        }
    }

    private Bundle transportBundle() {
        return Arrays.stream(context().getBundles()).filter(b -> bundleName().equals(b.getSymbolicName()))
                .findFirst().orElseThrow(() -> new AssertionError(bundleName() + " is not installed"));
    }

    private Session open(LockPolicy policy, Duration io) throws LabHalException {
        return sessions().open(ResourceAddress.parse(resource()),
                SessionOptions.defaults().withLockPolicy(policy).withIoTimeout(io));
    }

    @Test
    void queriesGoThroughTheSessionFactory() throws Exception {
        try (Session session = open(LockPolicy.INDEPENDENT_SESSIONS, LONG)) {
            assertEquals(kind(), session.address().kind());
            assertTrue(session.query("*IDN?").contains("SMW200A"), "identity");
            for (int i = 0; i < 20; i++) {
                assertEquals("Q" + i, session.query("SIM:ECHO? Q" + i), "every answer belongs to its question");
            }
        }
    }

    @Test
    void theInstrumentLockKeepsASecondSessionOutUntilReleased() throws Exception {
        // Independent sessions have session locks of their own: only the instrument-side lock separates them.
        try (Session a = open(LockPolicy.INDEPENDENT_SESSIONS, LONG);
                Session b = open(LockPolicy.INDEPENDENT_SESSIONS, LONG)) {
            try (Lease lease = a.lockInstrument(LONG)) {
                assertEquals("mine", a.query("SIM:ECHO? mine"));
                LabHalException refused = assertThrows(LabHalException.class,
                        () -> b.lockInstrument(Duration.ofMillis(300)));
                assertInstanceOf(lockHeldElsewhere(), refused, String.valueOf(refused));
                assertTrue(b.lock().info().holder().isEmpty(), "b's session lock was given back");
            }
            try (Lease lease = b.lockInstrument(LONG)) {
                assertEquals("yours", b.query("SIM:ECHO? yours"));
            }
        }
    }

    @Test
    void stoppingTheBundleUnderABlockedReadFailsItAndReleasesBothLocks() throws Exception {
        Session reader = open(LockPolicy.INDEPENDENT_SESSIONS, READER_IO);
        try {
            assertEquals("ready", reader.query("SIM:ECHO? ready"));
            CountDownLatch locked = new CountDownLatch(1);
            CompletableFuture<Throwable> failure = new CompletableFuture<>();
            Thread thread = new Thread(() -> {
                try (Lease lease = reader.lockInstrument(LONG)) {
                    locked.countDown();
                    failure.complete(new AssertionError("the read returned: " + reader.read())); // nothing asked
                } catch (Throwable t) {
                    failure.complete(t);
                }
            }, "blocked-" + kind() + "-reader");
            thread.start();
            assertTrue(locked.await(10, TimeUnit.SECONDS), "the reader holds both locks");
            // The read step re-enters the lease's session lock: two holds mean the reader is in its read.
            await(() -> reader.lock().info().holder().map(h -> h.holdCount() == 2).orElse(false) || failure.isDone(),
                    "the reader is in its read");
            long start = System.nanoTime();
            transportBundle().stop();
            Throwable thrown = failure.get(10, TimeUnit.SECONDS);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertInstanceOf(SessionClosedException.class, thrown, String.valueOf(thrown));
            assertTrue(thrown.getMessage().contains("transport"), thrown.getMessage());
            assertTrue(ms < 4_000, "woke after " + ms + " ms, not after the 8 s I/O timeout");
            thread.join(10_000);
            assertTrue(reader.lock().info().holder().isEmpty(), "the session lock was released");
            assertFalse(reader.isOpen());

            transportBundle().start();
            await(() -> sessions().transports().contains(kind()), "the " + kind() + " transport is back");
            try (Session again = open(LockPolicy.INDEPENDENT_SESSIONS, LONG);
                    Lease lease = again.lockInstrument(Duration.ZERO)) { // closing the link freed its lock at once
                assertEquals("back", again.query("SIM:ECHO? back"), "the instrument lock went with the old link");
            }
        } finally {
            reader.close();
        }
    }

    /**
     * A read waits for an answer that does not come (nothing was asked); another thread ends it (device
     * clear, device_abort) long before its I/O timeout. The link goes on: a device clear drops an
     * answer nobody read, and the next question gets its own answer.
     */
    @Test
    void aReadEndedFromAnotherThreadLeavesTheLinkAnsweringItsOwnQuestions() throws Exception {
        try (Connection link = transportConnection()) {
            CompletableFuture<Throwable> failure = new CompletableFuture<>();
            Thread reader = new Thread(() -> {
                try {
                    failure.complete(new AssertionError("the read returned: " + receive(link, LONG)));
                } catch (Throwable t) {
                    failure.complete(t);
                }
            }, "waiting-" + kind() + "-reader");
            reader.start();
            // Until the read is under way an attempt may end nothing: repeat until the reader is done.
            long deadline = System.nanoTime() + LONG.toNanos();
            int attempts = 0;
            while (!failure.isDone() && System.nanoTime() < deadline) {
                endReadFromAnotherThread(link);
                attempts++;
                Thread.sleep(20);
            }
            Throwable thrown = failure.get(LONG.toSeconds(), TimeUnit.SECONDS);
            assertInstanceOf(readEndedFromAnotherThread(), thrown, thrown + " after " + attempts + " attempts");
            assertTrue(thrown.getMessage().contains(ResourceAddress.parse(resource()).canonical()),
                    "names the instrument: " + thrown);
            reader.join(10_000);

            send(link, "SIM:ECHO? unread");
            link.clear(LONG);
            send(link, "SIM:ECHO? mine");
            assertEquals("mine\n", receive(link, LONG), "the unread answer went with the clear");
        }
    }

    /**
     * The instrument dies after sending 1000 bytes of a 100 kB answer: the query fails as a lost
     * connection naming the instrument (not a timeout, not a short answer), the session lock is free,
     * and the next step fails as clearly.
     */
    @Test
    void anInstrumentDyingMidAnswerFailsTheQueryAsALostConnection() throws Exception {
        try (DyingPeer peer = DyingPeer.relayTo(serverPort());
                Session session = sessions().open(ResourceAddress.parse(resourceThrough(peer.port())), SessionOptions
                        .defaults().withLockPolicy(LockPolicy.INDEPENDENT_SESSIONS).withIoTimeout(LONG))) {
            assertEquals("alive", session.query("SIM:ECHO? alive"));
            String token = "x".repeat(100_000);
            peer.dieAfter(1000);

            LabHalException lost = assertThrows(LabHalException.class, () -> session.query("SIM:ECHO? " + token));
            assertInstanceOf(ConnectionLostException.class, lost, String.valueOf(lost));
            assertTrue(peer.awaitCut(Duration.ZERO), "the relay cut the answer");
            assertTrue(lost.getMessage().contains(ResourceAddress.parse(resourceThrough(peer.port())).canonical()),
                    "names the instrument: " + lost);
            assertTrue(session.lock().info().holder().isEmpty(), "the session lock was released");
            LabHalException next = assertThrows(LabHalException.class, () -> session.query("SIM:ECHO? after"));
            assertFalse(next instanceof IoTimeoutException, "the next step does not wait for a dead link: " + next);
        }
    }

    /** Opens a link of this transport directly from its {@link TransportFactory} service, below any session. */
    Connection transportConnection() throws Exception {
        ServiceReference<TransportFactory> reference = context().getServiceReferences(TransportFactory.class,
                "(" + TransportFactory.KINDS_PROPERTY + "=" + kind() + ")").stream().findFirst()
                .orElseThrow(() -> new AssertionError("no transport for " + kind()));
        TransportFactory factory = context().getService(reference);
        try {
            return factory.open(ResourceAddress.parse(resource()), LONG);
        } finally {
            context().ungetService(reference);
        }
    }

    static void send(Connection link, String message) throws LabHalException {
        link.write(ByteBuffer.wrap(message.getBytes(StandardCharsets.US_ASCII)), true, LONG);
    }

    static String receive(Connection link, Duration timeout) throws LabHalException {
        ByteBuffer into = ByteBuffer.allocate(4096);
        while (!link.read(into, timeout)) {
            if (!into.hasRemaining()) {
                throw new AssertionError("an answer longer than " + into.capacity() + " bytes");
            }
        }
        return new String(into.array(), 0, into.position(), StandardCharsets.US_ASCII);
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(10);
        }
    }
}
