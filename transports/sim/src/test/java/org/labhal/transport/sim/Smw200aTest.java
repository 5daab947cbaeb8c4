package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.labhal.transport.sim.ScpiClient.BRIEF;
import static org.labhal.transport.sim.ScpiClient.errorCodes;
import static org.labhal.transport.sim.ScpiClient.query;
import static org.labhal.transport.sim.ScpiClient.read;
import static org.labhal.transport.sim.ScpiClient.send;

import java.util.List;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Smw200aTest {

    private SimulatedInstrument smw;
    private SimConnection c;

    @BeforeEach
    void connect() throws Exception {
        smw = SimulatedInstrument.create("SMW200A", SimSettings.defaults());
        c = smw.connect();
    }

    @AfterEach
    void close() {
        smw.close();
    }

    @Test
    void powersOnInResetState() throws Exception {
        assertEquals("1000000000;-30;0", query(c, "FREQ?;POW?;OUTP?"));
        assertEquals("1000000000;-30;0", query(c, "SOUR2:FREQ?;:SOUR2:POW?;:OUTP2?"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "FREQ 2GHz | 2000000000",
        "frequency 2.5e9 | 2500000000",
        "SOURce1:FREQuency:CW 2.5 GHz | 2500000000",
        ":SOUR:FREQ:FIX 1.000000001GHz | 1000000001",
        "FREQ:CW 150khz | 150000",
        "FREQ 2 mhz | 2000000",
        "FREQ 1234.5678 MAHz | 1234567800",
        "FREQ 100 kHz | 100000",
        "FREQ 6 GHz | 6000000000",
        "FREQ 1000000.0004 | 1000000",
        "FREQ 1000000.0015 | 1000000.002",
        "FREQ MAX | 6000000000",
        "FREQ minimum | 100000",
        "FREQ DEF | 1000000000",
    })
    void setsFrequencyInAnyFormAndUnit(String command, String expected) throws Exception {
        send(c, command);
        assertEquals(expected, query(c, "SOUR:FREQ:CW?"));
        assertEquals(List.of(), errorCodes(c));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "FREQ 99.999 kHz | -222",
        "FREQ 6.000001 GHz | -222",
        "FREQ -1 | -222",
        "FREQ 1 dBm | -131",
        "FREQ 1 XHz | -131",
        "FREQ ON | -224",
        "FREQ 'x' | -104",
        "FREQ | -109",
        "FREQ 1GHz,2 | -108",
        "FREQU 1GHz | -113",
        "SOUR3:FREQ 1GHz | -113",
        "FREQ2 1GHz | -113",
        "POW 31 | -222",
        "POW -145.01 | -222",
        "POW 3 GHz | -131",
        "POW (@1) | -104",
        "OUTP MAYBE | -224",
        "OUTP 1 V | -131",
        "OUTP | -109",
        "OUTP3 ON | -113",
        "OUTP? 1 | -108",
        "FREQ? 1 | -104",
        "FREQ? UP | -224",
        "INIT 1 | -108",
    })
    void rejectsBadSettingsAndKeepsState(String command, int code) throws Exception {
        send(c, command);
        assertEquals(List.of(code), errorCodes(c));
        assertEquals("1000000000;-30;0", query(c, "FREQ?;POW?;OUTP?"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "POW -10 | -10",
        "SOUR:POW:LEV:IMM:AMPL -10.5 dBm | -10.5",
        "power:level -145 | -145",
        "POW:AMPL 30DBM | 30",
        "POW 0 | 0",
        "POW -12.345 | -12.34",
        "POW MAX | 30",
    })
    void setsLevel(String command, String expected) throws Exception {
        send(c, command);
        assertEquals(expected, query(c, "POW?"));
        assertEquals(List.of(), errorCodes(c));
    }

    @Test
    void switchesOutputsWithBooleans() throws Exception {
        send(c, "OUTP ON");
        assertEquals("1;0", query(c, "OUTP?;OUTP2?"));
        send(c, "OUTP:STAT OFF;:outp2:state 1");
        assertEquals("0;1", query(c, "OUTPut1:STATe?;:OUTP2?"));
        send(c, "OUTP 0.4;OUTP2 7");
        assertEquals("0;1", query(c, "OUTP?;OUTP2?"), "numbers round to an integer; non-zero is ON");
    }

    @Test
    void answersQueryLimits() throws Exception {
        assertEquals("100000;6000000000;-145;30", query(c, "FREQ? MIN;FREQ? MAX;POW? MIN;POW? MAXIMUM"));
    }

    @Test
    void sourcesAreIndependent() throws Exception {
        send(c, "SOUR2:FREQ 3GHz;:SOUR2:POW -20");
        assertEquals("3000000000;-20", query(c, "SOUR2:FREQ?;:SOUR2:POW?"));
        assertEquals("1000000000;-30", query(c, "FREQ?;POW?"));
    }

    @Test
    void appliesScpiPathRule() throws Exception {
        send(c, "SOUR2:FREQ 2GHz;POW -5");
        assertEquals("2000000000;-5;-30", query(c, "SOUR2:FREQ?;POW?;:SOUR1:POW?"));
        send(c, ":FREQ 4GHz;:OUTP:STAT ON;*OPC;STAT OFF");
        assertEquals("4000000000;0", query(c, "FREQ?;OUTP?"), "common commands do not move the path");
        assertEquals(List.of(), errorCodes(c));
        send(c, "OUTP ON;STAT OFF");
        assertEquals(List.of(-113), errorCodes(c), "after a leaf at the root, the path is the root");
        send(c, "SOUR:FREQ 2GHz;OUTP OFF");
        assertEquals(List.of(-113), errorCodes(c), "OUTP is not a child of SOUR");
        assertEquals("1", query(c, "OUTP?"), "still on from OUTP ON above");
    }

    @Test
    void resetRestoresPresets() throws Exception {
        send(c, "FREQ 3GHz;POW 0;:OUTP ON;:SOUR2:FREQ 2GHz");
        send(c, "*RST");
        assertEquals("1000000000;-30;0;1000000000", query(c, "FREQ?;POW?;OUTP?;:SOUR2:FREQ?"));
    }

    @Test
    void continuesAfterAFailingUnit() throws Exception {
        assertEquals("2000000000", query(c, "FREQ 9GHz;BOGUS;FREQ 2GHz;FREQ?"));
        assertEquals(List.of(-222, -113), errorCodes(c));
    }

    @Test
    void sessionsShareSettingsButNothingElse() throws Exception {
        try (SimConnection other = smw.connect()) {
            send(c, "FREQ 2.2GHz;BOGUS");
            assertEquals("2200000000", query(other, "FREQ?"), "one physical state");
            assertEquals("0", query(other, "*ESR?"), "own status registers");
            assertEquals(List.of(), errorCodes(other), "own error queue");
            send(other, "SIM:ECHO? mine");
            assertThrows(TimeoutException.class, () -> read(c, BRIEF), "own output queue");
            assertEquals("mine", read(other, ScpiClient.TIMEOUT));
            assertEquals(List.of(-113, -420), errorCodes(c));
            assertEquals("36", query(c, "*ESR?"), "own ESR: CME from BOGUS, QYE from the read that timed out");
        }
    }
}
