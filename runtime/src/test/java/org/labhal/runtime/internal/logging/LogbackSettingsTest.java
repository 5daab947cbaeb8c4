package org.labhal.runtime.internal.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.labhal.runtime.internal.logging.LogbackSettings.Level;

class LogbackSettingsTest {

    @Test
    void levelsAreNamedAnyCaseAndABadNameIsNamedInTheMessage() {
        assertEquals(Level.WARN, LogbackSettings.level("warn", "labhal.log.level"));
        assertEquals(Level.DEBUG, LogbackSettings.level(" DEBUG ", "labhal.log.level"));
        assertNull(LogbackSettings.level("", "labhal.log.level"));
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> LogbackSettings.level("loud", "labhal.log.level"));
        assertEquals("labhal.log.level=loud is not one of off, error, warn, info, debug, trace", bad.getMessage());
    }

    @Test
    void aLevelPassesEntriesAtItOrAboveAndOffPassesNone() {
        assertTrue(Level.INFO.passes(Level.WARN));
        assertTrue(Level.INFO.passes(Level.INFO));
        assertFalse(Level.INFO.passes(Level.DEBUG));
        assertFalse(Level.OFF.passes(Level.ERROR));
        assertFalse(Level.TRACE.passes(Level.OFF));
    }

    @Test
    void theXmlHasTheRootTheNamedLoggersAndAConsoleOnStandardErrorOnlyWhenAsked() {
        String quiet = new LogbackSettings(Level.INFO, null, Map.of("org.labhal.trace.sim-smw", Level.DEBUG)).toXml();
        assertTrue(quiet.contains("<logger name=\"org.labhal.trace.sim-smw\" level=\"DEBUG\"/>"), quiet);
        assertTrue(quiet.contains("<root level=\"INFO\"><appender-ref ref=\"history\"/></root>"), quiet);
        assertTrue(quiet.contains("<paxname>labhal-history</paxname>"), "the log for OSGi readers: " + quiet);
        assertFalse(quiet.contains("ConsoleAppender"), quiet);

        String console = new LogbackSettings(Level.INFO, Level.WARN, Map.of()).toXml();
        assertTrue(console.contains("<target>System.err</target>"), console);
        assertTrue(console.contains("<level>WARN</level>"), console);
        assertTrue(console.contains("%nopex"), "no stack traces above debug: " + console);
        assertTrue(console.contains("<root level=\"INFO\"><appender-ref ref=\"history\"/><appender-ref ref=\"console\"/></root>"),
                console);
    }

    @Test
    void aDebugConsoleLeavesTheRootAsItIsAndShowsExceptions() {
        String xml = new LogbackSettings(Level.INFO, Level.DEBUG, Map.of()).toXml();
        assertTrue(xml.contains("<root level=\"INFO\">"), xml);
        assertTrue(xml.contains("%ex{short}"), "exceptions at a debug console: " + xml);
    }

    @Test
    void loggerNamesAreEscaped() {
        String xml = new LogbackSettings(Level.INFO, null, Map.of("a\"<b>&'c", Level.OFF)).toXml();
        assertTrue(xml.contains("<logger name=\"a&quot;&lt;b&gt;&amp;&apos;c\" level=\"OFF\"/>"), xml);
    }

    @Test
    void overridesReplaceNamedLevelsAndAddNewOnes() {
        LogbackSettings settings = new LogbackSettings(Level.WARN, Level.ERROR, Map.of("a", Level.INFO, "b", Level.INFO))
                .with(Map.of("b", Level.DEBUG, "c", Level.TRACE));
        assertEquals(Map.of("a", Level.INFO, "b", Level.DEBUG, "c", Level.TRACE), settings.loggers());
        assertEquals(Level.WARN, settings.root());
        assertEquals(Level.ERROR, settings.console());
    }

    @Test
    void theRuntimeConfigurationNamesTheRootAndLoggersAndRejectsBadLevels() {
        List<String> problems = new ArrayList<>();
        LogbackSettings settings = LogSetup.settings(Level.INFO, Level.WARN, Map.of("root", "warn",
                "logger.org.labhal.trace.gen", "debug", "felix.fileinstall.filename", "file:/x/org.labhal.logging.cfg"),
                problems);
        assertEquals(new LogbackSettings(Level.WARN, Level.WARN, Map.of("org.labhal.trace.gen", Level.DEBUG)), settings);
        assertEquals(Level.INFO, LogSetup.settings(Level.INFO, null, Map.of(), problems).root());
        assertEquals(List.of(), problems);
        LogbackSettings skipped = LogSetup.settings(Level.INFO, null, Map.of("logger.x", "chatty", "logger.ok", "warn",
                "logger.${evil}", "debug", "root", "loud"), problems);
        assertEquals(new LogbackSettings(Level.INFO, null, Map.of("ok", Level.WARN)), skipped,
                "a bad entry is skipped, the rest applies");
        assertEquals(3, problems.size(), problems.toString());
        assertTrue(problems.contains("org.labhal.logging logger.x=chatty is not one of off, error, warn, info, debug, "
                + "trace; ignored"), problems.toString());
    }
}
