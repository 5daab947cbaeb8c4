package org.labhal.transport.sim;

import java.util.ArrayDeque;

/**
 * The SCPI error/event queue: first in, first out, bounded. When it is full the newest entry is
 * replaced by -350 "Queue overflow" (SCPI 1999 vol. 2, 21.8). Not thread-safe: its owner,
 * {@link MessageExchange}, guards it.
 */
final class ErrorQueue {

    static final String NO_ERROR = "0,\"No error\"";

    private final int capacity;
    private static final String OVERFLOW = ScpiError.QUEUE_OVERFLOW.formatted();

    private final ArrayDeque<String> entries; // as SYSTem:ERRor? answers them

    ErrorQueue(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("error queue capacity must be at least 1, was " + capacity);
        }
        this.capacity = capacity;
        this.entries = new ArrayDeque<>(capacity);
    }

    void add(ScpiError error) {
        add(error.formatted());
    }

    /** @param entry an entry as {@code SYSTem:ERRor?} answers it, e.g. a recorded {@code -222,"Data out of range"} */
    void add(String entry) {
        if (entries.size() < capacity) {
            entries.addLast(entry);
        } else if (!OVERFLOW.equals(entries.peekLast())) {
            entries.removeLast();
            entries.addLast(OVERFLOW);
        }
    }

    /** Removes and formats the oldest entry, or answers {@code 0,"No error"} when empty. */
    String next() {
        String oldest = entries.pollFirst();
        return oldest == null ? NO_ERROR : oldest;
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    int size() {
        return entries.size();
    }

    void clear() {
        entries.clear();
    }
}
