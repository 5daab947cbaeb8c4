package org.labhal.transport.hislip.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.transport.hislip.internal.Links.query;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.transport.Uninterruptibly;
import org.labhal.transport.hislip.HislipLink;
import org.labhal.transport.hislip.HislipLink.LockKind;
import org.labhal.transport.hislip.HislipLockException;
import org.labhal.transport.hislip.server.HislipServer;

/**
 * The instrument-side lock never outlives what the caller was told, whatever the interrupt flag says
 * and however large the timeout (issue 10, defects 1, 7 and 8, against the simulator, which enforces
 * locks). After each case a second client must take the lock at once.
 */
class HislipLockReleaseTest {
    private static final Duration IO = Duration.ofSeconds(5);
    /** What a bounded call may take beyond its timeout on a loaded machine. */
    private static final long GRACE_MS = 2_000;

    private final HislipTransportFactory factory = new HislipTransportFactory();
    private HislipServer server;

    @BeforeEach
    void start() throws Exception {
        server = HislipServer.builder("SMW200A").start();
    }

    @AfterEach
    void stop() {
        Thread.interrupted(); // a failed assertion must not leave the flag to the next test
        factory.deactivate();
        server.close();
    }

    private HislipLink open() throws LabHalException {
        return (HislipLink) factory.open(ResourceAddress.parse(server.resource()), IO);
    }

    /** Another client takes the exclusive lock without waiting, and gives it back. */
    private void assertInstrumentLockFree() throws LabHalException {
        HislipLink other = open();
        other.lock("", Duration.ZERO);
        assertEquals(LockKind.EXCLUSIVE, other.unlock(IO));
        other.close();
    }

    /** Runs a release path with the interrupt flag set; it must complete and leave the flag set. */
    private static void onAnInterruptedThread(Uninterruptibly.Action<LabHalException> release) throws LabHalException {
        Thread.currentThread().interrupt();
        try {
            release.run();
            assertTrue(Thread.currentThread().isInterrupted(), "the interrupt is still reported");
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void anUnlockOnAnInterruptedThreadStillReleasesTheInstrumentLock() throws Exception {
        HislipLink a = open();
        a.lockInstrument(IO, null);

        onAnInterruptedThread(() -> a.unlockInstrument(IO));
        assertInstrumentLockFree();
        assertEquals("a\n", query(a, "SIM:ECHO? a", IO), "the link goes on");
    }

    @Test
    void aDeviceClearOnAnInterruptedThreadStillResynchronises() throws Exception {
        HislipLink a = open();
        Links.send(a, "SIM:ECHO? stale", IO);

        onAnInterruptedThread(() -> a.clear(IO));
        assertEquals("fresh\n", query(a, "SIM:ECHO? fresh", IO), "the stale answer was cleared");
    }

    /**
     * An interrupt while the instrument makes the request wait: the call ends at once and the request
     * can never be granted to a link nobody uses (the link closes, and the instrument drops it).
     */
    @Test
    void anInterruptWhileALockRequestWaitsLeavesNoLockBehind() throws Exception {
        HislipLink holder = open();
        HislipLink waiter = open();
        holder.lock("", IO);
        CompletableFuture<Throwable> failure = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                waiter.lockInstrument(Duration.ofSeconds(60), null);
                failure.complete(new AssertionError("the lock was granted"));
            } catch (Throwable e) {
                failure.complete(e);
            }
        }, "waiting-for-the-lock");
        t.start();
        while (!((HislipConnection) waiter).asyncRequestInProgress()) {
            Thread.onSpinWait();
        }
        t.interrupt();

        assertInstanceOf(StepInterruptedException.class, failure.get(GRACE_MS, TimeUnit.MILLISECONDS));
        assertEquals(LockKind.EXCLUSIVE, holder.unlock(IO));
        assertInstrumentLockFree();
    }

    /** The largest Duration used to throw ArithmeticException from an unguarded {@code toMillis()}. */
    @ParameterizedTest
    @ValueSource(longs = {10_000_000L * 86_400, Long.MAX_VALUE})
    void aHugeLockTimeoutSaturates(long seconds) throws Exception {
        Duration huge = Duration.ofSeconds(seconds);
        HislipLink a = open();
        a.lockInstrument(huge, null);
        assertEquals(LockKind.EXCLUSIVE, a.unlock(huge));
        assertEquals("ok\n", query(a, "SIM:ECHO? ok", huge));
        a.lockInstrument(huge, "key");
        assertEquals(LockKind.SHARED, a.unlock(huge));
        assertInstrumentLockFree();
    }

    /** The simulator lets a request wait its whole timeout: the call ends within it and says so. */
    @Test
    void aLockHeldElsewhereFailsWithinTheCallersTimeoutSayingHowLongItWaited() throws Exception {
        HislipLink holder = open();
        HislipLink other = open();
        holder.lock("", IO);

        long start = System.nanoTime();
        HislipLockException e = assertThrows(HislipLockException.class,
                () -> other.lockInstrument(Duration.ofMillis(800), null));
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertTrue(tookMs < 800 + GRACE_MS, "took " + tookMs + " ms");
        assertEquals(HislipLockException.Reason.HELD_ELSEWHERE, e.reason());
        assertTrue(e.getMessage().contains("waited"), e.getMessage());
        assertTrue(e.getMessage().contains("another client holds the exclusive lock"), e.getMessage());
        assertFalse(e.getMessage().contains("at once"), e.getMessage());
        assertEquals(LockKind.EXCLUSIVE, holder.unlock(IO));
        assertInstrumentLockFree();
    }
}
