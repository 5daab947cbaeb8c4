package org.labhal.api.internal.lock;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The time base of hold bookkeeping (since when a lock is held, how long it was held).
 * <p>
 * {@link System#nanoTime()} costs about 20 ns on the machines we measured, twice per uncontended
 * acquire and release: four times the cost of the lock itself. A coarse clock reads one volatile
 * field that a ticker thread refreshes every millisecond, which is plenty for hold times of
 * instrument steps (a query takes 50 µs to seconds). Waits are still measured with
 * {@code System.nanoTime()}: they only happen on the slow path. Once closed, the clock reads
 * {@code System.nanoTime()} directly, so locks that outlive their service keep correct times.
 */
public final class LockClock implements AutoCloseable {
    /** The value of {@link #now} once the clock reads {@code System.nanoTime()} directly. */
    private static final long PRECISE = Long.MIN_VALUE;
    private static final VarHandle NOW;

    static {
        try {
            NOW = MethodHandles.lookup().findVarHandle(LockClock.class, "now", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final ScheduledExecutorService ticker;
    /** The time of the last tick, or {@link #PRECISE}: one volatile read per reading of the clock. */
    private volatile long now;

    private LockClock(ScheduledExecutorService ticker, long now) {
        this.ticker = ticker;
        this.now = now;
    }

    /** @return a clock that reads {@code System.nanoTime()} on every call */
    public static LockClock precise() {
        return new LockClock(null, PRECISE);
    }

    /**
     * @param resolution how often the ticker refreshes the time
     * @param threadName the name of the ticker thread
     * @return a started coarse clock; close it to stop its thread
     */
    public static LockClock coarse(Duration resolution, String threadName) {
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, threadName);
            thread.setDaemon(true);
            return thread;
        });
        LockClock clock = new LockClock(ticker, System.nanoTime());
        long period = Math.max(1, resolution.toNanos());
        ticker.scheduleAtFixedRate(clock::tick, period, period, TimeUnit.NANOSECONDS);
        return clock;
    }

    private void tick() {
        long last = now;
        if (last != PRECISE) {
            // A CAS, not a write: a tick that races with close() must not undo it.
            NOW.compareAndSet(this, last, System.nanoTime());
        }
    }

    /** @return a monotonic time in nanoseconds, comparable with earlier readings of this clock */
    public long nanoTime() {
        long last = now;
        return last != PRECISE ? last : System.nanoTime();
    }

    /** Stops the ticker; readings continue from {@code System.nanoTime()}. Idempotent. */
    @Override
    public void close() {
        now = PRECISE;
        if (ticker != null) {
            ticker.shutdownNow();
        }
    }
}
