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
 * The lock word is {@link #owner}, the holder's thread id (0 when free), taken by CAS when the lock
 * is free and nobody is queued. It is a {@code long}, not a reference, so a thread that takes and
 * releases the lock again and again stores no reference into it and pays no GC write barrier. What
 * diagnostics and the deadlock check need about the holder (thread, activity, since when, how many
 * holds) is in a {@link Holding} that {@link #current} points to, written only when the holder
 * changes; a thread reuses its Holding, so the uncontended path allocates only the 16-byte lease it
 * returns (each acquire needs a lease of its own: closing one twice must not release a later hold).
 * <p>
 * Everything else (queueing, priority order, aging, timeouts, interrupts) lives in the slow path
 * under this lock's {@link #queueLock}. A release hands the lock directly to the chosen waiter (it
 * never becomes free in between), which is what keeps the order fair: late arrivals cannot barge
 * past the queue. It unparks the waiter only when that may be parked, and outside the queue lock.
 * Each priority has its own FIFO ({@link WaitQueue}), so choosing the next waiter looks at four heads
 * at most. The first waiter in line looks for the hand-over a few times ({@link #SPINS}) before it
 * parks; a waiter that parks first joins the service's {@link WaitGraph}, which has no lock of its
 * own: waits on different locks never serialise.
 * <p>
 * Counters that only the holder updates are plain fields: the volatile hand-over of {@link #owner}
 * orders them. Counters updated by waiters that fail are guarded by the queue lock.
 */
public final class DefaultSessionLock implements SessionLock {
    /**
     * How often the first waiter in line looks for the hand-over before it joins the wait-for graph
     * and parks (a few hundred nanoseconds): a short hold then passes the lock on without a park, a
     * wake-up or a deadlock check. A wait that outlasts it parks, and every parked waiter is in the
     * graph: a deadlock is found before anyone sleeps on it.
     */
    static final int SPINS = 16;

    /**
     * Holdings kept for reuse, by a hash of the thread id (Fibonacci hashing: ids of threads that
     * share one lock are often evenly spaced), so threads taking turns each keep theirs.
     */
    private static final int SPARE_BITS = 4;

    private static final VarHandle OWNER;
    private static final VarHandle CURRENT;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            OWNER = lookup.findVarHandle(DefaultSessionLock.class, "owner", long.class);
            CURRENT = lookup.findVarHandle(DefaultSessionLock.class, "current", Holding.class);
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

    /** The holder's thread id, 0 when free. */
    private volatile long owner;
    /**
     * The holder's Holding once the holder has published it (a release store, after the CAS of
     * {@link #owner}); valid while its thread id equals {@link #owner}.
     */
    private volatile Holding current;
    /** Holdings made here, reused when the same thread takes the lock again; a racy cache. */
    private final Holding[] spares = new Holding[1 << SPARE_BITS];
    /** Threads queued or about to queue; read without the queue lock by releasing holders. */
    private volatile int waiting;

    /** Guards the queue and the failure counters; the deadlock check takes it to freeze a cycle. */
    final ReentrantLock queueLock = new ReentrantLock();
    private final WaitQueue queue = new WaitQueue(); // guarded by queueLock
    private long sequence; // guarded by queueLock
    private long lastSince; // guarded by queueLock
    private long timeouts; // guarded by queueLock
    private long deadlocks; // guarded by queueLock

    // Written only by the holder; published to the next holder through the volatile owner field.
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
        Lease lease = enter("", true);
        if (lease != null) {
            return lease;
        }
        try {
            return acquireSlowly(Long.MAX_VALUE, Priority.NORMAL, "", true);
        } catch (LockTimeoutException impossible) {
            throw new AssertionError("an unbounded wait timed out", impossible);
        }
    }

    @Override
    public Lease acquire(Duration timeout) throws LockTimeoutException, DeadlockException, InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        Lease lease = enter("", true);
        return lease != null ? lease : acquireSlowly(saturatedNanos(timeout), Priority.NORMAL, "", false);
    }

    @Override
    public Lease acquire(Duration timeout, Priority priority, String activity)
            throws LockTimeoutException, DeadlockException, InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(priority, "priority");
        String doing = activity == null ? "" : activity;
        Lease lease = enter(doing, true);
        return lease != null ? lease : acquireSlowly(saturatedNanos(timeout), priority, doing, false);
    }

    @Override
    public Optional<Lease> tryAcquire() {
        return Optional.ofNullable(enter("", false));
    }

    @Override
    public Optional<Lease> tryAcquire(String activity) {
        return Optional.ofNullable(enter(activity == null ? "" : activity, false));
    }

    @Override
    public boolean isHeldByCurrentThread() {
        return owner == Thread.currentThread().getId();
    }

    /**
     * The uncontended path: re-entry, or a free lock nobody is queued for.
     *
     * @param interruptible whether an interrupted thread must go to the slow path (which throws)
     * @return the lease, or null when the slow path must decide
     */
    private Lease enter(String activity, boolean interruptible) {
        Thread me = Thread.currentThread();
        long tid = me.getId();
        long held = owner;
        if (held == tid) {
            return reenter();
        }
        if (held != 0 || waiting != 0 || (interruptible && me.isInterrupted())) {
            return null;
        }
        Holding mine = holdingFor(me, tid, activity);
        mine.since = clock.nanoTime();
        mine.holds = 1;
        if (!OWNER.compareAndSet(this, 0L, tid)) {
            return null;
        }
        publish(mine);
        acquisitions++;
        return new HoldLease(mine);
    }

    /** Makes the new holder's Holding visible; a store only when the holder changed. */
    private void publish(Holding mine) {
        if (current != mine) {
            CURRENT.setRelease(this, mine); // ordered after the CAS; no store-load fence needed
        }
    }

    private Lease reenter() {
        Holding mine = current; // ours: we published it before anything else could change it
        mine.holds++;
        acquisitions++;
        return new HoldLease(mine);
    }

    /** This thread's Holding, reused from the last acquisition when it was ours. */
    private Holding holdingFor(Thread me, long tid, String activity) {
        int slot = (int) ((tid * 0x9E3779B97F4A7C15L) >>> (64 - SPARE_BITS));
        Holding mine = spares[slot];
        if (mine == null || mine.thread != me) {
            mine = new Holding(this, me, tid);
            spares[slot] = mine;
        }
        if (mine.activity != activity) {
            mine.activity = activity; // a reference store: only when it changes
        }
        return mine;
    }

    private Lease acquireSlowly(long timeoutNanos, Priority priority, String activity, boolean unbounded)
            throws LockTimeoutException, DeadlockException, InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException("interrupted before waiting for lock '" + name + "'");
        }
        long start = System.nanoTime();
        Thread me = Thread.currentThread();
        long tid = me.getId();
        Holding mine = holdingFor(me, tid, activity);
        Waiter waiter;
        boolean behind;
        queueLock.lock();
        try {
            waiting++; // before looking at the owner: a releasing holder then sees us (Dekker)
            if (queue.isEmpty()) {
                mine.since = clock.nanoTime();
                mine.holds = 1;
                if (OWNER.compareAndSet(this, 0L, tid)) {
                    waiting--;
                    publish(mine);
                    acquisitions++;
                    return new HoldLease(mine);
                }
            }
            if (!unbounded && timeoutNanos <= 0) {
                waiting--;
                timeouts++;
                throw timeout(timeoutNanos);
            }
            // Non-decreasing, so that each priority's FIFO is also oldest first (see WaitQueue).
            long since = Math.max(start, lastSince);
            lastSince = since;
            waiter = new Waiter(this, mine, priority, since, sequence++);
            behind = !queue.isEmpty();
            queue.add(waiter);
        } finally {
            queueLock.unlock();
        }
        return await(waiter, start, timeoutNanos, unbounded, behind);
    }

    /**
     * @param behind whether others were queued ahead: then the wait spans at least one other hold and
     *        spinning is pointless
     */
    private Lease await(Waiter waiter, long start, long timeoutNanos, boolean unbounded, boolean behind)
            throws LockTimeoutException, DeadlockException, InterruptedException {
        long deadline = start + timeoutNanos;
        boolean registered = false;
        for (int spin = behind ? 0 : SPINS; spin > 0 && waiter.state != Waiter.GRANTED; spin--) {
            Thread.onSpinWait();
        }
        try {
            while (waiter.state != Waiter.GRANTED) {
                if (Thread.interrupted()) {
                    if (cancel(waiter)) {
                        throw new InterruptedException("interrupted while waiting for lock '" + name + "'");
                    }
                    // Handed over at the same moment: give it on and still report the interrupt.
                    release(waiter.holding);
                    throw new InterruptedException("interrupted while waiting for lock '" + name + "'");
                }
                long parkNanos = 0; // 0: until unparked
                if (!unbounded) {
                    long remaining = deadline - System.nanoTime();
                    if (remaining <= 0) {
                        if (cancel(waiter)) {
                            throw timeoutAfterWait(timeoutNanos);
                        }
                        break; // granted just in time
                    }
                    parkNanos = remaining;
                }
                if (!registered) {
                    // About to sleep: join the wait-for graph first (no lock of its own, see WaitGraph).
                    registered = true;
                    DeadlockException cycle = graph.register(waiter);
                    if (cycle != null) {
                        throw cycle; // refused: already out of the queue and counted
                    }
                    continue;
                }
                if (!waiter.parking) {
                    waiter.parking = true; // before the last look at the state (Dekker with handOver)
                }
                if (waiter.state != Waiter.GRANTED) {
                    if (parkNanos == 0) {
                        LockSupport.park(this);
                    } else {
                        LockSupport.parkNanos(this, parkNanos);
                    }
                }
            }
        } finally {
            if (registered) {
                graph.unregister(waiter);
            }
        }
        long waited = System.nanoTime() - start;
        acquisitions++;
        contended++;
        if (waited > longestWaitNanos) {
            longestWaitNanos = waited;
        }
        return new HoldLease(waiter.holding);
    }

    /** Removes a waiter that gives up; false when it was granted the lock first. */
    private boolean cancel(Waiter waiter) {
        queueLock.lock();
        try {
            if (waiter.state == Waiter.GRANTED) {
                return false;
            }
            withdrawLocked(waiter);
            return true;
        } finally {
            queueLock.unlock();
        }
    }

    /** Takes a waiter whose wait closes a deadlock out of the queue; the caller holds the queue lock. */
    void refuseLocked(Waiter waiter) {
        withdrawLocked(waiter);
        deadlocks++;
    }

    private void withdrawLocked(Waiter waiter) {
        queue.remove(waiter);
        waiting--;
        waiter.state = Waiter.CANCELLED;
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
        Holding holding = holding();
        HolderInfo info = holding == null ? null : holding.snapshot(clock.nanoTime());
        return new LockTimeoutException(name, Duration.ofNanos(Math.max(0, timeoutNanos)), info, queue.size());
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
        owner = 0;
        if (waiting != 0) {
            handOver();
        }
    }

    private void handOver() {
        Waiter next;
        queueLock.lock();
        try {
            if (owner != 0 || queue.isEmpty()) {
                return; // someone took it (their release hands over) or the waiters gave up
            }
            next = queue.best(agingNanos);
            Holding holding = next.holding;
            holding.since = clock.nanoTime();
            holding.holds = 1;
            if (!OWNER.compareAndSet(this, 0L, holding.tid)) {
                return; // taken in the instant of the release; that holder's release hands over
            }
            publish(holding);
            queue.remove(next);
            waiting--;
            next.state = Waiter.GRANTED;
        } finally {
            queueLock.unlock();
        }
        if (next.parking) {
            LockSupport.unpark(next.thread()); // outside the queue lock: others may queue meanwhile
        }
    }

    /** @return the holder's Holding, or null when the lock is free */
    private Holding holding() {
        while (true) {
            long held = owner;
            if (held == 0) {
                return null;
            }
            Holding holding = current;
            if (holding != null && holding.tid == held) {
                return holding;
            }
            // Taken an instant ago; the new holder publishes its Holding right after its CAS.
            Thread.onSpinWait();
        }
    }

    @Override
    public LockInfo info() {
        long now = System.nanoTime();
        long clockNow = clock.nanoTime();
        Holding holding = holding();
        HolderInfo holderInfo = holding == null ? null : holding.snapshot(clockNow);
        List<WaiterInfo> queued;
        long timeoutCount;
        long deadlockCount;
        queueLock.lock();
        try {
            List<Waiter> ordered = queue.all();
            ordered.sort(Comparator.comparingLong((Waiter w) -> -WaitQueue.rank(w, now, agingNanos))
                    .thenComparingLong(w -> w.sequence));
            queued = new ArrayList<>(ordered.size());
            for (Waiter w : ordered) {
                Thread thread = w.thread();
                queued.add(new WaiterInfo(thread.getName(), thread.getId(), w.holding.activity, w.priority,
                        Duration.ofNanos(now - w.since)));
            }
            timeoutCount = timeouts;
            deadlockCount = deadlocks;
        } finally {
            queueLock.unlock();
        }
        return new LockInfo(name, domainKey, policy, Optional.ofNullable(holderInfo), List.copyOf(queued),
                acquisitions, contended, timeoutCount, deadlockCount,
                Duration.ofNanos(longestWaitNanos), Duration.ofNanos(longestHoldNanos));
    }

    /** @return how many threads are queued (or about to queue) for this lock */
    int queuedThreads() {
        return waiting;
    }

    /** @return the thread holding the lock right now, or {@code null} */
    Thread holderThread() {
        long held = owner;
        if (held == 0) {
            return null;
        }
        Holding holding = current;
        return holding != null && holding.tid == held ? holding.thread : null;
    }

    @Override
    public String toString() {
        return "SessionLock[" + name + "]";
    }

    private static long saturatedNanos(Duration timeout) {
        try {
            return timeout.toNanos();
        } catch (ArithmeticException tooLong) {
            return timeout.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE / 2;
        }
    }

    /**
     * One thread's hold of the lock: what diagnostics and the deadlock check read about the holder.
     * Reused by the same thread for its next hold, so its fields are written before each hold is
     * published (by the CAS of {@link #owner} or, for a waiter, by the hand-over) and read by others
     * only while {@link #tid} equals the owner.
     */
    static final class Holding {
        final DefaultSessionLock lock;
        final Thread thread;
        final long tid;
        /** What every lease of this Holding points to once closed. */
        final ClosedLease closed = new ClosedLease(this);
        String activity = "";
        long since;
        int holds; // holder only

        Holding(DefaultSessionLock lock, Thread thread, long tid) {
            this.lock = lock;
            this.thread = thread;
            this.tid = tid;
        }

        HolderInfo snapshot(long now) {
            long heldNanos = Math.max(0, now - since);
            return new HolderInfo(thread.getName(), tid, activity, Instant.now().minusNanos(heldNanos),
                    Duration.ofNanos(heldNanos), holds);
        }
    }

    /** A closed lease's target: still names the lock and the thread the lease belonged to. */
    static final class ClosedLease {
        final Holding holding;

        ClosedLease(Holding holding) {
            this.holding = holding;
        }
    }

    /**
     * One acquisition: outermost or re-entrant alike. Sixteen bytes (one reference), the only
     * allocation of an uncontended acquire: it points to the Holding while open and to that
     * Holding's {@link ClosedLease} once closed, so a second close, or the close of a lease from an
     * earlier hold, changes nothing.
     */
    private static final class HoldLease implements Lease {
        private Object target; // Holding while open, ClosedLease once closed; owner thread only

        HoldLease(Holding holding) {
            this.target = holding;
        }

        @Override
        public SessionLock lock() {
            Object t = target;
            return t instanceof Holding ? ((Holding) t).lock : ((ClosedLease) t).holding.lock;
        }

        @Override
        public void close() {
            Object t = target;
            if (t instanceof Holding) {
                Holding holding = (Holding) t;
                checkThread(holding);
                target = holding.closed;
                holding.lock.release(holding);
            } else {
                checkThread(((ClosedLease) t).holding);
            }
        }
    }

    private static void checkThread(Holding holding) {
        if (Thread.currentThread() != holding.thread) {
            throw new IllegalStateException("Lease of lock '" + holding.lock.name + "' belongs to thread \""
                    + holding.thread.getName() + "\", not to \"" + Thread.currentThread().getName() + '"');
        }
    }
}
