package org.labhal.discovery.lxi.internal;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Small executors whose threads are named after their job and end when idle. */
final class NamedThreads {
    private NamedThreads() {
    }

    /**
     * @param prefix thread names are {@code prefix-N}
     * @param threads at most this many run at once; more tasks queue
     * @return an executor whose idle threads end after a second; the owner shuts it down
     */
    static ExecutorService executor(String prefix, int threads) {
        AtomicInteger count = new AtomicInteger();
        ThreadPoolExecutor executor = new ThreadPoolExecutor(threads, threads, 1, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), task -> {
                    Thread thread = new Thread(task, prefix + "-" + count.incrementAndGet());
                    thread.setDaemon(true);
                    return thread;
                });
        executor.allowCoreThreadTimeOut(true);
        return executor;
    }

    /**
     * Shuts an executor down and waits for its tasks, whatever the interrupt flag says (which it keeps).
     *
     * @return whether every task ended in time
     */
    static boolean shutdown(ExecutorService executor, Duration timeout) {
        executor.shutdown();
        boolean interrupted = Thread.interrupted();
        try {
            return executor.awaitTermination(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            interrupted = true;
            return false;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
