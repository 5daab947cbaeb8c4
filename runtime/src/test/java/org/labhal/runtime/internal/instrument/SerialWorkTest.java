package org.labhal.runtime.internal.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Instruments' connection work on shared threads: in order, one at a time, and stoppable, per instrument. */
class SerialWorkTest {
    private static final long WAIT = 30;
    private final InstrumentWorkers workers = new InstrumentWorkers(4);
    private final List<Throwable> failures = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        workers.deactivate();
    }

    private SerialWork serial(String owner) {
        return workers.serial(owner, (who, failure) -> failures.add(failure));
    }

    @Test
    void manyInstrumentsOnFewThreadsEachRunTheirTasksInOrderNeverTwoAtOnce() throws Exception {
        int instruments = 50;
        int tasks = 200;
        Map<Integer, List<Integer>> done = new ConcurrentHashMap<>();
        Map<Integer, AtomicInteger> inside = new ConcurrentHashMap<>();
        AtomicBoolean overlapped = new AtomicBoolean();
        CountDownLatch all = new CountDownLatch(instruments * tasks);
        List<SerialWork> works = new ArrayList<>();
        for (int i = 0; i < instruments; i++) {
            works.add(serial("i" + i));
            done.put(i, Collections.synchronizedList(new ArrayList<>()));
            inside.put(i, new AtomicInteger());
        }
        for (int t = 0; t < tasks; t++) {
            for (int i = 0; i < instruments; i++) {
                int instrument = i;
                int task = t;
                works.get(i).schedule(() -> {
                    if (inside.get(instrument).incrementAndGet() != 1) {
                        overlapped.set(true);
                    }
                    done.get(instrument).add(task);
                    inside.get(instrument).decrementAndGet();
                    all.countDown();
                }, Duration.ZERO);
            }
        }
        assertTrue(all.await(WAIT, TimeUnit.SECONDS), "every task ran");
        assertFalse(overlapped.get(), "no instrument ran two tasks at once");
        for (int i = 0; i < instruments; i++) {
            List<Integer> order = done.get(i);
            for (int t = 0; t < tasks; t++) {
                assertEquals(t, order.get(t), "instrument " + i + " ran its tasks in order");
            }
        }
        assertTrue(workers.peakThreads() <= 4, "never more threads than allowed: " + workers.peakThreads());
        assertTrue(failures.isEmpty(), failures.toString());
    }

    @Test
    void anInstrumentBlockedInItsTaskDoesNotHoldUpTheOthers() throws Exception {
        SerialWork blocked = serial("blocked");
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch blocking = new CountDownLatch(1);
        blocked.schedule(() -> {
            blocking.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, Duration.ZERO);
        assertTrue(blocking.await(WAIT, TimeUnit.SECONDS));
        AtomicBoolean behind = new AtomicBoolean();
        blocked.schedule(() -> behind.set(true), Duration.ZERO);
        CountDownLatch others = new CountDownLatch(20);
        for (int i = 0; i < 20; i++) {
            serial("other" + i).schedule(others::countDown, Duration.ZERO);
        }
        assertTrue(others.await(WAIT, TimeUnit.SECONDS), "the others ran while one instrument was blocked");
        assertFalse(behind.get(), "the blocked instrument's next task waits for its first");
        release.countDown();
    }

    @Test
    void shutdownNowInterruptsTheRunningTaskDropsTheWaitingOnesAndTheThreadIsCleanForTheNext() throws Exception {
        SerialWork work = serial("closing");
        CountDownLatch running = new CountDownLatch(1);
        AtomicBoolean interrupted = new AtomicBoolean();
        AtomicBoolean waitingRan = new AtomicBoolean();
        work.schedule(() -> {
            running.countDown();
            try {
                Thread.sleep(TimeUnit.SECONDS.toMillis(WAIT));
            } catch (InterruptedException e) {
                interrupted.set(true);
            }
        }, Duration.ZERO);
        work.schedule(() -> waitingRan.set(true), Duration.ZERO);
        SerialWork.Cancellable repeating = serial("repeating").scheduleWithFixedDelay(() -> { }, Duration.ofMillis(1));
        assertTrue(running.await(WAIT, TimeUnit.SECONDS));
        work.shutdownNow();
        assertTrue(work.awaitTermination(WAIT, TimeUnit.SECONDS));
        assertTrue(interrupted.get(), "the running task was interrupted");
        assertFalse(waitingRan.get(), "the waiting task was dropped");
        assertThrows(RejectedExecutionException.class, () -> work.schedule(() -> { }, Duration.ZERO));
        repeating.cancel();
        // every thread of the pool runs clean tasks afterwards: none carries the interrupt on
        CountDownLatch clean = new CountDownLatch(40);
        AtomicBoolean leaked = new AtomicBoolean();
        for (int i = 0; i < 40; i++) {
            serial("after" + i).schedule(() -> {
                if (Thread.currentThread().isInterrupted()) {
                    leaked.set(true);
                }
                clean.countDown();
            }, Duration.ZERO);
        }
        assertTrue(clean.await(WAIT, TimeUnit.SECONDS));
        assertFalse(leaked.get(), "an interrupt meant for the closed instrument reached another's task");
    }

    @Test
    void aRepeatingTaskRepeatsUntilCancelledAndAFailingTaskIsReported() throws Exception {
        SerialWork work = serial("repeat");
        CountDownLatch three = new CountDownLatch(3);
        SerialWork.Cancellable repeating = work.scheduleWithFixedDelay(three::countDown, Duration.ofMillis(5));
        assertTrue(three.await(WAIT, TimeUnit.SECONDS));
        repeating.cancel();
        CountDownLatch after = new CountDownLatch(1);
        work.schedule(() -> {
            throw new IllegalStateException("boom");
        }, Duration.ZERO);
        work.schedule(after::countDown, Duration.ofMillis(1));
        assertTrue(after.await(WAIT, TimeUnit.SECONDS), "a task after a failed one still runs");
        assertEquals(1, failures.size());
        assertEquals("boom", failures.get(0).getMessage());
    }
}
