package org.labhal.api.internal.lock;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

import org.labhal.api.dto.HolderInfo;
import org.labhal.api.dto.LockInfo;
import org.labhal.api.dto.WaiterInfo;
import org.labhal.api.lock.DeadlockException;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.LockPolicy;
import org.labhal.api.lock.LockTimeoutException;
import org.labhal.api.lock.Priority;
import org.labhal.api.lock.SessionLock;

/**
 * The lock core.
 * <p>
 * The holder is one volatile reference to an immutable-once-published {@link Holding} (thread,
 * activity, since), taken by CAS when the lock is free and nobody is queued. Everything else —
 * queueing, priority order, aging, timeouts, interrupts, deadlock checks — lives in the slow path
 * under {@link #queueLock}. A release hands the lock directly to the chosen waiter (it never
 * becomes free in between), which is what keeps the order fair: late arrivals cannot barge past
 * the queue.
 * <p>
 * Counters that only the holder updates are plain fields: the volatile hand-over of
 * {@link #holder} orders them. Counters updated by waiters that fail are guarded by the queue lock.
 */
public final class DefaultSessionLock implements SessionLock {
    private static final VarHandle HOLDER;

    static {
        try {
            HOLDER = MethodHandles.lookup().findVarHandle(DefaultSessionLock.class, "holder", Holding.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long id;
    private final String name;
    private final String domainKey;
    private final LockPolicy policy;
    private final WaitGraph graph;
    private final LockClock clock;
    private final long agingNanos;

    private volatile Holding holder;
    /** Threads queued or about to queue; read without the queue lock by releasing holders. */
    private volatile int waiting;

    private final ReentrantLock queueLock = new ReentrantLock();
    private final ArrayList<Waiter> waiters = new ArrayList<>(); // guarded by queueLock
    private long sequence; // guarded by queueLock
    private long timeouts; // guarded by queueLock
    private long deadlocks; // guarded by queueLock

    // Written only by the holder; published to the next holder through the volatile holder field.
    private long acquisitions;
    private long contended;
    private long longestWaitNanos;
    private long longestHoldNanos;

    /**
     * @param id a number unique within the lock service
     * @param name the name shown in diagnostics and exceptions
     * @param domainKey the lock domain it guards
     * @param policy the policy it was handed out under
     * @param graph the wait-for graph shared by every lock that may take part in one deadlock
     * @param clock the time base of hold bookkeeping
     * @param aging how long a waiter waits for its priority to rise one level
     */
    public DefaultSessionLock(long id, String name, String domainKey, LockPolicy policy, WaitGraph graph,
            LockClock clock, Duration aging) {
        this.id = id;
        this.name = Objects.requireNonNull(name, "name");
        this.domainKey = Objects.requireNonNull(domainKey, "domainKey");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.graph = Objects.requireNonNull(graph, "graph");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.agingNanos = Math.max(1, aging.toNanos());
    }

    @Override
    public String name() {
        return name;
    }

    /** @return the number that identifies this lock within its service */
    public long id() {
        return id;
    }

    /** @return the lock domain this lock guards */
    public String domainKey() {
        return domainKey;
    }

    @Override
    public Lease acquire() throws DeadlockException, InterruptedException {
        try {
            return acquire(Long.MAX_VALUE, Priority.NORMAL, "", true);
        } catch (LockTimeoutException impossible) {
            throw new AssertionError("an unbounded wait timed out", impossible);
        }
    }

    @Override
    public Lease acquire(Duration timeout) throws LockTimeoutException, DeadlockException, InterruptedException {
        return acquire(timeout, Priority.NORMAL, "");
    }

    @Override
    public Lease acquire(Duration timeout, Priority priority, String activity)
            throws LockTimeoutException, DeadlockException, InterruptedException {
        Objects.requireNonNull(priority, "priority");
        return acquire(saturatedNanos(timeout), priority, activity == null ? "" : activity, false);
    }

    @Override
    public Optional<Lease> tryAcquire() {
        return tryAcquire("");
    }

    @Override
    public Optional<Lease> tryAcquire(String activity) {
        Thread me = Thread.currentThread();
        Holding current = holder;
        if (current != null) {
            return current.thread == me ? Optional.of(reenter(current)) : Optional.empty();
        }
        if (waiting != 0) {
            return Optional.empty(); // fair: the queue goes first
        }
        Holding mine = new Holding(this, me, activity == null ? "" : activity);
        mine.since = clock.nanoTime();
        if (HOLDER.compareAndSet(this, null, mine)) {
            acquisitions++;
            return Optional.of(mine);
        }
        return Optional.empty();
    }

    @Override
    public boolean isHeldByCurrentThread() {
        Holding current = holder;
        return current != null && current.thread == Thread.currentThread();
    }

    private Lease acquire(long timeoutNanos, Priority priority, String activity, boolean unbounded)
            throws LockTimeoutException, DeadlockException, InterruptedException {
        Thread me = Thread.currentThread();
        Holding current = holder;
        if (current != null && current.thread == me) {
            return reenter(current);
        }
        if (Thread.interrupted()) {
            throw new InterruptedException("interrupted before waiting for lock '" + name + "'");
        }
        if (current == null && waiting == 0) {
            Holding mine = new Holding(this, me, activity);
            mine.since = clock.nanoTime();
            if (HOLDER.compareAndSet(this, null, mine)) {
                acquisitions++;
                return mine;
            }
        }
        return acquireSlowly(me, timeoutNanos, priority, activity, unbounded);
    }

    private Lease reenter(Holding current) {
        current.holds++;
        acquisitions++;
        return new NestedLease(current);
    }

    private Lease acquireSlowly(Thread me, long timeoutNanos, Priority priority, String activity,
            boolean unbounded) throws LockTimeoutException, DeadlockException, InterruptedException {
        long start = System.nanoTime();
        Waiter waiter = new Waiter(new Holding(this, me, activity), priority, start);
        queueLock.lock();
        try {
            waiting++; // before looking at the holder: a releasing holder then sees us (Dekker)
            if (waiters.isEmpty()) {
                waiter.holding.since = clock.nanoTime();
                if (HOLDER.compareAndSet(this, null, waiter.holding)) {
                    waiting--;
                    acquisitions++;
                    return waiter.holding;
                }
            }
            if (!unbounded && timeoutNanos <= 0) {
                waiting--;
                timeouts++;
                throw timeout(timeoutNanos);
            }
            waiter.sequence = sequence++;
            waiters.add(waiter);
        } finally {
            queueLock.unlock();
        }

        DeadlockException cycle = graph.startWaiting(me, this);
        if (cycle != null && !cancel(waiter)) {
            cycle = null; // the lock was handed to us meanwhile: no deadlock any more
        }
        if (cycle != null) {
            graph.stopWaiting(me);
            countDeadlock();
            throw cycle;
        }
        try {
            long deadline = unbounded ? 0 : start + timeoutNanos;
            while (!waiter.granted) {
                if (Thread.interrupted()) {
                    graph.stopWaiting(me); // leaving: no edge for others' deadlock checks to walk
                    if (cancel(waiter)) {
                        throw new InterruptedException("interrupted while waiting for lock '" + name + "'");
                    }
                    // Handed over at the same moment: give it on and still report the interrupt.
                    release(waiter.holding);
                    throw new InterruptedException("interrupted while waiting for lock '" + name + "'");
                }
                if (unbounded) {
                    LockSupport.park(this);
                } else {
                    long remaining = deadline - System.nanoTime();
                    if (remaining <= 0) {
                        graph.stopWaiting(me);
                        if (cancel(waiter)) {
                            throw timeoutAfterWait(timeoutNanos);
                        }
                        break; // granted just in time
                    }
                    LockSupport.parkNanos(this, remaining);
                }
            }
        } finally {
            graph.stopWaiting(me);
        }
        long waited = System.nanoTime() - start;
        acquisitions++;
        contended++;
        if (waited > longestWaitNanos) {
            longestWaitNanos = waited;
        }
        return waiter.holding;
    }

    /** Removes a waiter that gives up; false when it was granted the lock first. */
    private boolean cancel(Waiter waiter) {
        queueLock.lock();
        try {
            if (waiter.granted) {
                return false;
            }
            waiters.remove(waiter);
            waiting--;
            return true;
        } finally {
            queueLock.unlock();
        }
    }

    private void countDeadlock() {
        queueLock.lock();
        try {
            deadlocks++;
        } finally {
            queueLock.unlock();
        }
    }

    private LockTimeoutException timeoutAfterWait(long timeoutNanos) {
        queueLock.lock();
        try {
            timeouts++;
            return timeout(timeoutNanos);
        } finally {
            queueLock.unlock();
        }
    }

    private LockTimeoutException timeout(long timeoutNanos) {
        Holding current = holder;
        HolderInfo info = current == null ? null : current.snapshot(clock.nanoTime());
        return new LockTimeoutException(name, Duration.ofNanos(Math.max(0, timeoutNanos)), info, waiters.size());
    }

    /** Gives one hold back; called by the holding thread through its lease. */
    void release(Holding holding) {
        if (--holding.holds > 0) {
            return;
        }
        long held = clock.nanoTime() - holding.since;
        if (held > longestHoldNanos) {
            longestHoldNanos = held;
        }
        HOLDER.setVolatile(this, null);
        if (waiting != 0) {
            handOver();
        }
    }

    private void handOver() {
        queueLock.lock();
        try {
            if (holder != null || waiters.isEmpty()) {
                return; // someone took it (their release hands over) or the waiter gave up
            }
            Waiter next = next(System.nanoTime());
            next.holding.since = clock.nanoTime();
            if (HOLDER.compareAndSet(this, null, next.holding)) {
                waiters.remove(next);
                waiting--;
                next.granted = true;
                LockSupport.unpark(next.holding.thread);
            }
        } finally {
            queueLock.unlock();
        }
    }

    /** The waiter with the highest aged priority, the earliest among equals. */
    private Waiter next(long now) {
        Waiter best = null;
        long bestRank = Long.MIN_VALUE;
        for (Waiter candidate : waiters) {
            long rank = rank(candidate, now);
            if (rank > bestRank) { // strict: among equals the earlier (lower index) stays
                best = candidate;
                bestRank = rank;
            }
        }
        return best;
    }

    /**
     * The aged rank: waiting raises LOW, NORMAL and HIGH one level per aging interval up to HIGH, so
     * none of them starves; URGENT stays above everything aged.
     */
    private long rank(Waiter waiter, long now) {
        if (waiter.priority == Priority.URGENT) {
            return Priority.URGENT.rank();
        }
        return Math.min(Priority.HIGH.rank(), waiter.priority.rank() + (now - waiter.since) / agingNanos);
    }

    @Override
    public LockInfo info() {
        long now = System.nanoTime();
        long clockNow = clock.nanoTime();
        Holding current = holder;
        List<WaiterInfo> queued;
        long timeoutCount;
        long deadlockCount;
        queueLock.lock();
        try {
            List<Waiter> ordered = new ArrayList<>(waiters);
            ordered.sort(Comparator.comparingLong((Waiter w) -> -rank(w, now))
                    .thenComparingLong(w -> w.sequence));
            queued = new ArrayList<>(ordered.size());
            for (Waiter w : ordered) {
                queued.add(new WaiterInfo(w.holding.thread.getName(), w.holding.thread.getId(), w.holding.activity,
                        w.priority, Duration.ofNanos(now - w.since)));
            }
            timeoutCount = timeouts;
            deadlockCount = deadlocks;
        } finally {
            queueLock.unlock();
        }
        return new LockInfo(name, domainKey, policy,
                Optional.ofNullable(current).map(h -> h.snapshot(clockNow)), List.copyOf(queued),
                acquisitions, contended, timeoutCount, deadlockCount,
                Duration.ofNanos(longestWaitNanos), Duration.ofNanos(longestHoldNanos));
    }

    /** @return the thread holding the lock right now, or {@code null} */
    Thread holderThread() {
        Holding current = holder;
        return current == null ? null : current.thread;
    }

    @Override
    public String toString() {
        return "SessionLock[" + name + "]";
    }

    private static long saturatedNanos(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        try {
            return timeout.toNanos();
        } catch (ArithmeticException tooLong) {
            return timeout.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE / 2;
        }
    }

    /** One hold of the lock by one thread; also the outermost lease of that hold. */
    static final class Holding implements Lease {
        final DefaultSessionLock lock;
        final Thread thread;
        final String activity;
        long since; // written before the holding is published
        int holds = 1; // holder only
        private boolean closed; // holder only

        Holding(DefaultSessionLock lock, Thread thread, String activity) {
            this.lock = lock;
            this.thread = thread;
            this.activity = activity;
        }

        @Override
        public SessionLock lock() {
            return lock;
        }

        @Override
        public void close() {
            checkThread(thread, lock);
            if (!closed) {
                closed = true;
                lock.release(this);
            }
        }

        HolderInfo snapshot(long now) {
            long heldNanos = Math.max(0, now - since);
            return new HolderInfo(thread.getName(), thread.getId(), activity,
                    Instant.now().minusNanos(heldNanos), Duration.ofNanos(heldNanos), holds);
        }
    }

    /** A re-entrant acquisition by the thread that already holds the lock. */
    private static final class NestedLease implements Lease {
        private final Holding holding;
        private boolean closed;

        NestedLease(Holding holding) {
            this.holding = holding;
        }

        @Override
        public SessionLock lock() {
            return holding.lock;
        }

        @Override
        public void close() {
            checkThread(holding.thread, holding.lock);
            if (!closed) {
                closed = true;
                holding.lock.release(holding);
            }
        }
    }

    private static void checkThread(Thread owner, DefaultSessionLock lock) {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("Lease of lock '" + lock.name + "' belongs to thread \""
                    + owner.getName() + "\", not to \"" + Thread.currentThread().getName() + '"');
        }
    }

    private static final class Waiter {
        final Holding holding;
        final Priority priority;
        final long since;
        long sequence;
        volatile boolean granted;

        Waiter(Holding holding, Priority priority, long since) {
            this.holding = holding;
            this.priority = priority;
            this.since = since;
        }
    }
}
