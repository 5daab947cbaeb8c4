package org.labhal.api.internal.lock;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Validate;
import org.labhal.api.dto.LockInfo;
import org.labhal.api.lock.DeadlockException;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.LockTimeoutException;
import org.labhal.api.lock.Priority;
import org.labhal.api.lock.SessionLock;

/**
 * The operations Lincheck's model checker runs concurrently against a lock (see
 * {@link LockModelCheckTest}). Every way of taking the lock guards the same plain, non-atomic state:
 * <ul>
 * <li>{@code counter}: {@link #increment()} and {@link #incrementReentrant()} return its new value,
 * so Lincheck's linearizability check holds only if they never overlap (a sequential counter
 * never returns the same value twice nor skips one);</li>
 * <li>{@code occupants}: every critical section, whatever path took the lock, counts itself in and
 * out and fails at once if someone else is inside;</li>
 * <li>per-lock acquisition counts, compared with the lock's own {@code info()} at the end.</li>
 * </ul>
 * Operations whose outcome legitimately depends on timing (try-acquire, zero timeout, deadlock
 * refusal) return nothing, so linearizability cannot demand a sequential outcome from them; they
 * are checked through the shared state above and by {@link #lockIsFreeAndCountersAgree()}.
 * <p>
 * Waits are unbounded or zero: the model checker freezes {@code System.nanoTime()} and lets parked
 * threads wake spuriously, so a timed wait that has to wait becomes a spin that can never expire,
 * and Lincheck reports it as a livelock. Expiry after a wait is covered by the stress test in
 * {@link LockModelCheckTest} instead.
 */
public abstract class LockModelOperations {
    /** The lock that guards {@link #counter} and {@link #occupants}. */
    protected final SessionLock lock;

    private int counter; // guarded by lock
    private int occupants; // guarded by lock: more than one inside is the failure we look for
    /** Successful acquisitions of {@link #lock}, re-entrant ones included; guarded by lock. */
    protected int acquisitions;
    /** Timeouts seen by callers of {@link #lock}, from any thread. */
    protected final AtomicInteger timeoutsSeen = new AtomicInteger();

    protected LockModelOperations(SessionLock lock) {
        this.lock = lock;
    }

    /** Unbounded acquire; the counter must behave like a sequential one. */
    @Operation
    public int increment() throws Exception {
        try (Lease lease = lock.acquire()) {
            acquisitions++;
            return bump();
        }
    }

    /**
     * Re-entry with a zero timeout and with tryAcquire must both succeed for the holder, and closing
     * the nested leases must not release the outer one.
     */
    @Operation
    public int incrementReentrant() throws Exception {
        try (Lease outer = lock.acquire()) {
            acquisitions++;
            int value;
            try (Lease inner = lock.acquire(Duration.ZERO, Priority.URGENT, "nested");
                    Lease innermost = tryAcquireOrFail()) {
                acquisitions += 2;
                value = bump();
            }
            touch();
            return value;
        }
    }

    /** Takes the lock only when it is free; a critical section that leaves the counter as it was. */
    @Operation
    public void touchIfFree() {
        Optional<Lease> lease = lock.tryAcquire("touch");
        if (lease.isPresent()) {
            try (Lease held = lease.get()) {
                acquisitions++;
                touch();
            }
        }
    }

    /** Tries once through the acquire path (the slow path when someone is queued). */
    @Operation
    public void touchWithZeroTimeout() throws Exception {
        try (Lease lease = lock.acquire(Duration.ZERO)) {
            acquisitions++;
            touch();
        } catch (LockTimeoutException expected) {
            timeoutsSeen.incrementAndGet();
        }
    }

    /** After every scenario: nobody holds or waits, nobody is inside, and the counters agree. */
    @Validate
    public void lockIsFreeAndCountersAgree() {
        LockInfo info = lock.info();
        require(info.holder().isEmpty(), "lock still held at the end: " + info.holder());
        require(info.waiters().isEmpty(), "waiters left queued at the end: " + info.waiters());
        require(occupants == 0, "critical section not left cleanly: occupants=" + occupants);
        validateMore(info);
        // Really free: tryAcquire refuses while anyone is (or is still counted as) queued.
        Lease lease = lock.tryAcquire().orElseThrow(() -> new IllegalStateException("free lock refuses tryAcquire"));
        lease.close();
    }

