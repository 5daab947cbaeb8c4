package org.labhal.runtime.internal.logging;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.labhal.runtime.internal.logging.LogbackSettings.Level;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.cm.ConfigurationException;
import org.osgi.service.cm.ManagedService;
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
 * pax-logging 2.3 has no OSGi LoggerAdmin, so this is how levels change at runtime; its ManagedService is also told
 * directly, so that a change holds when this returns. The same settings go to the file named by the framework
 * property {@value #PAX_FILE}, which pax-logging reads as it starts: the next start begins with them. Thread-safe.
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
    /** A logger name logback's configuration can carry as it is: no markup, no ${substitution}. */
    private static final Pattern LOGGER_NAME = Pattern.compile("[A-Za-z0-9_.$-]{1,200}");

    private final BundleContext context;
    private final ConfigurationAdmin configurations;
    private final Path file;
    private final Path bootFile;
    private final Level frameworkRoot;
    private final Level console;
    private final Object lock = new Object();
    /** Guarded by {@link #lock}. */
    private LogbackSettings configured;
    /** Levels set at runtime, kept over configuration changes until a restart. Guarded by {@link #lock}. */
    private final Map<String, Level> overrides = new TreeMap<>();

    /**
     * @param context reads {@value #CONSOLE}, {@value #ROOT} and {@value #PAX_FILE}; its data area holds the XML
     *        file of changes made at runtime
     * @param configurations where pax-logging's configuration is set
     * @param properties the {@value #PID} configuration, if any
     * @throws IOException when an XML file cannot be written
     */
    @Activate
    public LogSetup(BundleContext context, @Reference ConfigurationAdmin configurations, Map<String, Object> properties)
            throws IOException {
        this.context = context;
        this.configurations = configurations;
        this.file = context.getDataFile("logback.xml").toPath();
        String boot = context.getProperty(PAX_FILE);
        this.bootFile = boot == null || boot.isBlank() ? null : Path.of(boot).toAbsolutePath();
        Level root = LogbackSettings.level(context.getProperty(ROOT), ROOT);
        this.frameworkRoot = root == null ? Level.INFO : root;
        this.console = LogbackSettings.level(context.getProperty(CONSOLE), CONSOLE);
        modified(properties);
    }

    /**
     * @param properties a new {@value #PID} configuration
     * @throws IOException when the XML file cannot be written
     */
    @Modified
    public void modified(Map<String, Object> properties) throws IOException {
        // A bad entry is reported and skipped: failing the whole configuration would leave logging at pax-logging's
        // defaults and take instr:log (and the commands that need this component) away until the file is fixed.
        List<String> problems = new ArrayList<>();
        LogbackSettings settings = settings(frameworkRoot, console, properties, problems);
        synchronized (lock) {
            configured = settings;
            apply();
        }
        if (!problems.isEmpty()) {
            ServiceReference<LoggerFactory> reference = context.getServiceReference(LoggerFactory.class);
            LoggerFactory loggers = reference == null ? null : context.getService(reference);
            if (loggers != null) {
                try {
                    loggers.getLogger(LogSetup.class).error("Logging configuration {}: {}", PID,
                            String.join("; ", problems));
                } finally {
                    context.ungetService(reference);
                }
            }
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
        ServiceReference<LoggerFactory> reference = context.getServiceReference(LoggerFactory.class);
        LoggerFactory loggers = reference == null ? null : context.getService(reference);
        if (loggers == null) {
            throw new IllegalStateException("no log service (pax-logging-logback) is running: " + logger + " is set to "
                    + level + " for when it starts");
        }
        try {
            awaitLevel(loggers.getLogger(logger), logger, level, timeout);
        } finally {
            context.ungetService(reference);
        }
    }

    private static void awaitLevel(Logger probe, String logger, Level level, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!at(probe, level)) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("the log backend (pax-logging " + PAX_PID + ") did not set " + logger
                        + " to " + level + " within " + timeout.toMillis() + " ms; is pax-logging-logback running?");
            }
            TimeUnit.MILLISECONDS.sleep(5);
        }
    }

    /**
     * Writes the XML files and tells pax-logging about the one of changes; the caller holds {@link #lock}. pax-logging
     * ignores a configuration that names its boot file ({@value #PAX_FILE} as a framework property): changes go to
     * a second file, in the data area.
     */
    private void apply() throws IOException {
        String xml = configured.with(overrides).toXml();
        boolean changed = false;
        if (bootFile != null) {
            changed |= write(bootFile, xml); // the next start begins with these settings
        }
        changed |= write(file, xml);
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put(PAX_FILE, file.toAbsolutePath().toString());
        properties.put(PAX_DIGEST, Integer.toHexString(xml.hashCode()));
        Configuration configuration = configurations.getConfiguration(PAX_PID, null);
        changed |= configuration.updateIfDifferent(properties);
        if (!changed) {
            return; // a restart with the same settings: pax-logging started with them (the boot file)
        }
        // ConfigAdmin delivers on its own thread, later: meanwhile bundles starting now would log under the
        // configuration pax-logging started with (logback's default, WARN to standard output, on a first start),
        // and instr:log would return before its level holds. pax-logging's ManagedService is told at once as well
        // (a second delivery by ConfigAdmin re-reads the same file; pax-logging blocks logging while it does).
        try {
            for (ServiceReference<ManagedService> reference : context.getServiceReferences(ManagedService.class,
                    "(" + Constants.SERVICE_PID + "=" + PAX_PID + ")")) {
                ManagedService pax = context.getService(reference);
                if (pax != null) {
                    try {
                        pax.updated(properties);
                    } catch (ConfigurationException e) {
                        throw new IOException("pax-logging refused " + file + ": " + e.getMessage(), e);
                    } finally {
                        context.ungetService(reference);
                    }
                }
            }
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e); // a constant filter
        }
    }

    /**
     * Replaces a file at once: pax-logging may read it at any time and must never see half of it.
     *
     * @return false when it already said this
     */
    private static boolean write(Path target, String xml) throws IOException {
        if (Files.isRegularFile(target) && Files.readString(target, StandardCharsets.UTF_8).equals(xml)) {
            return false;
        }
        Files.createDirectories(target.getParent());
        Path next = target.resolveSibling(target.getFileName() + ".next");
        Files.writeString(next, xml, StandardCharsets.UTF_8);
        Files.move(next, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return true;
    }

    /**
     * @param root the root level from the framework properties
     * @param console the console threshold, or null
     * @param properties a {@value #PID} configuration: {@code root}, {@code logger.<name>} keys; others ignored
     * @return the settings it says
     * @throws IllegalArgumentException for a level that is not one
     */
    static LogbackSettings settings(Level root, Level console, Map<String, Object> properties, List<String> problems) {
        Level configuredRoot = null;
        try {
            configuredRoot = LogbackSettings.level(string(properties.get("root")), PID + " root");
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage() + "; the root stays at " + root);
        }
        Map<String, Level> named = new TreeMap<>();
        properties.forEach((key, value) -> {
            if (key.startsWith(LOGGER_KEY) && key.length() > LOGGER_KEY.length()) {
                String name = key.substring(LOGGER_KEY.length());
                try {
                    Level level = LogbackSettings.level(string(value), PID + " " + key);
                    if (level == null) {
                        throw new IllegalArgumentException(PID + " " + key + " has no level");
                    }
                    if (!LOGGER_NAME.matcher(name).matches()) {
                        throw new IllegalArgumentException(PID + " " + key + ": '" + name + "' is not a logger name "
                                + "(letters, digits, '.', '_', '$', '-')");
                    }
                    named.put(name, level);
                } catch (IllegalArgumentException e) {
                    problems.add(e.getMessage() + "; ignored");
                }
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
