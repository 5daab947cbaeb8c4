package org.labhal.api.transport;

import java.time.Duration;

/**
 * A point in time by which one whole operation must end: a message written, an answer read, a lock
 * taken. Transports make one per call from the timeout they were given and wait on its
 * {@link #remaining()} in every inner loop, so a peer that trickles bytes cannot stretch a call
 * beyond its timeout however many reads it takes. Durations too large for {@link System#nanoTime()}
 * arithmetic saturate (a timeout of ten million days waits "forever", it does not overflow).
 * Safe to share: its only mutable state is a cache of its last {@link #remaining()}, which saves
 * one allocation per read on hot paths.
 */
public final class Deadline {
    /** About 146 years: the farthest deadline {@code nanoTime} arithmetic can hold without overflow. */
    private static final long FOREVER = Long.MAX_VALUE / 2;
    private final long at;
    private final Duration timeout;
    /**
     * The last {@link #remaining()}, reused while the whole milliseconds left are the same; at first
     * the timeout itself when it is a whole number of milliseconds, which is what {@link #remaining()}
     * gives until a millisecond has passed (a fresh deadline then allocates nothing for the first wait).
     */
    private Duration lastRemaining;

    private Deadline(long at, Duration timeout, long nanos) {
        this.at = at;
        this.timeout = timeout;
        this.lastRemaining = nanos > 0 && nanos % 1_000_000 == 0 ? timeout : null;
    }

    /**
     * @param timeout how long from now; negative counts as zero, huge values saturate
     * @return the deadline that far from now
     */
    public static Deadline after(Duration timeout) {
        long nanos = nanos(timeout);
        return new Deadline(System.nanoTime() + nanos, timeout, nanos);
    }

    /**
     * @param timeout any duration
     * @return its length in nanoseconds, 0 for a negative one, saturated at about 146 years
     */
    public static long nanos(Duration timeout) {
        if (timeout.isNegative()) {
            return 0;
        }
        if (timeout.getSeconds() >= FOREVER / 1_000_000_000L) {
            return FOREVER;
        }
        return timeout.toNanos();
    }

    /**
     * @param timeout any duration
     * @return its length in whole milliseconds, rounded up, 0 for a negative one, saturated at
     *         {@link Integer#MAX_VALUE} (what socket and RPC timeouts take)
     */
    public static int millis(Duration timeout) {
        long nanos = nanos(timeout);
        return (int) Math.min(Integer.MAX_VALUE, (nanos + 999_999) / 1_000_000);
    }

    /** @return the timeout this deadline was made from, for messages */
    public Duration timeout() {
        return timeout;
    }

    /** @return nanoseconds left, zero once passed */
    public long remainingNanos() {
        return Math.max(0, at - System.nanoTime());
    }

    /**
     * @return time left, zero once passed; to spare hot paths an allocation per call it may be up
     *         to a millisecond more than the exact rest (the rest rounded up to whole milliseconds,
     *         which is the resolution of socket and RPC timeouts anyway)
     */
    public Duration remaining() {
        long nanos = remainingNanos();
        if (nanos == 0) {
            return Duration.ZERO;
        }
        long millis = (nanos + 999_999) / 1_000_000;
        Duration cached = lastRemaining; // immutable: a racy read sees a whole one or null
        if (cached == null || cached.toMillis() != millis) {
            cached = Duration.ofMillis(millis);
            lastRemaining = cached;
        }
        return cached;
    }

    /**
     * @return milliseconds left rounded up, at least 1 while any time is left and 0 once passed: for
     *         APIs where 0 means "wait forever" check {@link #expired()} first
     */
    public int remainingMillis() {
        long nanos = remainingNanos();
        return nanos == 0 ? 0 : (int) Math.min(Integer.MAX_VALUE, (nanos + 999_999) / 1_000_000);
    }

    /** @return whether the deadline has passed */
    public boolean expired() {
        return remainingNanos() == 0;
    }

    @Override
    public String toString() {
        return "Deadline[" + remaining().toMillis() + " ms left of " + timeout + "]";
    }
}
