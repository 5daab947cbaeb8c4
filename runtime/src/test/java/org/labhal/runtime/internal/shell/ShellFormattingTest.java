package org.labhal.runtime.internal.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

class ShellFormattingTest {

    @Test
    void tablesAlignColumnsAndKeepEachRowOnOneLine() {
        String table = new Table("ID", "STATE", "DETAIL").row("sim-smw", "ONLINE", null)
                .row("x", "FAILED", "bad value\n  ^^^").toString();
        assertEquals("ID       STATE   DETAIL\nsim-smw  ONLINE  -\nx        FAILED  bad value ^^^", table);
        assertThrows(IllegalArgumentException.class, () -> new Table("A", "B").row("only one"));
        assertEquals("id     gen\nstate  ONLINE", Table.keyValues(List.of(new String[] { "id", "gen" },
                new String[] { "state", "ONLINE" })));
    }

    @Test
    void durationsAreReadAsTypedAndShownReadably() {
        assertEquals(Duration.ofMillis(500), ShellDurations.parse("500ms", "timeout"));
        assertEquals(Duration.ofSeconds(5), ShellDurations.parse("5", "timeout"), "a plain number is seconds");
        assertEquals(Duration.ofMillis(1500), ShellDurations.parse("1.5s", "timeout"));
        assertEquals(Duration.ofMinutes(2), ShellDurations.parse("2m", "lease"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ShellDurations.parse("soon", "lease"));
        assertTrue(e.getMessage().startsWith("lease 'soon' is not a duration"), e.getMessage());

        assertEquals("850 us", ShellDurations.format(Duration.ofNanos(850_000)));
        assertEquals("2.50 ms", ShellDurations.format(Duration.ofNanos(2_500_000)));
        assertEquals("12.3 ms", ShellDurations.format(Duration.ofNanos(12_300_000)));
        assertEquals("4.21 s", ShellDurations.format(Duration.ofMillis(4210)));
        assertEquals("3 min 5 s", ShellDurations.format(Duration.ofSeconds(185)));
    }
}
