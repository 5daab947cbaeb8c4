package org.labhal.runtime.internal.logging;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.Enumeration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import org.ops4j.pax.logging.spi.PaxAppender;
import org.ops4j.pax.logging.spi.PaxLoggingEvent;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.log.LogEntry;
import org.osgi.service.log.LogLevel;
import org.osgi.service.log.LogListener;
import org.osgi.service.log.LogReaderService;

/**
 * The log as OSGi readers see it (the shell's {@code felix:log}, framework tests, any {@link LogListener}): the
 * entries logback lets through, SLF4J and OSGi alike, with their messages formatted. pax-logging registers a
 * LogReaderService of its own, but it hands its readers the message pattern of an OSGi R7 {@code Logger} call with
 * arguments unformatted ({@code "{}: online at {}"}; pax-logging issue 56); this one is fed by logback, through
 * pax-logging's appender bridge ({@code PaxAppenderDelegate} named {@value #APPENDER} in the configuration
 * {@link LogbackSettings} writes), after formatting, and outranks pax-logging's. Keeps the last {@value #KEPT}
 * entries; listeners are called in the logging thread, in order. Thread-safe.
 */
@Component(service = { LogReaderService.class, PaxAppender.class }, immediate = true,
        property = { "org.ops4j.pax.logging.appender.name=" + LogHistory.APPENDER,
                Constants.SERVICE_RANKING + ":Integer=100" })
public final class LogHistory implements LogReaderService, PaxAppender {
    /** The name pax-logging's appender bridge finds this by. */
    public static final String APPENDER = "labhal-history";
    /** How many entries {@link #getLog()} keeps. */
    static final int KEPT = 100;

    private final BundleContext context;
    private final List<LogListener> listeners = new CopyOnWriteArrayList<>();
    /** Newest first. Guarded by itself. */
    private final Deque<LogEntry> entries = new ArrayDeque<>();
    private final AtomicLong sequence = new AtomicLong();

    /** @param context finds the bundle that logged an entry; null in unit tests */
    @Activate
    public LogHistory(BundleContext context) {
        this.context = context;
    }

    @Override
    public void doAppend(PaxLoggingEvent event) {
        LogEntry entry = new Entry(event, bundle(event), sequence.incrementAndGet());
        synchronized (entries) {
            entries.addFirst(entry);
            if (entries.size() > KEPT) {
                entries.removeLast();
            }
        }
        for (LogListener listener : listeners) {
            try {
                listener.logged(entry);
            } catch (RuntimeException e) {
                // what the Log Service specification asks: a listener that throws is dropped
                listeners.remove(listener);
            }
        }
    }

    private Bundle bundle(PaxLoggingEvent event) {
        Object id = event.getProperties() == null ? null : event.getProperties().get("bundle.id");
        if (context == null || id == null) {
            return null;
        }
        try {
            return context.getBundle(Long.parseLong(id.toString()));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    @Override
    public void addLogListener(LogListener listener) {
        listeners.add(listener);
    }

    @Override
    public void removeLogListener(LogListener listener) {
        listeners.remove(listener);
    }

    @Override
    public Enumeration<LogEntry> getLog() {
        synchronized (entries) {
            return Collections.enumeration(new ArrayList<>(entries));
        }
    }

    /** One entry, as logback formatted it. The exception is not kept: logback hands over its text only. */
    private static final class Entry implements LogEntry {
        private final Bundle bundle;
        private final LogLevel level;
        private final String logger;
        private final String message;
        private final long time;
        private final String thread;
        private final long sequence;

        Entry(PaxLoggingEvent event, Bundle bundle, long sequence) {
            this.bundle = bundle;
            this.level = event.getLevel().toLevel();
            this.logger = event.getLoggerName();
            String[] trace = event.getThrowableStrRep();
            this.message = trace == null || trace.length == 0 || trace[0].isBlank() ? event.getRenderedMessage()
                    : event.getRenderedMessage() + " [" + trace[0] + "]";
            this.time = event.getTimeStamp();
            this.thread = event.getThreadName();
            this.sequence = sequence;
        }

        @Override
        public Bundle getBundle() {
            return bundle;
        }

        @Override
        public ServiceReference<?> getServiceReference() {
            return null;
        }

        @Override
        @SuppressWarnings("deprecation")
        public int getLevel() {
            return switch (level) {
                case AUDIT, ERROR -> 1;
                case WARN -> 2;
                case INFO -> 3;
                case DEBUG, TRACE -> 4;
            };
        }

        @Override
        public String getMessage() {
            return message;
        }

        @Override
        public Throwable getException() {
            return null;
        }

        @Override
        public long getTime() {
            return time;
        }

        @Override
        public LogLevel getLogLevel() {
            return level;
        }

        @Override
        public String getLoggerName() {
            return logger;
        }

        @Override
        public long getSequence() {
            return sequence;
        }

        @Override
        public String getThreadInfo() {
            return thread;
        }

        @Override
        public StackTraceElement getLocation() {
            return null;
        }

        @Override
        public String toString() {
            return level + " " + logger + ": " + message;
        }
    }
}
