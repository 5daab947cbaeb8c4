package org.labhal.runtime.internal.instrument;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

import org.labhal.runtime.internal.NamedThreadFactory;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * The threads every configured instrument's connection work runs on: connecting, identifying,
 * reconnecting, model changes, the watchdog. Each instrument gets a {@link SerialWork} on top, which
 * runs its tasks one at a time in order, as the thread of its own each instrument used to have did;
 * the threads are shared, so a lab of a thousand idle instruments does not keep a thousand threads.
 * <p>
 * The pool grows only when every thread is busy (connection work blocks on I/O, bounded by its
 * timeouts), up to {@value #THREADS_PROPERTY} threads (default {@value #DEFAULT_THREADS}); beyond that,
 * work waits its turn. A thread idle for {@value #KEEP_ALIVE_SECONDS} s ends. Delays are kept by one
 * timer thread that only hands work to the pool. Thread-safe.
 */
@Component(service = InstrumentWorkers.class)
public final class InstrumentWorkers {
    /** Framework property: the most threads connection work may use at once. */
    public static final String THREADS_PROPERTY = "labhal.instruments.threads";
    /** Threads when the property is not set. */
    public static final int DEFAULT_THREADS = 64;
    private static final long KEEP_ALIVE_SECONDS = 10;

    private final GrowingQueue queue = new GrowingQueue();
    private final ThreadPoolExecutor pool;
    private final ScheduledExecutorService timer =
            Executors.newSingleThreadScheduledExecutor(new NamedThreadFactory("labhal-instrument-timer"));
    private final AtomicInteger peak = new AtomicInteger();

    /** @param context where {@value #THREADS_PROPERTY} is read */
    @Activate
    public InstrumentWorkers(BundleContext context) {
        this(threads(context.getProperty(THREADS_PROPERTY)));
    }

    /** @param maxThreads the most threads at once, at least 1 */
    public InstrumentWorkers(int maxThreads) {
        if (maxThreads < 1) {
            throw new IllegalArgumentException(THREADS_PROPERTY + "=" + maxThreads + " is not at least 1");
        }
        pool = new ThreadPoolExecutor(0, maxThreads, KEEP_ALIVE_SECONDS, TimeUnit.SECONDS, queue,
                new NamedThreadFactory("labhal-instrument"), (task, executor) -> {
                    if (executor.isShutdown()) {
                        throw new RejectedExecutionException("the runtime's instrument threads have stopped");
                    }
                    queue.force(task); // every thread busy and at the limit: wait for one
                }) {
            @Override
            protected void beforeExecute(Thread thread, Runnable task) {
                peak.accumulateAndGet(getPoolSize(), Math::max);
            }

            @Override
            protected void afterExecute(Runnable task, Throwable failure) {
                queue.submitted.decrementAndGet();
            }
        };
        queue.pool = pool;
    }

    private static int threads(String property) {
        if (property == null || property.isBlank()) {
            return DEFAULT_THREADS;
        }
        try {
            return Integer.parseInt(property.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(THREADS_PROPERTY + "=" + property + " is not a whole number", e);
        }
    }

    /**
     * @param owner names the work in failures, e.g. the instrument id
     * @param failures told of a task that threw
     * @return a new serial view for one instrument
     */
    public SerialWork serial(String owner, BiConsumer<String, Throwable> failures) {
        return new SerialWork(owner, this, failures);
    }

    void execute(Runnable task) {
        queue.submitted.incrementAndGet();
        try {
            pool.execute(task);
        } catch (RejectedExecutionException e) {
            queue.submitted.decrementAndGet();
            throw e;
        }
    }

    ScheduledFuture<?> delay(Runnable handOver, Duration delay) {
        return timer.schedule(handOver, delay.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * Runs a check on the timer thread itself, every {@code period}: for checks that only look (is the
     * session still open?) and hand real work to the instrument's {@link SerialWork}, so that a
     * thousand idle instruments' watchdogs keep no pool thread busy.
     *
     * @param quickCheck must not block
     * @param period between checks
     * @return cancels the checks
     * @throws RejectedExecutionException when stopped
     */
    public ScheduledFuture<?> everyOnTimer(Runnable quickCheck, Duration period) {
        return timer.scheduleWithFixedDelay(quickCheck, period.toNanos(), period.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** @return threads alive now */
    public int threads() {
        return pool.getPoolSize();
    }

    /** @return threads running a task now */
    public int busyThreads() {
        return pool.getActiveCount();
    }

    /** @return one line for the shell: live, busy, peak and the cap */
    public String report() {
        return "instrument threads: " + threads() + " live, " + busyThreads() + " busy, peak " + peakThreads()
                + " of at most " + maxThreads() + " (" + THREADS_PROPERTY + ")";
    }

    /** @return the most threads alive at once so far */
    public int peakThreads() {
        return peak.get();
    }

    /** @return the most threads allowed */
    public int maxThreads() {
        return pool.getMaximumPoolSize();
    }

    /** Stops the threads; running work is interrupted, waiting work dropped. */
    @Deactivate
    public void deactivate() {
        timer.shutdownNow();
        pool.shutdownNow();
    }

    /**
     * Offers work to a waiting thread, or refuses it while the pool may still grow, so that the pool
     * starts a thread rather than queueing behind busy ones (Tomcat's {@code TaskQueue} does the same for
     * its connector threads).
     */
    private static final class GrowingQueue extends LinkedBlockingQueue<Runnable> {
        private static final long serialVersionUID = 1L;
        final AtomicInteger submitted = new AtomicInteger();
        transient volatile ThreadPoolExecutor pool;

        @Override
        public boolean offer(Runnable task) {
            ThreadPoolExecutor executor = pool;
            if (executor != null && submitted.get() > executor.getPoolSize()
                    && executor.getPoolSize() < executor.getMaximumPoolSize()) {
                return false; // no idle thread: make one
            }
            return super.offer(task);
        }

        void force(Runnable task) {
            super.offer(task);
        }
    }
}
