package org.labhal.api.internal.lock;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

class LockClockTest {

    @Test
    void coarseClockAdvancesAtItsResolutionAndNeverGoesBack() throws Exception {
        try (LockClock clock = LockClock.coarse(Duration.ofMillis(1), "test-lock-clock")) {
            long first = clock.nanoTime();
            long previous = first;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (clock.nanoTime() - first < TimeUnit.MILLISECONDS.toNanos(20)) {
                long now = clock.nanoTime();
                assertTrue(now >= previous, "monotonic");
                previous = now;
                assertTrue(System.nanoTime() < deadline, "the ticker keeps the time moving");
                Thread.sleep(1);
            }
            // It lags the precise clock by at most a few ticks (generous: CI machines are busy).
            assertTrue(System.nanoTime() - clock.nanoTime() < TimeUnit.MILLISECONDS.toNanos(500));
        }
    }

    @Test
    void closedClockFallsBackToThePreciseTime() throws Exception {
        LockClock clock = LockClock.coarse(Duration.ofHours(1), "test-lock-clock"); // would never tick again
        long before = clock.nanoTime();
        clock.close();
        Thread.sleep(5);
        assertTrue(clock.nanoTime() - before >= TimeUnit.MILLISECONDS.toNanos(5), "reads System.nanoTime() now");
        assertTrue(Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .noneMatch(name -> name.equals("test-lock-clock")) || waitGone(), "ticker thread stopped");
    }

    private static boolean waitGone() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            if (Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().equals("test-lock-clock"))) {
                return true;
            }
            Thread.sleep(5);
        }
        return false;
    }
}
