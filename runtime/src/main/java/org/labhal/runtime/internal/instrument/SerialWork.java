package org.labhal.runtime.internal.instrument;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * One instrument's work on the shared {@link InstrumentWorkers}: tasks run one at a time, in the order
 * they became due, never two at once, as on a single thread of its own. A task is handed to the pool
 * only when it is due, one at a time, so a busy instrument does not hold a thread between its tasks
 * and cannot starve the others. {@link #shutdownNow()} drops what is waiting and interrupts the task
 * running now; {@link #awaitTermination} waits for it to end. Thread-safe.
 */
public final class SerialWork {
    private final String owner;
    private final InstrumentWorkers workers;
    private final BiConsumer<String, Throwable> failures;

    // guarded by this
    private final ArrayDeque<Job> due = new ArrayDeque<>();
    private boolean handedOver; // a drain() is queued in the pool or running
    private Thread running;
    private boolean shutdown;

    SerialWork(String owner, InstrumentWorkers workers, BiConsumer<String, Throwable> failures) {
        this.owner = owner;
        this.workers = workers;
        this.failures = failures;
    }

    /**
     * @param task the work
     * @param delay how long from now
     * @return cancels the task if it has not started
     * @throws RejectedExecutionException after {@link #shutdownNow()}
     */
    public Cancellable schedule(Runnable task, Duration delay) {
        Job job = new Job(task, null);
        start(job, delay);
        return job;
    }

    /**
     * @param task the work, run again {@code delay} after each run ends, until cancelled or shut down
     * @param delay before the first run and between runs
     * @return cancels the repetition
     * @throws RejectedExecutionException after {@link #shutdownNow()}
     */
    public Cancellable scheduleWithFixedDelay(Runnable task, Duration delay) {
        Job job = new Job(task, delay);
        start(job, delay);
        return job;
    }

    private void start(Job job, Duration delay) {
        synchronized (this) {
            if (shutdown) {
                throw new RejectedExecutionException(owner + ": its connection work has stopped");
            }
        }
        if (delay.isZero() || delay.isNegative()) {
            enqueue(job);
        } else {
            try {
                job.timer = workers.delay(() -> enqueue(job), delay);
            } catch (RejectedExecutionException e) {
                throw new RejectedExecutionException(owner + ": the runtime's instrument threads have stopped", e);
            }
        }
    }

    private void enqueue(Job job) {
        synchronized (this) {
            if (shutdown || job.cancelled) {
                return;
            }
            due.add(job);
            if (handedOver) {
                return;
            }
            handedOver = true;
        }
        handOver();
    }

    private void handOver() {
        try {
            workers.execute(this::runOne);
        } catch (RejectedExecutionException e) {
            synchronized (this) {
                handedOver = false;
                due.clear(); // the runtime is stopping
                notifyAll();
            }
        }
    }

    /** Runs the next due task, then hands the rest back to the pool behind other instruments' work. */
    private void runOne() {
        Job job;
        synchronized (this) {
            job = due.poll();
            if (job == null || shutdown) {
                handedOver = false;
                notifyAll();
                return;
            }
            running = Thread.currentThread();
        }
        boolean again = false;
        try {
            if (!job.cancelled) {
                job.task.run();
                again = job.repeat != null;
            }
        } catch (RuntimeException | Error e) {
            failures.accept(owner, e); // a repeating task that throws stops, as in a ScheduledExecutorService
        } finally {
            boolean more;
            synchronized (this) {
                running = null;
                more = !due.isEmpty() && !shutdown;
                handedOver = more;
                notifyAll();
            }
            Thread.interrupted(); // a shutdownNow() meant for this task must not reach the next one on this thread
            if (again && !job.cancelled) {
                try {
                    start(job, job.repeat);
                } catch (RejectedExecutionException e) {
                    // shut down meanwhile
                }
            }
            if (more) {
                handOver();
            }
        }
    }

    /** Drops the waiting tasks, stops repetitions, and interrupts the running task. */
    public synchronized void shutdownNow() {
        shutdown = true;
        for (Job job : due) {
            job.cancel();
        }
        due.clear();
        if (running != null) {
            running.interrupt();
        }
        notifyAll();
    }

    /**
     * @param timeout the longest wait
     * @param unit its unit
     * @return whether no task is running any more (after {@link #shutdownNow()})
     * @throws InterruptedException when interrupted
     */
    public synchronized boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (!shutdown || running != null) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    /** A scheduled task that can be cancelled before it starts. */
    public interface Cancellable {
        /** Cancels the task, or the repetition, if it has not started; a running task finishes. */
        void cancel();
    }

    private static final class Job implements Cancellable {
        final Runnable task;
        final Duration repeat;
        volatile boolean cancelled;
        volatile ScheduledFuture<?> timer;

        Job(Runnable task, Duration repeat) {
            this.task = task;
            this.repeat = repeat;
        }

        @Override
        public void cancel() {
            cancelled = true;
            ScheduledFuture<?> scheduled = timer;
            if (scheduled != null) {
                scheduled.cancel(false);
            }
        }
    }
}
