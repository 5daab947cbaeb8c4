package org.labhal.transport.gpib.internal;

import java.io.IOException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * The bytes a controller sent and nobody took yet: filled by the link's pump thread, emptied by the
 * one bus call that holds the board mutex. Bounded: the pump stops reading the link while it is full,
 * so a flooding controller is held back by TCP or the serial driver, never by memory here. Waiting
 * here is what makes interrupts and {@code close()} end a read at once: the link itself is read only
 * by the pump, which no caller's interrupt disturbs.
 */
final class Inbox {
    private final byte[] ring;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    // Guarded by lock.
    private int start;
    private int count;
    private String failure;

    Inbox(int capacity) {
        ring = new byte[capacity];
    }

    /**
     * Adds bytes from the link, waiting while the inbox is full.
     *
     * @return false when the link failed meanwhile (the bytes are dropped)
     */
    boolean put(byte[] bytes, int from, int length) throws InterruptedException {
        int done = 0;
        lock.lock();
        try {
            while (done < length) {
                while (count == ring.length && failure == null) {
                    changed.await();
                }
                if (failure != null) {
                    return false;
                }
                int n = Math.min(length - done, ring.length - count);
                for (int i = 0; i < n; i++) {
                    ring[(start + count + i) % ring.length] = bytes[from + done + i];
                }
                count += n;
                done += n;
                changed.signalAll();
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Takes bytes, up to and including {@code stop} when {@code stop >= 0}, so that nothing after it is
     * consumed.
     *
     * @param deadline {@link System#nanoTime()} by which to give up
     * @param cancelled checked whenever the wait wakes ({@link #wake()}): true ends it
     * @return the number of bytes taken, 0 when the deadline passed first, -1 when cancelled
     * @throws IOException naming why the link failed
     * @throws InterruptedException when the calling thread is interrupted while waiting
     */
    int take(byte[] into, int from, int length, int stop, long deadline, BooleanSupplier cancelled)
            throws IOException, InterruptedException {
        lock.lock();
        try {
            while (count == 0) {
                if (failure != null) {
                    throw new IOException(failure);
                }
                if (cancelled.getAsBoolean()) {
                    return -1;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return 0;
                }
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                changed.awaitNanos(left);
            }
            int n = 0;
            while (n < length && n < count) {
                byte b = ring[(start + n) % ring.length];
                into[from + n++] = b;
                if (stop >= 0 && (b & 0xFF) == stop) {
                    break;
                }
            }
            start = (start + n) % ring.length;
            count -= n;
            changed.signalAll();
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** @return how many bytes wait */
    int available() {
        lock.lock();
        try {
            return count;
        } finally {
            lock.unlock();
        }
    }

    /** The link failed: waiters and later takers get {@code reason}; the first reason wins. */
    void fail(String reason) {
        lock.lock();
        try {
            if (failure == null) {
                failure = reason;
            }
            count = 0;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Wakes a waiting taker so that it checks whether it was cancelled. */
    void wake() {
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
