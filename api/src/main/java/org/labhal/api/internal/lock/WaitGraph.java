package org.labhal.api.internal.lock;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

import org.labhal.api.lock.DeadlockException;

/**
 * Which thread waits for which lock, across every lock of one lock service: the wait-for graph in
 * which deadlocks are cycles.
 * <p>
 * A cycle can only be closed by a thread that starts to wait (a hand-over gives a lock to a thread
 * that stops waiting), so checking at that moment finds every cycle. Registering and checking
 * happen under one lock, so of two threads closing a cycle at once exactly one sees it. Holders are
 * read from the locks without that lock; a thread that was just handed the lock it is registered
 * for appears as that lock's holder, an edge the walk treats as broken.
 */
public final class WaitGraph {
    private final ConcurrentHashMap<Thread, DefaultSessionLock> waitingFor = new ConcurrentHashMap<>();
    private final ReentrantLock checkLock = new ReentrantLock();

    /**
     * Records that {@code thread} waits for {@code lock} and checks for a cycle through it.
     *
     * @return the exception to throw when the wait closes a cycle (the thread is then still
     *         registered; call {@link #stopWaiting}), or {@code null}
     */
    DeadlockException startWaiting(Thread thread, DefaultSessionLock lock) {
        checkLock.lock();
        try {
            waitingFor.put(thread, lock);
            List<String> threads = new ArrayList<>();
            List<String> locks = new ArrayList<>();
            Thread current = thread;
            DefaultSessionLock wanted = lock;
            // A cycle is at most as long as the number of waiting threads.
            for (int steps = waitingFor.size(); steps >= 0; steps--) {
                Thread owner = wanted.holderThread();
                if (owner == null || owner == current) {
                    return null; // free, or just handed to the waiter: no edge
                }
                threads.add(current.getName());
                locks.add(wanted.name());
                if (owner == thread) {
                    return new DeadlockException(threads, locks);
                }
                DefaultSessionLock next = waitingFor.get(owner);
                if (next == null) {
                    return null; // the owner runs: it will release
                }
                current = owner;
                wanted = next;
            }
            return null; // a cycle that does not include this thread: its own closer reports it
        } finally {
            checkLock.unlock();
        }
    }

    /** Forgets the thread's wait; called on every way out of a wait. */
    void stopWaiting(Thread thread) {
        waitingFor.remove(thread);
    }

    /** @return how many threads are waiting for a lock right now */
    public int waitingThreads() {
        return waitingFor.size();
    }
}
