package org.labhal.transport.hislip.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.transport.hislip.server.InstrumentLocks.ERROR;
import static org.labhal.transport.hislip.server.InstrumentLocks.FAILURE;
import static org.labhal.transport.hislip.server.InstrumentLocks.SHARED_RELEASED;
import static org.labhal.transport.hislip.server.InstrumentLocks.SUCCESS;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The simulator's lock table: who gets which lock, and who may operate on the instrument meanwhile. */
class InstrumentLocksTest {
    private static final int A = 1;
    private static final int B = 2;
    private static final int C = 3;
    private final InstrumentLocks locks = new InstrumentLocks();
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        threads.shutdownNow();
    }

    private int lock(int session, String lockString) throws InterruptedException {
        return locks.acquire(session, lockString, 0, () -> false);
    }

    @Test
    void anExclusiveHolderKeepsEveryoneElseOut() throws Exception {
        assertTrue(locks.mayAccess(A) && locks.mayAccess(B), "unlocked: everyone");
        assertEquals(SUCCESS, lock(A, ""));
        assertTrue(locks.mayAccess(A));
        assertFalse(locks.mayAccess(B));
        assertEquals(FAILURE, lock(B, ""));
        assertEquals(FAILURE, lock(B, "k"));
        assertEquals(ERROR, lock(A, ""), "asking again for what one holds");
        assertEquals(ERROR, lock(A, "k"), "the shared lock while holding the exclusive one");
        assertEquals(ERROR, locks.release(B), "releasing what one does not hold");
        assertEquals(SUCCESS, locks.release(A));
        assertTrue(locks.mayAccess(B));
        assertEquals(ERROR, locks.release(A));
    }

    @Test
    void sharersWithTheSameLockStringShareAndKeepOutsidersOut() throws Exception {
        assertEquals(SUCCESS, lock(A, "k"));
        assertEquals(SUCCESS, lock(B, "k"));
        assertEquals(FAILURE, lock(C, "other"));
        assertEquals(FAILURE, lock(C, ""), "an outsider cannot take the exclusive lock over sharers");
        assertTrue(locks.mayAccess(A) && locks.mayAccess(B));
        assertFalse(locks.mayAccess(C));
        assertEquals(2, locks.holders());
        assertFalse(locks.exclusiveHeld());
    }

    @Test
    void aSharerMayTakeTheExclusiveLockOnTopAndThenKeepsTheOtherSharersOut() throws Exception {
        assertEquals(SUCCESS, lock(A, "k"));
        assertEquals(SUCCESS, lock(B, "k"));
        assertEquals(SUCCESS, lock(A, ""));
        assertTrue(locks.exclusiveHeld());
        assertEquals(2, locks.holders(), "A holds both and counts once");
        assertTrue(locks.mayAccess(A));
        assertFalse(locks.mayAccess(B), "a sharer waits while another sharer holds the exclusive lock");
        assertEquals(SUCCESS, locks.release(A), "the exclusive lock goes first");
        assertTrue(locks.mayAccess(B));
        assertEquals(SHARED_RELEASED, locks.release(A));
        assertEquals(1, locks.holders());
    }

    @Test
    void aRequestWaitsForTheReleaseAndIsNeverGrantedToASessionThatWentAway() throws Exception {
        assertEquals(SUCCESS, lock(A, ""));
        CompletableFuture<Integer> b = CompletableFuture.supplyAsync(() -> acquire(B, () -> false), threads);
        AtomicBoolean cGone = new AtomicBoolean();
        CompletableFuture<Integer> c = CompletableFuture.supplyAsync(() -> acquire(C, cGone::get), threads);
        assertThrows(TimeoutException.class, () -> b.get(100, TimeUnit.MILLISECONDS));
        cGone.set(true);
        locks.releaseAll(C); // what the server does when C's session closes
        assertEquals(FAILURE, c.get(10, TimeUnit.SECONDS));
        locks.releaseAll(A); // A's connection dropped
        assertEquals(SUCCESS, b.get(10, TimeUnit.SECONDS));
        assertEquals(1, locks.holders());
    }

    private int acquire(int session, java.util.function.BooleanSupplier gone) {
        try {
            return locks.acquire(session, "", 60_000, gone);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void heldOffOperationsAreCountedAndGoThroughOnReleaseOrCancel() throws Exception {
        assertEquals(SUCCESS, lock(A, ""));
        AtomicBoolean cancelled = new AtomicBoolean();
        CompletableFuture<Boolean> b = CompletableFuture.supplyAsync(() -> await(B, () -> false), threads);
        CompletableFuture<Boolean> c = CompletableFuture.supplyAsync(() -> await(C, cancelled::get), threads);
        locks.awaitHeldOff(null, 2, Duration.ofSeconds(10));
        assertEquals(2, locks.heldOff(HislipServer.HeldOperation.MESSAGE));
        cancelled.set(true);
        locks.wake();
        assertFalse(c.get(10, TimeUnit.SECONDS), "cancelled, e.g. by a device clear");
        assertEquals(SUCCESS, locks.release(A));
        assertTrue(b.get(10, TimeUnit.SECONDS));
        assertEquals(0, locks.heldOff(null));
        TimeoutException e = assertThrows(TimeoutException.class, () -> locks.awaitHeldOff(null, 1, Duration.ofMillis(20)));
        assertTrue(e.getMessage().contains("0 operation(s)"), e.getMessage());
    }

    private boolean await(int session, java.util.function.BooleanSupplier cancelled) {
        try {
            return locks.awaitAccess(session, HislipServer.HeldOperation.MESSAGE, cancelled);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
