package org.labhal.api.internal.lock;

import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

import org.labhal.api.lock.DeadlockException;

/**
 * Which thread waits for which lock, across every lock of one lock service: the wait-for graph in
 * which deadlocks are cycles. It has no lock of its own, so waits on different locks never
 * serialise on it.
 * <p>
 * A waiter joins the graph just before it parks; the first waiter in line looks for the hand-over a
 * few times first, so the short wait for one hold of a busy lock never touches it (see
 * {@link DefaultSessionLock}). A cycle can only be closed by a thread that joins (a hand-over gives a lock to a thread that stops
 * waiting), and each joining thread publishes its edge, fences, and then walks the chain
 * lock → holder → the lock that holder waits for. Of the threads of a cycle, the one that joined
 * last therefore sees every other edge: every real deadlock is found.
 * <p>
 * The walk reads a graph that other threads keep changing, so what it finds is only a suspicion.
 * The suspecting thread confirms it under the queue locks of the locks on the cycle, taken in id
 * order: with those held, no waiter on the cycle can be granted or give up, and holders that wait
 * cannot release, so a cycle seen again is real at that instant. Still holding them it withdraws
 * its own wait, so a second thread confirming the same cycle afterwards finds it broken: exactly one
 * thread of a deadlock is refused, and no thread is ever refused for a cycle that was not there.
 */
public final class WaitGraph {
    /** A changing graph could keep a confirmation chasing new suspicions; a real cycle settles at once. */
    private static final int MAX_CONFIRMATIONS = 64;

    private final ConcurrentHashMap<Thread, Waiter> waits = new ConcurrentHashMap<>();

    /**
     * Records that the waiter's thread waits for the waiter's lock and checks whether that wait
     * closes a cycle.
     *
     * @return the exception to throw when it does; the waiter has then been taken out of its lock's
     *         queue (and counted as a deadlock) but is still registered: call {@link #unregister}.
     *         Null when there is no cycle through it.
     */
    DeadlockException register(Waiter waiter) {
        waits.put(waiter.thread(), waiter);
        // Our edge is visible before we read anyone else's (store-load): of two threads joining a
        // cycle at once, at least one sees the other.
        VarHandle.fullFence();
        List<Waiter> suspected = cycleThrough(waiter);
        return suspected == null ? null : confirm(waiter, suspected);
    }

    /** Forgets the waiter's edge; called on every way out of a registered wait. */
    void unregister(Waiter waiter) {
        waits.remove(waiter.thread(), waiter);
    }

    /** @return how many threads are registered as waiting for a lock right now */
    public int waitingThreads() {
        return waits.size();
    }

    /**
     * Follows lock → holder → the holder's wait from the given waiter.
     *
     * @return the waiters of a cycle back to {@code start}, starting with it; null when the chain
     *         ends (a free lock, a holder that runs, a waiter no longer waiting) or loops without it
     */
    private List<Waiter> cycleThrough(Waiter start) {
        List<Waiter> path = new ArrayList<>(4);
        Waiter waiter = start;
        while (true) {
            if (waiter.state != Waiter.WAITING) {
                return null; // granted or given up: the edge is gone
            }
            path.add(waiter);
            Thread owner = waiter.lock.holderThread();
            if (owner == null || owner == waiter.thread()) {
                return null; // free, or just handed to this waiter
            }
            if (owner == start.thread()) {
                return path;
            }
            Waiter next = waits.get(owner);
            if (next == null || path.contains(next)) {
                return null; // the owner runs (it will release), or a cycle that start only waits on
            }
            waiter = next;
        }
    }

    private DeadlockException confirm(Waiter start, List<Waiter> suspected) {
        for (int attempt = 0; attempt < MAX_CONFIRMATIONS; attempt++) {
            DefaultSessionLock[] locks = lockOrder(suspected);
            for (DefaultSessionLock lock : locks) {
                lock.queueLock.lock();
            }
            try {
                List<Waiter> cycle = cycleThrough(start);
                if (cycle == null) {
                    return null;
                }
                if (covers(locks, cycle)) {
                    // Frozen and real: withdraw while the others still cannot move.
                    start.lock.refuseLocked(start);
                    List<String> threads = new ArrayList<>(cycle.size());
                    List<String> names = new ArrayList<>(cycle.size());
                    for (Waiter w : cycle) {
                        threads.add(w.thread().getName());
                        names.add(w.lock.name());
                    }
                    return new DeadlockException(threads, names);
                }
                suspected = cycle; // the chain moved meanwhile: confirm the cycle seen now
            } finally {
                for (int i = locks.length - 1; i >= 0; i--) {
                    locks[i].queueLock.unlock();
                }
            }
        }
        return null;
    }

    private static DefaultSessionLock[] lockOrder(List<Waiter> cycle) {
        return cycle.stream().map(w -> w.lock).distinct().sorted(Comparator.comparingLong(DefaultSessionLock::id))
                .toArray(DefaultSessionLock[]::new);
    }

    private static boolean covers(DefaultSessionLock[] locks, List<Waiter> cycle) {
        List<DefaultSessionLock> held = Arrays.asList(locks);
        for (Waiter w : cycle) {
            if (!held.contains(w.lock)) {
                return false;
            }
        }
        return true;
    }
}
