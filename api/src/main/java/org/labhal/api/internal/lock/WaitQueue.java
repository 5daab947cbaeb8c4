package org.labhal.api.internal.lock;

import java.util.ArrayList;
import java.util.List;

import org.labhal.api.lock.Priority;

/**
 * A lock's waiters: one FIFO list per {@link Priority}, guarded by the lock's queue lock.
 * <p>
 * Waiters join with non-decreasing {@code since}, so within one priority the head has waited
 * longest and, aged, ranks at least as high as everyone behind it, and came first. The next waiter
 * to serve is therefore one of at most four heads, found without scanning the queue.
 */
final class WaitQueue {
    private static final int LEVELS = Priority.values().length;

    private final Waiter[] heads = new Waiter[LEVELS];
    private final Waiter[] tails = new Waiter[LEVELS];
    private int size;

    boolean isEmpty() {
        return size == 0;
    }

    int size() {
        return size;
    }

    void add(Waiter waiter) {
        int level = waiter.priority.ordinal();
        Waiter tail = tails[level];
        waiter.prev = tail;
        waiter.next = null;
        if (tail == null) {
            heads[level] = waiter;
        } else {
            tail.next = waiter;
        }
        tails[level] = waiter;
        size++;
    }

    void remove(Waiter waiter) {
        int level = waiter.priority.ordinal();
        Waiter prev = waiter.prev;
        Waiter next = waiter.next;
        if (prev == null) {
            heads[level] = next;
        } else {
            prev.next = next;
        }
        if (next == null) {
            tails[level] = prev;
        } else {
            next.prev = prev;
        }
        waiter.prev = null;
        waiter.next = null;
        size--;
    }

    /**
     * @param agingNanos the aging interval
     * @return the waiter with the highest aged rank, the earliest among equals; null when empty.
     *         Reads the clock only when waiters of two or more priorities compete: aging cannot
     *         reorder one priority's FIFO.
     */
    Waiter best(long agingNanos) {
        Waiter only = null;
        int levels = 0;
        for (int level = LEVELS - 1; level >= 0; level--) {
            if (heads[level] != null) {
                only = heads[level];
                levels++;
            }
        }
        if (levels <= 1) {
            return only;
        }
        long now = System.nanoTime();
        Waiter best = null;
        long bestRank = Long.MIN_VALUE;
        for (int level = LEVELS - 1; level >= 0; level--) {
            Waiter head = heads[level];
            if (head == null) {
                continue;
            }
            long rank = rank(head, now, agingNanos);
            if (rank > bestRank || (rank == bestRank && head.sequence < best.sequence)) {
                best = head;
                bestRank = rank;
            }
        }
        return best;
    }

    /**
     * The aged rank: waiting raises LOW, NORMAL and HIGH one level per aging interval up to HIGH, so
     * none of them starves; URGENT stays above everything aged.
     */
    static long rank(Waiter waiter, long now, long agingNanos) {
        if (waiter.priority == Priority.URGENT) {
            return Priority.URGENT.rank();
        }
        return Math.min(Priority.HIGH.rank(), waiter.priority.rank() + (now - waiter.since) / agingNanos);
    }

    /** @return every waiter, in no particular order */
    List<Waiter> all() {
        List<Waiter> all = new ArrayList<>(size);
        for (Waiter head : heads) {
            for (Waiter w = head; w != null; w = w.next) {
                all.add(w);
            }
        }
        return all;
    }
}
