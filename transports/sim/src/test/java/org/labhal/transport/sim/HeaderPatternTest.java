package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.labhal.transport.sim.ScpiParser.Mnemonic;

class HeaderPatternTest {

    private static final HeaderPattern FREQUENCY = HeaderPattern.compile("[SOURce{1-2}]:FREQuency[:CW|:FIXed]");

    private static Optional<int[]> match(HeaderPattern pattern, String header) throws CommandException {
        return pattern.match(ScpiParser.parseUnit(header).header().nodes());
    }

    @ParameterizedTest
    @ValueSource(strings = {"FREQ", "freq", "Frequency", "FREQUENCY", "SOUR:FREQ", "source1:frequency:cw",
        "SOUR:FREQ:FIX", "FREQ:FIXED", "FREQ:CW"})
    void matchesLongShortAndOptionalForms(String header) throws Exception {
        assertTrue(match(FREQUENCY, header).isPresent(), header);
    }

    @ParameterizedTest
    @ValueSource(strings = {"FREQU", "FRE", "SOUR3:FREQ", "SOUR0:FREQ", "FREQ2", "FREQ:CW:FIX", "CW", "SOUR",
        "FREQ:SOUR", "SOURC:FREQ"})
    void rejectsOtherHeaders(String header) throws Exception {
        assertTrue(match(FREQUENCY, header).isEmpty(), header);
    }

    @Test
    void reportsSuffixesWithOneForOmitted() throws Exception {
        assertArrayEquals(new int[] {2}, match(FREQUENCY, "SOUR2:FREQ").orElseThrow());
        assertArrayEquals(new int[] {1}, match(FREQUENCY, "SOUR:FREQ").orElseThrow());
        assertArrayEquals(new int[] {1}, match(FREQUENCY, "FREQ").orElseThrow());
        HeaderPattern two = HeaderPattern.compile("ROUTe{1-4}:PATH{1-8}[:STATe]");
        assertArrayEquals(new int[] {3, 7}, two.match(List.of(new Mnemonic("ROUT", 3), new Mnemonic("PATH", 7)))
                .orElseThrow());
    }

    @Test
    void backtracksOverOptionalNodesWithTheSameName() throws Exception {
        HeaderPattern pattern = HeaderPattern.compile("[SOURce]:POWer[:LEVel][:IMMediate][:AMPLitude]");
        assertTrue(match(pattern, "POW:AMPL").isPresent());
        assertTrue(match(pattern, "SOUR:POW:LEV:IMM:AMPL").isPresent());
        assertTrue(match(pattern, "POW:IMM:LEV").isEmpty());
    }

    @ParameterizedTest
    @ValueSource(strings = {"[SOURce", "FREQuency{0-2}", "lower", "A::B", "A:", "", "FREQ{2-1}", "FR3Q", "A[B]",
            "A{-}", "A{}", "A{1-2-3}", "A{+1-2}", "A{1-\u0662}", "A{99999}"})
    void rejectsMalformedPatterns(String pattern) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HeaderPattern.compile(pattern));
        assertEquals("malformed SCPI header pattern '" + pattern + "'", e.getMessage());
    }
}