    /** Further end-of-scenario checks for locks that keep counters. */
    protected void validateMore(LockInfo info) {
    }

    /** Enters the critical section of {@link #lock}; call only while holding it. */
    protected final void enter() {
        int inside = occupants;
        occupants = inside + 1;
        if (inside != 0) {
            throw new IllegalStateException("two threads hold lock '" + lock.name() + "' at once");
        }
    }

    protected final void exit() {
        occupants = occupants - 1;
    }

    /** A critical section that leaves the counter unchanged (others must never see the middle). */
    protected final void touch() {
        enter();
        int value = counter;
        counter = value + 1;
        counter = value;
        exit();
    }

    private int bump() {
        enter();
        int value = counter;
        counter = value + 1;
        exit();
        return value + 1;
    }

    private Lease tryAcquireOrFail() {
        return lock.tryAcquire().orElseThrow(() -> new IllegalStateException("re-entrant tryAcquire refused"));
    }

    protected static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalStateException(message);
        }
    }

    /**
     * The lock core under test, plus a second lock from the same service for two-lock scenarios
     * that must end in success or a {@link DeadlockException}, never a hang.
     */
    public static class OnSessionLock extends LockModelOperations {
        private final DefaultLockService service;
        private final SessionLock other;
        private int otherAcquisitions; // guarded by other
        private final AtomicInteger deadlocksSeen = new AtomicInteger();

        public OnSessionLock() {
            this(new DefaultLockService(DefaultLockService.DEFAULT_AGING, LockClock.precise()));
        }

        private OnSessionLock(DefaultLockService service) {
            super(service.newLock("A"));
            this.service = service;
            this.other = service.newLock("B");
        }

        /** Takes A, then B. */
        @Operation
        public void touchBothForward() throws Exception {
            both(lock, other);
        }

        /** Takes B, then A: with {@link #touchBothForward()} on another thread, a deadlock cycle. */
        @Operation
        public void touchBothBackward() throws Exception {
            both(other, lock);
        }

        private void both(SessionLock first, SessionLock second) throws InterruptedException {
            try (Lease outer = first.acquire()) {
                countAcquisition(first);
                try (Lease inner = second.acquire()) {
                    countAcquisition(second);
                    touch();
                } catch (DeadlockException refused) {
                    require(!second.isHeldByCurrentThread(), "holds '" + second.name() + "' after a DeadlockException");
                    require(first.isHeldByCurrentThread(), "lost '" + first.name() + "' on a DeadlockException");
                    deadlocksSeen.incrementAndGet();
                }
            } catch (DeadlockException unexpected) {
                // Nobody holds anything while waiting for the first lock, so no cycle can form there.
                throw new IllegalStateException("waiting for the first lock failed", unexpected);
            }
        }

        private void countAcquisition(SessionLock taken) {
            if (taken == lock) {
                acquisitions++;
            } else {
                otherAcquisitions++;
            }
        }

        @Override
        protected void validateMore(LockInfo info) {
            LockInfo otherInfo = other.info();
            require(otherInfo.holder().isEmpty() && otherInfo.waiters().isEmpty(), "lock B not free: " + otherInfo);
            require(service.graph().waitingThreads() == 0, "wait-for graph still lists waiting threads");
            require(info.acquisitions() == acquisitions,
                    "lock A counted " + info.acquisitions() + " acquisitions, callers saw " + acquisitions);
            require(otherInfo.acquisitions() == otherAcquisitions,
                    "lock B counted " + otherInfo.acquisitions() + " acquisitions, callers saw " + otherAcquisitions);
            require(info.timeouts() == timeoutsSeen.get(),
                    "lock A counted " + info.timeouts() + " timeouts, callers saw " + timeoutsSeen.get());
            require(info.deadlocks() + otherInfo.deadlocks() == deadlocksSeen.get(),
                    "locks counted " + (info.deadlocks() + otherInfo.deadlocks()) + " deadlocks, callers saw "
                            + deadlocksSeen.get());
        }
    }

    /** The control: the same operations on {@link LockModelBrokenLock}, which the checker must reject. */
    public static class OnBrokenLock extends LockModelOperations {
        public OnBrokenLock() {
            super(new LockModelBrokenLock("broken"));
        }
    }
}
