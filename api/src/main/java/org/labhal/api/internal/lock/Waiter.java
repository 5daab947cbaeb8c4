package org.labhal.api.internal.lock;

import org.labhal.api.lock.Priority;

/**
 * One thread waiting for one lock: its place in the lock's queue and, once the wait has lasted,
 * its edge in the wait-for graph.
 * <p>
 * {@link #state} moves from {@link #WAITING} to {@link #GRANTED} or {@link #CANCELLED} exactly once,
 * and only under the lock's queue lock; so whoever holds that queue lock sees a waiter that cannot
 * change under it, which is what lets a deadlock check confirm a cycle exactly.
 */
final class Waiter {
    static final int WAITING = 0;
    static final int GRANTED = 1;
    static final int CANCELLED = 2;

    final DefaultSessionLock lock;
    final DefaultSessionLock.Holding holding;
    final Priority priority;
    /** When it joined the queue (System.nanoTime): the base of aging; never earlier than an earlier waiter's. */
    final long since;
    /** Arrival order among the lock's waiters. */
    final long sequence;

    volatile int state;
    /** Set before the waiter parks; a hand-over unparks only waiters that may be parked. */
    volatile boolean parking;

    // Queue links, guarded by the lock's queue lock.
    Waiter prev;
    Waiter next;

    Waiter(DefaultSessionLock lock, DefaultSessionLock.Holding holding, Priority priority, long since,
            long sequence) {
        this.lock = lock;
        this.holding = holding;
        this.priority = priority;
        this.since = since;
        this.sequence = sequence;
    }

    Thread thread() {
        return holding.thread;
    }
}
