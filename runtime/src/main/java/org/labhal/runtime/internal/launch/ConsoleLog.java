package org.labhal.runtime.internal.launch;

import java.io.PrintStream;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.LogEntry;
import org.osgi.service.log.LogLevel;
import org.osgi.service.log.LogListener;
import org.osgi.service.log.LogReaderService;

/**
 * Writes log entries at or above the level in the framework property {@value #PROPERTY} (e.g.
 * {@code warn}, {@code info}, {@code debug}) to standard error, one line each, so that whoever runs the
 * executable jar sees trouble as it happens. Entries logged before this component started are
 * replayed. Without the property (framework tests) it stays silent; the shell's {@code log} command
 * shows the full log either way.
 */
@Component(immediate = true)
public final class ConsoleLog implements LogListener {
    /** Framework property: the lowest level written to standard error. */
    public static final String PROPERTY = "labhal.log.level";
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

    private final LogReaderService reader;
    private final LogLevel threshold;
    private final PrintStream out = System.err;

    /**
     * @param context reads the property
     * @param reader the log to follow
     */
    @Activate
    public ConsoleLog(BundleContext context, @Reference LogReaderService reader) {
        this.reader = reader;
        this.threshold = level(context.getProperty(PROPERTY));
        if (threshold == null) {
            return;
        }
        long start = System.currentTimeMillis();
        reader.addLogListener(this);
        List<LogEntry> earlier = new ArrayList<>();
        for (LogEntry entry : Collections.list(reader.getLog())) {
            if (entry.getTime() < start) {
                earlier.add(entry);
            }
        }
        Collections.reverse(earlier); // the log lists the newest first
        earlier.forEach(this::logged);
    }

    /** Stops following the log. */
    @Deactivate
    public void deactivate() {
        reader.removeLogListener(this);
    }

    @Override
    public void logged(LogEntry entry) {
        if (threshold == null || !threshold.implies(entry.getLogLevel())) {
            return;
        }
        String logger = entry.getLoggerName();
        if (logger != null && logger.startsWith("Events.") && !LogLevel.WARN.implies(entry.getLogLevel())) {
            return; // the framework's bundle and service events: the shell's log command has them
        }
        StringBuilder line = new StringBuilder();
        line.append(LocalTime.ofInstant(Instant.ofEpochMilli(entry.getTime()), ZoneId.systemDefault()).format(TIME))
                .append(' ').append(String.format(Locale.ROOT, "%-5s", entry.getLogLevel())).append(' ')
                .append(entry.getBundle() == null ? "?" : entry.getBundle().getSymbolicName()).append(": ")
                .append(entry.getMessage());
        if (entry.getException() != null && threshold.implies(LogLevel.DEBUG)) {
            line.append(" [").append(entry.getException()).append(']');
        }
        synchronized (out) {
            out.println(line);
        }
    }

    /**
     * @param name a level name, any case, or {@code null}
     * @return the level, or {@code null} for none
     * @throws IllegalArgumentException for an unknown name
     */
    static LogLevel level(String name) {
        if (name == null || name.isBlank()) {
            return null;
        }
        try {
            return LogLevel.valueOf(name.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(PROPERTY + "=" + name + " is not one of error, warn, info, debug, trace");
        }
    }
}
