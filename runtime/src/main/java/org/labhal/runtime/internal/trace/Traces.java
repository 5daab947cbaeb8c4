package org.labhal.runtime.internal.trace;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.labhal.runtime.internal.NamedThreadFactory;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * Every instrument's {@link InstrumentTrace}, by id, and the live feeds of traced steps. An instrument's trace
 * outlives a reconnection and a configuration change, so what led up to a failure stays to be read; it is
 * made at the instrument's first session. Thread-safe.
 */
@Component(service = Traces.class)
public final class Traces {
    /** Prefix of the per-instrument trace loggers: {@code org.labhal.trace.<id>}. */
    public static final String LOGGER_PREFIX = "org.labhal.trace.";
    /** How often a feed's reader looks for steps while it waits. */
    static final Duration FEED_POLL = Duration.ofMillis(20);
    /** The most characters of lines all recordings together may have waiting to be written. */
    static final long RECORDING_BUDGET = 256L << 20;
    /** Traced steps that may wait to be logged; more are dropped and counted rather than waited for. */
    static final int LOG_QUEUE = 10_000;
    /** The most live feeds at once (dashboard pages, shell followers). */
    public static final int MAX_FEEDS = 64;

    private final LoggerFactory loggers;
    private final ConcurrentHashMap<String, InstrumentTrace> byId = new ConcurrentHashMap<>();
    private final CopyOnWriteArrayList<Feed> feeds = new CopyOnWriteArrayList<>();
    private final AtomicLong recordingBudget = new AtomicLong(RECORDING_BUDGET);
    /** Traced steps on their way to the log, and their loggers: logged by {@link #logWriter}, never by a step. */
    private final ConcurrentLinkedQueue<Map.Entry<Logger, TracedStep>> toLog = new ConcurrentLinkedQueue<>();
    private final AtomicInteger logQueued = new AtomicInteger();
    private final AtomicLong logDropped = new AtomicLong();
    private Thread logWriter; // guarded by toLog; started by the first step logged
    private volatile boolean stopped;

    /**
     * @param loggers makes the per-instrument trace loggers; null in unit tests
     */
    @Activate
    public Traces(@Reference(service = LoggerFactory.class) LoggerFactory loggers) {
        this.loggers = loggers;
    }

    /** Stops running recordings, writing what they queued, closes the feeds and stops the log writer. */
    @Deactivate
    public void deactivate() {
        stopped = true;
        Thread writer;
        synchronized (toLog) {
            writer = logWriter;
        }
        if (writer != null) {
            writer.interrupt();
        }
        for (InstrumentTrace trace : byId.values()) {
            if (trace.recording() != null) {
                try {
                    trace.stopRecording(2_000); // a queue of lines is written in well under that
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (IllegalStateException stoppedMeanwhile) {
                    // another thread stopped it
                }
            }
        }
        feeds.forEach(Feed::close);
    }

    /**
     * @param instrumentId an instrument id, case-insensitive
     * @return its trace, made now if it had none
     */
    public InstrumentTrace of(String instrumentId) {
        return byId.computeIfAbsent(key(instrumentId), k -> {
            Logger log = loggers == null ? null : loggers.getLogger(LOGGER_PREFIX + instrumentId);
            return new InstrumentTrace(instrumentId, this, log, InstrumentTrace.DEFAULT_CAPACITY);
        });
    }

    /**
     * @param instrumentId an instrument id, case-insensitive
     * @return its trace, if it has one
     */
    public Optional<InstrumentTrace> find(String instrumentId) {
        return Optional.ofNullable(byId.get(key(instrumentId)));
    }

    private static String key(String instrumentId) {
        return instrumentId.toLowerCase(Locale.ROOT);
    }

    /**
     * @param capacity the most steps the feed queues for its reader
     * @return a live feed of the traced steps of every instrument, from now on
     * @throws IllegalStateException when {@link #MAX_FEEDS} feeds are open
     */
    public TraceFeed follow(int capacity) {
        Feed feed = new Feed(Math.max(1, capacity));
        feeds.add(feed);
        if (feeds.size() > MAX_FEEDS) {
            feed.close();
            throw new IllegalStateException("Too many live trace feeds (" + MAX_FEEDS + " are open); close one first");
        }
        return feed;
    }

    /** @return the characters all recordings' queues may still take, shared by them */
    AtomicLong recordingBudget() {
        return recordingBudget;
    }

    /**
     * Logs a traced step at debug, from the log writer's thread: whatever the log does with it (a console whose
     * reader is slow, a listener that takes its time) the step does not wait for it.
     */
    void log(Logger log, TracedStep step) {
        if (stopped || logQueued.incrementAndGet() > LOG_QUEUE) {
            logQueued.decrementAndGet();
            logDropped.incrementAndGet();
            return;
        }
        toLog.add(Map.entry(log, step));
        synchronized (toLog) {
            if (logWriter == null && !stopped) {
                logWriter = new NamedThreadFactory("labhal-trace-log").newThread(this::writeLog);
                logWriter.start();
            }
        }
    }

    /** @return how many traced steps were not logged because the log fell behind */
    public long logDropped() {
        return logDropped.get();
    }

    private void writeLog() {
        try {
            while (!stopped) {
                Map.Entry<Logger, TracedStep> next = toLog.poll();
                if (next == null) {
                    TimeUnit.MILLISECONDS.sleep(FEED_POLL.toMillis());
                    continue;
                }
                logQueued.decrementAndGet();
                next.getKey().debug(next.getValue().toJson());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // stopping
        }
    }

    /** Hands a traced step to every feed; a full feed drops it. */
    void publish(TracedStep step) {
        for (Feed feed : feeds) {
            feed.offer(step);
        }
    }

    /**
     * A bounded queue per reader. Steps never signal the reader: a step only links its record in (no lock, no
     * wake-up, which would cost a step a system call whenever the reader is waiting), and the reader looks
     * every {@link #FEED_POLL} while it waits.
     */
    private final class Feed implements TraceFeed {
        private final int capacity;
        private final ConcurrentLinkedQueue<TracedStep> queue = new ConcurrentLinkedQueue<>();
        private final AtomicInteger size = new AtomicInteger();
        private final AtomicLong dropped = new AtomicLong();
        private volatile boolean closed;

        Feed(int capacity) {
            this.capacity = capacity;
        }

        void offer(TracedStep step) {
            if (size.incrementAndGet() > capacity) {
                size.decrementAndGet();
                dropped.incrementAndGet();
                return;
            }
            queue.add(step);
        }

        @Override
        public List<TracedStep> poll(Duration wait) throws InterruptedException {
            List<TracedStep> steps = new ArrayList<>();
            long deadline = System.nanoTime() + Math.max(0, wait.toNanos());
            while (!closed) {
                TracedStep step;
                while ((step = queue.poll()) != null) {
                    size.decrementAndGet();
                    steps.add(step);
                }
                long left = deadline - System.nanoTime();
                if (!steps.isEmpty() || left <= 0) {
                    break;
                }
                TimeUnit.NANOSECONDS.sleep(Math.min(left, FEED_POLL.toNanos()));
            }
            return steps;
        }

        @Override
        public long dropped() {
            return dropped.get();
        }

        @Override
        public void close() {
            closed = true;
            feeds.remove(this);
            queue.clear();
        }
    }
}
