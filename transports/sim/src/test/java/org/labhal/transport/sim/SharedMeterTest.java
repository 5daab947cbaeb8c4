package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.labhal.transport.sim.ScpiClient.BRIEF;
import static org.labhal.transport.sim.ScpiClient.errorCodes;
import static org.labhal.transport.sim.ScpiClient.query;
import static org.labhal.transport.sim.ScpiClient.read;
import static org.labhal.transport.sim.ScpiClient.send;
import static org.labhal.transport.sim.ScpiClient.write;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SharedMeterTest {

    private SimulatedInstrument meter;
    private SimConnection a;
    private SimConnection b;

    @BeforeEach
    void connect() throws Exception {
        meter = SimulatedInstrument.create("SHARED", SimSettings.defaults().withOperationTime(Duration.ofMillis(20)));
        a = meter.connect();
        b = meter.connect();
    }

    @AfterEach
    void close() {
        meter.close();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "MEAS:VOLT:DC? | +1.00000000E-03",
        "measure:voltage? (@101) | +1.01000000E-01",
        "MEAS:VOLT:DC? (@101,102:104) | +1.01000000E-01,+1.02000000E-01,+1.03000000E-01,+1.04000000E-01",
        "MEAS:VOLT:DC? 10,0.001,(@205) | +2.05000000E-01",
        "MEAS:VOLT:DC? AUTO,DEF | +1.00000000E-03",
        "MEAS:VOLT:DC? 10 mV | +1.00000000E-03",
        "MEAS:VOLT:DC? (@999) | +9.99000000E-01",
    })
    void measuresDeterministicReadings(String query, String expected) throws Exception {
        assertEquals(expected, query(a, query));
        assertEquals(List.of(), errorCodes(a));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "MEAS:VOLT:DC? (@0) | -222",
        "MEAS:VOLT:DC? (@1000) | -222",
        "MEAS:VOLT:DC? 'x' | -104",
        "MEAS:VOLT:DC? FAST | -224",
        "MEAS:VOLT:DC? 1 Hz | -131",
        "MEAS:VOLT:DC? 1,2,3 | -108",
        "MEAS:VOLT:DC | -113",
        "READ? 1 | -108",
        "CONF:VOLT:DC? | -113",
    })
    void rejectsBadMeasurements(String command, int code) throws Exception {
        send(a, command);
        assertEquals(List.of(code), errorCodes(a));
    }

    @Test
    void readAndFetchUseTheConfiguration() throws Exception {
        send(a, "FETC?");
        assertEquals(List.of(-230), errorCodes(a), "no readings after power-on");
        send(a, "CONF:VOLT:DC 10,(@103,107)");
        assertEquals("+1.03000000E-01,+1.07000000E-01", query(a, "READ?"));
        assertEquals("+1.03000000E-01,+1.07000000E-01", query(a, "FETCh?"));
        send(a, "*RST");
        send(a, "FETC?");
        assertEquals(List.of(-230), errorCodes(a), "*RST clears readings");
        assertEquals("+1.00000000E-03", query(a, "READ?"));
    }

    @Test
    void fetchWaitsForInitiatedMeasurement() throws Exception {
        send(a, "CONF:VOLT (@42)");
        long start = System.nanoTime();
        assertEquals("+4.20000000E-02", query(a, "INIT;FETC?"));
        assertEquals(true, System.nanoTime() - start >= Duration.ofMillis(20).toNanos());
    }

    @Test
    void oneConnectionReadsAnothersAnswer() throws Exception {
        send(a, "SIM:ECHO? for_a");
        assertEquals("for_a", read(b, ScpiClient.TIMEOUT));
        assertThrows(TimeoutException.class, () -> read(a, BRIEF));
    }

    @Test
    void errorQueueAndStatusAreShared() throws Exception {
        send(a, "BOGUS");
        assertEquals("32", query(b, "*ESR?"));
        assertEquals(List.of(-113), errorCodes(b));
        assertEquals(List.of(), errorCodes(a));
    }

    @Test
    void unreadAnswerIsLostWhenAnotherConnectionSpeaks() throws Exception {
        send(a, "SIM:ECHO? for_a");
        assertEquals("for_b", query(b, "SIM:ECHO? for_b"));
        assertThrows(TimeoutException.class, () -> read(a, BRIEF));
        assertEquals(List.of(-410, -420), errorCodes(a));
    }

    @Test
    void fragmentsFromTwoConnectionsInterleaveIntoGarbage() throws Exception {
        write(a, "SIM:ECHO? alpha", false);
        write(b, "SIM:ECHO? beta", true); // completes "SIM:ECHO? alphaSIM:ECHO? beta"
        write(a, " gamma", true); // completes " gamma"
        assertThrows(TimeoutException.class, () -> read(a, BRIEF));
        assertEquals(List.of(-102, -113, -420), errorCodes(b));
    }
}
