package org.labhal.runtime.internal.logging;

import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What the runtime tells logback (inside pax-logging, the one backend of the OSGi log service and SLF4J): the root
 * level, the level of named loggers, and the threshold of the console on standard error. Immutable; {@link #toXml()}
 * renders it as a logback configuration file.
 */
public final class LogbackSettings {
    /** Logback's levels, from the one that lets nothing through to the one that lets everything through. */
    public enum Level {
        /** Nothing. */
        OFF,
        /** Errors only. */
        ERROR,
        /** Warnings and errors. */
        WARN,
        /** Lifecycle events and above. */
        INFO,
        /** Traffic and above. */
        DEBUG,
        /** Everything. */
        TRACE;

        /** @return whether an entry at {@code entry} passes a logger at this level */
        public boolean passes(Level entry) {
            return entry != OFF && entry.ordinal() <= ordinal();
        }
    }

    /**
     * The console's line: time, level, the symbolic name of the bundle that logged (pax-logging puts it in the
     * MDC for OSGi and SLF4J loggers alike) and the message. Exceptions only at a debug threshold.
     */
    static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level %X{bundle.name}: %msg%n";

    /** pax-logging-logback's logback appender that hands events to a {@code PaxAppender} service by name. */
    static final String BRIDGE = "org.ops4j.pax.logging.logback.internal.bridges.PaxAppenderDelegate";

    private final Level root;
    private final Level console;
    private final Map<String, Level> loggers;

    /**
     * @param root the level of every logger not named in {@code loggers}
     * @param console the lowest level written to standard error; {@code null} writes nothing there
     * @param loggers levels of named loggers (and the loggers below them)
     */
    public LogbackSettings(Level root, Level console, Map<String, Level> loggers) {
        this.root = Objects.requireNonNull(root, "root");
        this.console = console;
        this.loggers = Collections.unmodifiableMap(new TreeMap<>(loggers));
    }

    /**
     * @param name a level name, any case, surrounding blanks ignored; {@code null} or blank for none
     * @param what what the level is for, named in the message of a bad name
     * @return the level, or {@code null} for none
     * @throws IllegalArgumentException for a name that is not a level
     */
    public static Level level(String name, String what) {
        if (name == null || name.isBlank()) {
            return null;
        }
        try {
            return Level.valueOf(name.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + "=" + name + " is not one of off, error, warn, info, debug, trace");
        }
    }

    /** @return the root logger's level */
    public Level root() {
        return root;
    }

    /** @return the console's threshold, or {@code null} when nothing goes to the console */
    public Level console() {
        return console;
    }

    /** @return the named loggers' levels, by name */
    public Map<String, Level> loggers() {
        return loggers;
    }

    /**
     * @param overrides levels that replace or add to the named ones
     * @return these settings with the overrides
     */
    public LogbackSettings with(Map<String, Level> overrides) {
        Map<String, Level> all = new TreeMap<>(loggers);
        all.putAll(overrides);
        return new LogbackSettings(root, console, all);
    }

    /** @return a logback configuration file (Joran XML) that says all of this */
    public String toXml() {
        // The console sees only what the loggers let through. The root is not opened to match a debug console:
        // Felix SCR logs its own workings at debug, and at debug it recursed into the log service's factory until
        // the stack overflowed (Gogo's commands then failed). Debug is for single loggers (instr:log).
        StringBuilder xml = new StringBuilder();
        xml.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        xml.append("<!-- Written by the LabHAL runtime (org.labhal.runtime.internal.logging.LogSetup) at every change;"
                + " edits here are lost: configure deploy/org.labhal.logging.cfg instead. -->\n");
        xml.append("<configuration>\n");
        // The log for OSGi readers (LogHistory): messages formatted, unlike pax-logging's own LogReaderService.
        xml.append("  <appender name=\"history\" class=\"").append(BRIDGE).append("\"><paxname>")
                .append(LogHistory.APPENDER).append("</paxname></appender>\n");
        if (console != null) {
            xml.append("  <appender name=\"console\" class=\"ch.qos.logback.core.ConsoleAppender\">\n");
            xml.append("    <target>System.err</target>\n");
            xml.append("    <filter class=\"ch.qos.logback.classic.filter.ThresholdFilter\"><level>")
                    .append(console == Level.OFF ? "OFF" : console.name()).append("</level></filter>\n");
            xml.append("    <encoder><pattern>").append(escape(PATTERN))
                    .append(console.passes(Level.DEBUG) ? "%ex{short}" : "%nopex").append("</pattern></encoder>\n");
            xml.append("  </appender>\n");
        }
        loggers.forEach((name, level) -> xml.append("  <logger name=\"").append(escape(name)).append("\" level=\"")
                .append(level.name()).append("\"/>\n"));
        xml.append("  <root level=\"").append(root.name()).append("\"><appender-ref ref=\"history\"/>");
        if (console != null) {
            xml.append("<appender-ref ref=\"console\"/>");
        }
        xml.append("</root>\n");
        xml.append("</configuration>\n");
        return xml.toString();
    }

    private static String escape(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (char c : text.toCharArray()) {
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&apos;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof LogbackSettings that && root == that.root && console == that.console
                && loggers.equals(that.loggers);
    }

    @Override
    public int hashCode() {
        return Objects.hash(root, console, loggers);
    }

    @Override
    public String toString() {
        return "root " + root + ", console " + (console == null ? "none" : console) + ", loggers " + loggers;
    }
}
