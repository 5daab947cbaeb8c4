package org.labhal.runtime.internal.logging;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.labhal.runtime.internal.logging.LogbackSettings.Level;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * Configures the one log backend, pax-logging's logback, which serves the OSGi log service (LogService, the R7
 * LoggerFactory, LogReaderService) and SLF4J alike. It writes a logback XML file into the runtime bundle's data
 * area and points pax-logging at it through ConfigAdmin (PID {@value #PAX_PID}, which pax-logging re-reads at each
 * update): the root level ({@value #ROOT}, default info), named loggers' levels (configuration PID {@value #PID},
 * keys {@code logger.<name>}, e.g. from {@code deploy/org.labhal.logging.cfg}), levels set at runtime
 * ({@link #setLevel}, {@code instr:log}) and, when {@value #CONSOLE} is set, a console on standard error.
 * pax-logging 2.3 has no OSGi LoggerAdmin, so this is how levels change at runtime. Thread-safe.
 */
@Component(service = LogSetup.class, immediate = true, configurationPid = LogSetup.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
public final class LogSetup {
    /** Configuration PID of the runtime's log levels: {@code root} and {@code logger.<name>} keys. */
    public static final String PID = "org.labhal.logging";
    /** Framework property: the lowest level written to standard error; unset writes nothing there. */
    public static final String CONSOLE = "labhal.log.level";
    /** Framework property: the root logger's level, what every logger not named otherwise lets through. */
    public static final String ROOT = "labhal.log.root";
    /** pax-logging's own configuration PID. */
    static final String PAX_PID = "org.ops4j.pax.logging";
    /** The key of {@value #PAX_PID} that names a logback XML file. */
    static final String PAX_FILE = "org.ops4j.pax.logging.logback.config.file";
    /** A key of {@value #PAX_PID} that changes with the file's content, so that an update is always seen. */
    static final String PAX_DIGEST = "labhal.logback.digest";
    private static final String LOGGER_KEY = "logger.";

    private final ConfigurationAdmin configurations;
    private final LoggerFactory loggers;
    private final Path file;
    private final Level frameworkRoot;
    private final Level console;
    private final Object lock = new Object();
    /** Guarded by {@link #lock}. */
    private LogbackSettings configured;
    /** Levels set at runtime, kept over configuration changes until a restart. Guarded by {@link #lock}. */
    private final Map<String, Level> overrides = new TreeMap<>();

    /**
     * @param context reads {@value #CONSOLE} and {@value #ROOT}; its data area holds the XML file
     * @param configurations where pax-logging's configuration is set
     * @param loggers tells when logback has taken a level on
     * @param properties the {@value #PID} configuration, if any
     * @throws IOException when the XML file cannot be written
     */
    @Activate
    public LogSetup(BundleContext context, @Reference ConfigurationAdmin configurations,
            @Reference LoggerFactory loggers, Map<String, Object> properties) throws IOException {
        this.configurations = configurations;
        this.loggers = loggers;
        this.file = context.getDataFile("logback.xml").toPath();
        Level root = LogbackSettings.level(context.getProperty(ROOT), ROOT);
        this.frameworkRoot = root == null ? Level.INFO : root;
        this.console = LogbackSettings.level(context.getProperty(CONSOLE), CONSOLE);
        modified(properties);
    }

    /**
     * @param properties a new {@value #PID} configuration
     * @throws IOException when the XML file cannot be written
     * @throws IllegalArgumentException for a level that is not one
     */
    @Modified
    public void modified(Map<String, Object> properties) throws IOException {
        LogbackSettings settings = settings(frameworkRoot, console, properties);
        synchronized (lock) {
            configured = settings;
            apply();
        }
    }

    /**
     * Sets a logger's level and waits until logback has taken it on.
     *
     * @param logger a logger name; the loggers below it (name + '.') follow unless set themselves
     * @param level its level
     * @param timeout how long to wait for logback to reconfigure
     * @throws IOException when the XML file cannot be written
     * @throws InterruptedException when interrupted while waiting
     * @throws IllegalStateException when logback did not take the level on within the timeout
     */
    public void setLevel(String logger, Level level, Duration timeout) throws IOException, InterruptedException {
        synchronized (lock) {
            overrides.put(logger, level);
            apply();
        }
        Logger probe = loggers.getLogger(logger);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!at(probe, level)) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("the log backend (pax-logging " + PAX_PID + ") did not set " + logger
                        + " to " + level + " within " + timeout.toMillis() + " ms; is pax-logging-logback running?");
            }
            TimeUnit.MILLISECONDS.sleep(5);
        }
    }

    /** @return the settings in force: configuration and framework properties plus the levels set at runtime */
    public LogbackSettings settings() {
        synchronized (lock) {
            return configured.with(overrides);
        }
    }

    /** Writes the XML file and tells pax-logging about it; the caller holds {@link #lock}. */
    private void apply() throws IOException {
        String xml = configured.with(overrides).toXml();
        Files.createDirectories(file.getParent());
        Path next = file.resolveSibling(file.getFileName() + ".next");
        Files.writeString(next, xml, StandardCharsets.UTF_8);
        // pax-logging may read the file at any time (a restart with kept storage, a ConfigAdmin redelivery): it
        // must never see half of it.
        Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Dictionary<String, Object> pax = new Hashtable<>();
        pax.put(PAX_FILE, file.toAbsolutePath().toString());
        pax.put(PAX_DIGEST, Integer.toHexString(xml.hashCode()));
        Configuration configuration = configurations.getConfiguration(PAX_PID, null);
        // unchanged (a restart with the same settings): pax-logging already runs with this file, no reset
        configuration.updateIfDifferent(pax);
    }

    /**
     * @param root the root level from the framework properties
     * @param console the console threshold, or null
     * @param properties a {@value #PID} configuration: {@code root}, {@code logger.<name>} keys; others ignored
     * @return the settings it says
     * @throws IllegalArgumentException for a level that is not one
     */
    static LogbackSettings settings(Level root, Level console, Map<String, Object> properties) {
        Level configuredRoot = LogbackSettings.level(string(properties.get("root")), PID + " root");
        Map<String, Level> named = new TreeMap<>();
        properties.forEach((key, value) -> {
            if (key.startsWith(LOGGER_KEY) && key.length() > LOGGER_KEY.length()) {
                Level level = LogbackSettings.level(string(value), PID + " " + key);
                if (level == null) {
                    throw new IllegalArgumentException(PID + " " + key + " has no level");
                }
                named.put(key.substring(LOGGER_KEY.length()), level);
            }
        });
        return new LogbackSettings(configuredRoot == null ? root : configuredRoot, console, named);
    }

    private static String string(Object value) {
        return value == null ? null : value.toString();
    }

    /** @return whether the logger lets entries at {@code level} through and none finer */
    static boolean at(Logger logger, Level level) {
        boolean[] passes = { logger.isErrorEnabled(), logger.isWarnEnabled(), logger.isInfoEnabled(),
                logger.isDebugEnabled(), logger.isTraceEnabled() };
        for (int i = 0; i < passes.length; i++) {
            // passes[i] is about Level.values()[i + 1]
            if (passes[i] != level.passes(Level.values()[i + 1])) {
                return false;
            }
        }
        return true;
    }
}
