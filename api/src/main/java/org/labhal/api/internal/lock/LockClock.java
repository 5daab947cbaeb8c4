package org.labhal.api.internal.lock;

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
    private final ScheduledExecutorService ticker;
    private volatile long now = System.nanoTime();
    private volatile boolean ticking;

    private LockClock(ScheduledExecutorService ticker) {
        this.ticker = ticker;
    }

    /** @return a clock that reads {@code System.nanoTime()} on every call */
    public static LockClock precise() {
        return new LockClock(null);
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
        LockClock clock = new LockClock(ticker);
        long period = Math.max(1, resolution.toNanos());
        ticker.scheduleAtFixedRate(() -> clock.now = System.nanoTime(), 0, period, TimeUnit.NANOSECONDS);
        clock.ticking = true;
        return clock;
    }

    /** @return a monotonic time in nanoseconds, comparable with earlier readings of this clock */
    public long nanoTime() {
        return ticking ? now : System.nanoTime();
    }

    /** Stops the ticker; readings continue from {@code System.nanoTime()}. Idempotent. */
    @Override
    public void close() {
        ticking = false;
        if (ticker != null) {
            ticker.shutdownNow();
        }
    }
}
