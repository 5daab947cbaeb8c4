package org.labhal.runtime.internal.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.ops4j.pax.logging.spi.PaxLevel;
import org.ops4j.pax.logging.spi.PaxLocationInfo;
import org.ops4j.pax.logging.spi.PaxLoggingEvent;
import org.osgi.service.log.LogEntry;
import org.osgi.service.log.LogLevel;
import org.osgi.service.log.LogListener;

class LogHistoryTest {

    @Test
    void entriesCarryTheFormattedMessageAndComeNewestFirstUpToTheLimit() {
        LogHistory history = new LogHistory(null);
        for (int i = 1; i <= LogHistory.KEPT + 5; i++) {
            history.doAppend(new Event(LogLevel.INFO, "org.labhal.x", "step " + i, null));
        }
        List<LogEntry> log = Collections.list(history.getLog());
        assertEquals(LogHistory.KEPT, log.size());
        assertEquals("step " + (LogHistory.KEPT + 5), log.get(0).getMessage());
        assertEquals("step 6", log.get(LogHistory.KEPT - 1).getMessage());
        assertEquals("org.labhal.x", log.get(0).getLoggerName());
        assertEquals(LogLevel.INFO, log.get(0).getLogLevel());
        assertNull(log.get(0).getBundle(), "no bundle context, no bundle");
    }

    @Test
    void listenersHearEachEntryInOrderAndOneThatThrowsIsDropped() {
        LogHistory history = new LogHistory(null);
        List<String> heard = new ArrayList<>();
        LogListener faulty = entry -> {
            throw new IllegalStateException("listener bug");
        };
        history.addLogListener(faulty);
        history.addLogListener(entry -> heard.add(entry.getMessage()));
        history.doAppend(new Event(LogLevel.WARN, "a", "first", new String[] { "java.io.IOException: gone", "\tat x" }));
        history.doAppend(new Event(LogLevel.DEBUG, "a", "second", null));
        assertEquals(List.of("first [java.io.IOException: gone]", "second"), heard);
    }

    private record Event(LogLevel level, String logger, String message, String[] trace) implements PaxLoggingEvent {
        @Override
        public PaxLocationInfo getLocationInformation() {
            return null;
        }

        @Override
        public PaxLevel getLevel() {
            return new PaxLevel() {
                @Override
                public boolean isGreaterOrEqual(PaxLevel other) {
                    return false;
                }

                @Override
                public LogLevel toLevel() {
                    return level;
                }

                @Override
                public int getSyslogEquivalent() {
                    return 0;
                }
            };
        }

        @Override
        public String getLoggerName() {
            return logger;
        }

        @Override
        public String getFQNOfLoggerClass() {
            return logger;
        }

        @Override
        public String getMessage() {
            return message;
        }

        @Override
        public String getRenderedMessage() {
            return message;
        }

        @Override
        public String getThreadName() {
            return "main";
        }

        @Override
        public String[] getThrowableStrRep() {
            return trace;
        }

        @Override
        public boolean locationInformationExists() {
            return false;
        }

        @Override
        public long getTimeStamp() {
            return 0;
        }

        @Override
        public Map<String, Object> getProperties() {
            return Map.of();
        }
    }
}
