package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import org.labhal.transport.sim.ScpiParser.ProgramUnit;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * SCPI header patterns ({@code [SOURce{1-2}]:FREQuency[:CW|:FIXed]}) as a model author writes them,
 * matched against headers as a client sends them: a pattern compiles or fails with an
 * {@link IllegalArgumentException} naming it, matching never throws and takes time polynomial in the
 * sizes, and the suffixes of a match are within the pattern's ranges.
 *
 * <p>Input: the pattern, a newline, then the program message unit whose header is matched.
 */
class HeaderPatternFuzzTest {

    @FuzzTest(maxDuration = "10s")
    void match(byte[] input) {
        String text = new String(input, StandardCharsets.ISO_8859_1);
        int newline = text.indexOf('\n');
        String notation = newline < 0 ? text : text.substring(0, newline);
        String header = newline < 0 ? "" : text.substring(newline + 1);
        HeaderPattern pattern;
        try {
            pattern = HeaderPattern.compile(notation);
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains("'" + notation + "'"), e.getMessage());
            return;
        }
        assertEquals(notation, pattern.toString());
        ProgramUnit unit;
        try {
            unit = ScpiParser.parseUnit(header);
        } catch (CommandException e) {
            return;
        }
        Optional<int[]> suffixes = pattern.match(unit.header().nodes());
        suffixes.ifPresent(values -> {
            for (int value : values) {
                assertTrue(value >= 1, "suffix " + value);
            }
        });
    }
}
