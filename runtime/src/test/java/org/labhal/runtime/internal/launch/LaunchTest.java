package org.labhal.runtime.internal.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;

import org.junit.jupiter.api.Test;

class LaunchTest {

    @Test
    void oneArgumentIsTheCommandLineAndSeveralAreJoinedAndQuoted() {
        assertEquals("instr:query sim-smw '*IDN?'", CommandLine.join(new String[] { "instr:query sim-smw '*IDN?'" }));
        assertEquals("instr:query sim-smw '*IDN?'", CommandLine.join(new String[] { "instr:query", "sim-smw", "*IDN?" }));
        assertEquals("instr:write gen 'FREQ 2 GHz'", CommandLine.join(new String[] { "instr:write", "gen", "FREQ 2 GHz" }));
        assertEquals("instr:connect x SIM::SMW200A::2::INSTR",
                CommandLine.join(new String[] { "instr:connect", "x", "SIM::SMW200A::2::INSTR" }));
    }

    @Test
    void defaultInstrumentsAreIdEqualsResourcePairs() {
        assertEquals(Map.of("sim-smw", "SIM::SMW200A::1::INSTR", "sim-shared", "SIM::SHARED::1::INSTR"),
                DefaultInstruments.parse(" sim-smw=SIM::SMW200A::1::INSTR  sim-shared=SIM::SHARED::1::INSTR "));
        assertEquals(Map.of(), DefaultInstruments.parse(null));
        assertThrows(IllegalArgumentException.class, () -> DefaultInstruments.parse("sim-smw"));
    }
}
