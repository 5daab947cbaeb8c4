package org.labhal.itest.lan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionClosedException;
import org.labhal.api.SessionFactory;
import org.labhal.api.SessionOptions;
import org.labhal.api.TransportKind;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.LockPolicy;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * The scenarios every LAN instrument transport must pass in a real framework, run by one concrete
 * class per transport: that class injects the services and starts its simulator server.
 */
abstract class LanTransportScenarios {
    private static final Duration LONG = Duration.ofSeconds(10);
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

    /**
     * @return how long after a link is dropped mid-read the instrument may still hold its lock: until it
     *         notices the link is gone
     */
    abstract Duration instrumentLockOutlivesADroppedLinkBy();

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
                    Lease lease = again.lockInstrument(instrumentLockOutlivesADroppedLinkBy())) {
                assertEquals("back", again.query("SIM:ECHO? back"), "the instrument lock went with the old link");
            }
        } finally {
            reader.close();
        }
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
