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
    private final ArrayDeque<ScpiError> entries;

    ErrorQueue(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("error queue capacity must be at least 1, was " + capacity);
        }
        this.capacity = capacity;
        this.entries = new ArrayDeque<>(capacity);
    }

    void add(ScpiError error) {
        if (entries.size() < capacity) {
            entries.addLast(error);
        } else if (entries.peekLast() != ScpiError.QUEUE_OVERFLOW) {
            entries.removeLast();
            entries.addLast(ScpiError.QUEUE_OVERFLOW);
        }
    }

    /** Removes and formats the oldest entry, or answers {@code 0,"No error"} when empty. */
    String next() {
        ScpiError oldest = entries.pollFirst();
        return oldest == null ? NO_ERROR : oldest.formatted();
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
