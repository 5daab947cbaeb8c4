package org.labhal.itest.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.itest.runtime.RuntimeTesting.await;
import static org.labhal.itest.runtime.RuntimeTesting.awaitService;
import static org.labhal.itest.runtime.RuntimeTesting.properties;

import java.util.Hashtable;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

import org.apache.felix.service.command.CommandProcessor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.labhal.api.instrument.Instrument;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.log.LogEntry;
import org.osgi.service.log.LogLevel;
import org.osgi.service.log.LogListener;
import org.osgi.service.log.LogReaderService;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * One log backend (pax-logging with logback) for the OSGi log service and SLF4J, and the per-instrument trace
 * logger's level set at runtime by {@code instr:log} and by the {@code org.labhal.logging} configuration (what
 * {@code deploy/org.labhal.logging.cfg} gives).
 */
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
class LoggingTest {
    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    ConfigurationAdmin cm;

    @InjectService(timeout = 10_000)
    CommandProcessor gogo;

    @InjectService(timeout = 10_000)
    LogReaderService log;

    @InjectService(timeout = 10_000)
    LoggerFactory loggers;

    /** Every entry logged while a test runs, in order: pax-logging calls listeners in the logging thread. */
    private final List<LogEntry> entries = new CopyOnWriteArrayList<>();
    private final LogListener listener = entries::add;

    @BeforeEach
    void listen() {
        log.addLogListener(listener);
    }

    @AfterEach
    void clean() throws Exception {
        log.removeLogListener(listener);
        RuntimeTesting.deleteAll(cm, context);
        Configuration[] levels = cm.listConfigurations("(service.pid=org.labhal.logging)");
        if (levels != null) {
            for (Configuration configuration : levels) {
                configuration.delete();
            }
        }
    }

    private String shell(String line) throws Exception {
        return RuntimeTesting.shell(gogo, line);
    }

    @Test
    void slf4jAndTheOsgiLoggerReachTheSameLogAndSlf4jKeepsToTheLevel() throws Exception {
        String token = UUID.randomUUID().toString();
        org.slf4j.Logger slf4j = org.slf4j.LoggerFactory.getLogger("org.labhal.itest.slf4j");
        Logger osgi = loggers.getLogger("org.labhal.itest.osgi");

        slf4j.debug("SLF4J below the root level {}", token);
        slf4j.info("SLF4J {}", token);
        osgi.debug("OSGi below the root level {}", token);
        osgi.info("OSGi R7 {}", token);

        LogEntry fromSlf4j = awaitEntry(e -> e.getMessage().equals("SLF4J " + token), "the SLF4J entry");
        assertEquals("org.labhal.itest.slf4j", fromSlf4j.getLoggerName());
        assertEquals(LogLevel.INFO, fromSlf4j.getLogLevel());
        LogEntry fromOsgi = awaitEntry(e -> e.getMessage().equals("OSGi R7 " + token), "the OSGi R7 Logger entry");
        assertEquals("org.labhal.itest.osgi", fromOsgi.getLoggerName());
        assertEquals(LogLevel.INFO, fromOsgi.getLogLevel());
        assertEquals(context.getBundle(), fromOsgi.getBundle());
        // Listeners hear entries in the order they were logged: the debug ones, logged first, would be here by now.
        assertTrue(entries.stream().noneMatch(e -> e.getMessage().contains("below the root level " + token)),
                "debug entries kept out by the root level (info) for SLF4J and OSGi loggers alike: " + entries);
        assertTrue(entries.indexOf(fromSlf4j) < entries.indexOf(fromOsgi), "in the order logged");
    }

    @Test
    void instrLogTurnsTheTraceLoggersDebugEntriesOnAndOff() throws Exception {
        RuntimeTesting.configure(cm, "lg", properties("resource", RuntimeTesting.smw()));
        awaitService(context, Instrument.class, "(" + Instrument.ID + "=lg)");
        shell("instr:trace lg on");

        String on = shell("instr:log lg debug");
        assertEquals("lg: logger org.labhal.trace.lg at DEBUG", on);
        shell("instr:write lg 'FREQ 1.25 GHz'");
        LogEntry step = awaitEntry(e -> "org.labhal.trace.lg".equals(e.getLoggerName())
                && e.getMessage().contains("FREQ 1.25 GHz"), "the traced write at debug");
        assertEquals(LogLevel.DEBUG, step.getLogLevel());
        assertTrue(step.getMessage().contains("\"kind\":\"WRITE\""), step.getMessage());

        assertEquals("lg: logger org.labhal.trace.lg at INFO", shell("instr:log lg info"));
        int before = entries.size();
        shell("instr:write lg 'FREQ 2.5 GHz'");
        // The trace logs in the step's thread, before the command returns: it would be here by now.
        assertTrue(entries.subList(before, entries.size()).stream()
                .noneMatch(e -> "org.labhal.trace.lg".equals(e.getLoggerName())), "no trace entries at info: " + entries);
        assertTrue(shell("instr:trace lg 1").contains("FREQ 2.5 GHz"), "the step was traced all the same");

        Exception bad = assertThrows(Exception.class, () -> shell("instr:log lg loud"));
        assertTrue(bad.getMessage().contains("is not one of off, error, warn, info, debug, trace"), bad.getMessage());
    }

    @Test
    void theLoggingConfigurationSetsALoggersLevelAndItsRemovalRestoresTheRoot() throws Exception {
        Logger probe = loggers.getLogger("org.labhal.itest.configured");
        assertFalse(probe.isDebugEnabled(), "at the root level, info, to begin with");
        Configuration levels = cm.getConfiguration("org.labhal.logging", "?");
        levels.update(new Hashtable<>(properties("logger.org.labhal.itest.configured", "debug")));
        await(probe::isDebugEnabled, "the configured logger at debug");
        assertFalse(probe.isTraceEnabled());
        levels.delete();
        await(() -> !probe.isDebugEnabled(), "back at the root level once the configuration is gone");
    }

    private LogEntry awaitEntry(Predicate<LogEntry> match, String what) throws InterruptedException {
        await(() -> entries.stream().anyMatch(match), what);
        return entries.stream().filter(match).findFirst().orElseThrow();
    }
}
