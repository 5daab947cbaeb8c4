package org.labhal.itest.runtime;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;
import org.labhal.api.instrument.Instrument;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Filter;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.log.LogEntry;
import org.osgi.service.log.LogReaderService;
import org.osgi.util.tracker.ServiceTracker;

/**
 * What the runtime's framework tests share: instrument configurations made and removed through
 * ConfigAdmin, waits for the instrument services they lead to, shell command lines run through Gogo,
 * and the log. Every wait is bounded and checks a condition; none relies on timing.
 */
final class RuntimeTesting {
    static final String FACTORY_PID = "org.labhal.instrument";
    static final long TIMEOUT_MS = 10_000;
    private static final AtomicInteger INSTANCES = new AtomicInteger(800);

    private RuntimeTesting() {
    }

    /** @return a simulated SMW200A no other test uses */
    static String smw() {
        return "SIM::SMW200A::" + INSTANCES.incrementAndGet() + "::INSTR";
    }

    /** @return a simulated shared-buffer meter no other test uses */
    static String shared() {
        return "SIM::SHARED::" + INSTANCES.incrementAndGet() + "::INSTR";
    }

    /**
     * Creates or replaces the named instrument configuration {@code org.labhal.instrument~<name>}.
     *
     * @param cm ConfigAdmin
     * @param name the configuration's name (also the default id)
     * @param properties its properties
     * @return the configuration
     * @throws IOException when it cannot be stored
     */
    static Configuration configure(ConfigurationAdmin cm, String name, Map<String, ?> properties) throws IOException {
        Configuration configuration = cm.getFactoryConfiguration(FACTORY_PID, name, "?");
        configuration.update(new Hashtable<>(properties));
        return configuration;
    }

    /**
     * Deletes every instrument configuration, so that each test starts with none.
     *
     * @param cm ConfigAdmin
     * @param context to wait for the instrument services to go
     * @throws Exception when deleting fails
     */
    static void deleteAll(ConfigurationAdmin cm, BundleContext context) throws Exception {
        Configuration[] all = cm.listConfigurations("(service.factoryPid=" + FACTORY_PID + ")");
        if (all != null) {
            for (Configuration configuration : all) {
                configuration.delete();
            }
        }
        await(() -> references(context, "(" + Instrument.ID + "=*)").isEmpty(), "every instrument is gone");
    }

    /**
     * @param context the test bundle's context
     * @param filter an LDAP filter on the instrument services' properties
     * @return the matching instrument services now
     */
    static List<ServiceReference<Instrument>> references(BundleContext context, String filter) {
        try {
            return List.copyOf(context.getServiceReferences(Instrument.class, filter));
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /**
     * Waits for an instrument service whose properties match the filter.
     *
     * @param context the test bundle's context
     * @param type the service type to track (Instrument or a driver type)
     * @param filter an LDAP filter on its properties, e.g. {@code (labhal.instrument.id=a)}
     * @param <T> the type
     * @return the service
     * @throws Exception when none appears within the timeout
     */
    static <T> T awaitService(BundleContext context, Class<T> type, String filter) throws Exception {
        Filter full = FrameworkUtil.createFilter("(&(objectClass=" + type.getName() + ")" + filter + ")");
        ServiceTracker<T, T> tracker = new ServiceTracker<>(context, full, null);
        tracker.open();
        try {
            T service = tracker.waitForService(TIMEOUT_MS);
            if (service == null) {
                throw new AssertionError("no " + type.getSimpleName() + " service matching " + filter + " within "
                        + TIMEOUT_MS + " ms; registered instruments: " + describe(context));
            }
            return service;
        } finally {
            tracker.close();
        }
    }

    /** @return the registered instrument services' properties, for failure messages */
    static String describe(BundleContext context) {
        StringBuilder text = new StringBuilder();
        for (ServiceReference<Instrument> reference : references(context, null)) {
            text.append(" {").append(reference.getProperty(Instrument.ID)).append(' ')
                    .append(reference.getProperty(Instrument.MODEL)).append(' ')
                    .append(reference.getProperty(Instrument.LOCK_POLICY)).append('}');
        }
        return text.length() == 0 ? "none" : text.toString();
    }

    /**
     * Runs one command line as a user would at the prompt.
     *
     * @param processor Gogo
     * @param line the command line
     * @return what the command returned, formatted as the shell prints it
     * @throws Exception what the command threw
     */
    static String shell(CommandProcessor processor, String line) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8)) {
            CommandSession session = processor.createSession(new ByteArrayInputStream(new byte[0]), print, print);
            try {
                Object result = session.execute(line);
                return result == null ? out.toString(StandardCharsets.UTF_8)
                        : String.valueOf(session.format(result, Converter.INSPECT));
            } finally {
                session.close();
            }
        }
    }

    /**
     * Waits until the log has an entry that matches.
     *
     * @param log the log reader
     * @param match what to look for
     * @param what the condition, for the failure message
     * @return the entry
     * @throws InterruptedException when interrupted
     */
    static LogEntry awaitLog(LogReaderService log, Predicate<LogEntry> match, String what) throws InterruptedException {
        LogEntry[] found = new LogEntry[1];
        await(() -> {
            for (LogEntry entry : Collections.list(log.getLog())) {
                if (match.test(entry)) {
                    found[0] = entry;
                    return true;
                }
            }
            return false;
        }, what);
        return found[0];
    }

    /**
     * Waits, bounded, until a condition holds.
     *
     * @param condition the condition
     * @param what the condition in words, for the failure message
     * @throws InterruptedException when interrupted
     */
    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + TIMEOUT_MS + " ms waiting until " + what);
            }
            Thread.sleep(5);
        }
    }

    /**
     * Waits until a shell command's output satisfies a condition.
     *
     * @param processor Gogo
     * @param line the command line
     * @param condition on its output
     * @param what the condition in words
     * @return the output that satisfied it
     * @throws InterruptedException when interrupted
     */
    static String awaitShell(CommandProcessor processor, String line, Predicate<String> condition, String what)
            throws InterruptedException {
        String[] last = { "" };
        try {
            await(() -> {
                try {
                    last[0] = shell(processor, line);
                } catch (Exception e) {
                    last[0] = e.toString();
                }
                return condition.test(last[0]);
            }, what);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; last output of '" + line + "':\n" + last[0], e);
        }
        return last[0];
    }

    /**
     * @param text a command's output
     * @param regex a pattern whose first group is a whole number
     * @return that number
     */
    static long number(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        if (!m.find()) {
            throw new AssertionError("no " + regex + " in\n" + text);
        }
        return Long.parseLong(m.group(1));
    }

    /**
     * @param table a table printed by a shell command
     * @param first the first column's value
     * @return the row that starts with it
     */
    static String row(String table, String first) {
        return table.lines().filter(l -> l.startsWith(first + " ")).findFirst()
                .orElseThrow(() -> new AssertionError("no row " + first + " in\n" + table));
    }

    /** @return properties for a configuration */
    static Map<String, Object> properties(Object... keysAndValues) {
        Map<String, Object> map = new java.util.LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }

    /** @return a dictionary of the properties */
    static Dictionary<String, Object> dictionary(Map<String, Object> map) {
        return new Hashtable<>(map);
    }
}
