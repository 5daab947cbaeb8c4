package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.transport.sim.ScpiClient.BRIEF;
import static org.labhal.transport.sim.ScpiClient.errorCodes;
import static org.labhal.transport.sim.ScpiClient.errors;
import static org.labhal.transport.sim.ScpiClient.query;
import static org.labhal.transport.sim.ScpiClient.read;
import static org.labhal.transport.sim.ScpiClient.send;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** IEEE 488.2 common commands, the error queue and the status registers, on both models. */
class CommonCommandsTest {

    @Test
    void createRejectsUnknownModelNamingTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SimulatedInstrument.create("DSO9000", SimSettings.defaults()));
        assertEquals("unknown simulated instrument model 'DSO9000'; known models: SMW200A, SHARED, REPLAY:<recording>", e.getMessage());
        assertEquals(List.of("SMW200A", "SHARED"), SimulatedInstrument.models());
    }

    @Test
    void modelNamesAreCaseInsensitive() {
        try (SimulatedInstrument smw = SimulatedInstrument.create("smw200a", SimSettings.defaults());
                SimulatedInstrument shared = SimulatedInstrument.create("Shared", SimSettings.defaults())) {
            assertEquals("SMW200A", smw.model());
            assertEquals("SHARED", shared.model());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void identifiesWithDefaultOrConfiguredIdn(String model) throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, SimSettings.defaults().withSerialNumber("777"));
                SimulatedInstrument renamed = SimulatedInstrument.create(model, SimSettings.defaults().withIdn("ACME,X1,9,2.0"));
                SimConnection c = instrument.connect();
                SimConnection r = renamed.connect()) {
            assertEquals("LabHAL," + model + "-SIM,777,1.0", query(c, "*IDN?"));
            assertEquals("ACME,X1,9,2.0", query(r, "*idn?"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void selfTestAndOptions(String model) throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, SimSettings.defaults());
                SimConnection c = instrument.connect()) {
            assertEquals("0", query(c, "*TST?"));
            assertEquals(model.equals("SMW200A") ? "SMW-B10,SMW-B106" : "0", query(c, "*OPT?"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void errorQueueKeepsOrderAndEmptiesToNoError(String model) throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, SimSettings.defaults());
                SimConnection c = instrument.connect()) {
            assertEquals("0,\"No error\"", query(c, "SYST:ERR?"));
            send(c, "NOSUCH:HEADER");
            send(c, "*ESE 300");
            send(c, "*ESE");
            send(c, "*IDN? 1");
            send(c, "*ESE 'x'");
            send(c, "FOO BAR BAZ");
            send(c, "*FOO");
            assertEquals("-113,\"Undefined header\"", query(c, "SYSTem:ERRor:NEXT?"));
            assertEquals("-222,\"Data out of range\"", query(c, "syst:err?"));
            assertEquals(List.of(-109, -108, -104, -102, -113), errorCodes(c));
            assertEquals("0,\"No error\"", query(c, ":SYSTEM:ERROR?"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void errorQueueOverflowEndsWithQueueOverflow(String model) throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, SimSettings.defaults());
                SimConnection c = instrument.connect()) {
            for (int i = 0; i < 12; i++) {
                send(c, i % 2 == 0 ? "BOGUS" + i : "*ESE 999");
            }
            assertEquals(List.of(-113, -222, -113, -222, -113, -222, -113, -222, -113, -350), errorCodes(c));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void eventStatusRegisterIsReadAndCleared(String model) throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, SimSettings.defaults());
                SimConnection c = instrument.connect()) {
            assertEquals("0", query(c, "*ESR?"));
            send(c, "BOGUS");
            send(c, "*ESE 256");
            assertThrows(TimeoutException.class, () -> read(c, Duration.ofMillis(1)));
            assertEquals(Integer.toString(ScpiError.CME | ScpiError.EXE | ScpiError.QYE), query(c, "*ESR?"));
            assertEquals("0", query(c, "*ESR?"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void clsClearsErrorQueueAndEventStatus(String model) throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, SimSettings.defaults());
                SimConnection c = instrument.connect()) {
            send(c, "BOGUS;*ESE 42");
            send(c, "*CLS");
            assertEquals("0", query(c, "*ESR?"));
            assertEquals(List.of(), errors(c));
            assertEquals("42", query(c, "*ESE?"), "*CLS leaves the enable registers alone");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void enableRegistersRoundTrip(String model) throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, SimSettings.defaults());
                SimConnection c = instrument.connect()) {
            assertEquals("0;0", query(c, "*ESE?;*SRE?"));
            send(c, "*ESE 36.4;*SRE 255");
            assertEquals("36;191", query(c, "*ESE?;*SRE?"), "NRf is rounded; SRE bit 6 cannot be enabled");
            send(c, "*RST");
            assertEquals("36;191", query(c, "*ESE?;*SRE?"), "*RST leaves the enable registers alone");
            send(c, "*SRE -1");
            assertEquals(List.of(-222), errorCodes(c));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void statusByteSummarisesQueuesAndRegisters(String model) throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, SimSettings.defaults());
                SimConnection c = instrument.connect()) {
            assertEquals("0", query(c, "*STB?"));
            assertEquals("*IDN done;16", query(c, "SIM:ECHO? '*IDN done';*STB?"), "MAV: an answer is queued");
            send(c, "BOGUS");
            assertEquals("4", query(c, "*STB?"), "EAV: the error queue is not empty");
            send(c, "*ESE 32");
            assertEquals("36", query(c, "*STB?"), "ESB: CME is enabled");
            send(c, "*SRE 32");
            assertEquals("100", query(c, "*STB?"), "MSS: ESB is enabled for service requests");
            send(c, "*CLS");
            assertEquals("0", query(c, "*STB?"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void echoAnswersWordsNumbersAndStrings(String model) throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, SimSettings.defaults());
                SimConnection c = instrument.connect()) {
            assertEquals("Token_1", query(c, "SIM:ECHO? Token_1"));
            assertEquals("-1.5e3", query(c, "simulation:echo? -1.5e3"));
            assertEquals("a; b, 'c'", query(c, "SIM:ECHO? \"a; b, 'c'\""));
            assertEquals("x;y", query(c, "SIM:ECHO? x;:SIM:ECHO? y"), "two queries, one response message");
            assertEquals("x;y", query(c, "SIM:ECHO? x;ECHO? y"), "path rule: ECHO is relative to SIM");
            assertEquals("x", query(c, "SIM:ECHO? x;SIM:ECHO? y"), "path rule: this is SIM:SIM:ECHO?");
            assertEquals(List.of(-113), errorCodes(c));
            send(c, "SIM:ECHO?");
            send(c, "SIM:ECHO? a,b");
            send(c, "SIM:ECHO? (@1)");
            send(c, "SIM:ECHO a");
            assertEquals(List.of(-109, -108, -104, -113), errorCodes(c));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void opcSetsEventBitOnlyWhenOperationsComplete(String model) throws Exception {
        SimSettings slow = SimSettings.defaults().withOperationTime(Duration.ofMinutes(30));
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, slow);
                SimConnection c = instrument.connect()) {
            send(c, "INIT;*OPC");
            assertEquals("0", query(c, "*ESR?"), "the operation is still running");
            send(c, "*RST");
            assertEquals("0", query(c, "*ESR?"), "*RST cancels the pending *OPC of its session");
        }
        SimSettings quick = SimSettings.defaults().withOperationTime(Duration.ofMillis(30));
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, quick);
                SimConnection c = instrument.connect()) {
            assertEquals("1", query(c, "*OPC;*ESR?"), "no operation pending: complete at once");
            long start = System.nanoTime();
            send(c, "INITiate:IMMediate;*OPC");
            assertEquals("1", query(c, "*WAI;*ESR?"));
            assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofMillis(30)) >= 0);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void opcQueryAnswersOnlyOnceOperationsComplete(String model) throws Exception {
        SimSettings slow = SimSettings.defaults().withOperationTime(Duration.ofMinutes(30));
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, slow);
                SimConnection c = instrument.connect()) {
            Thread writer = new Thread(() -> {
                try {
                    send(c, "INIT;*OPC?");
                } catch (Exception expected) {
                    // closing the connection below abandons the message
                }
            }, "opc-query-writer");
            writer.start();
            assertThrows(TimeoutException.class, () -> read(c, BRIEF));
            c.close();
            writer.join(5_000);
            assertTrue(!writer.isAlive(), "closing the connection ends the wait for the operation");
        }
        SimSettings quick = SimSettings.defaults().withOperationTime(Duration.ofMillis(30));
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, quick);
                SimConnection c = instrument.connect()) {
            long start = System.nanoTime();
            assertEquals("1;done", query(c, "INIT;*OPC?;SIM:ECHO? done"));
            assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofMillis(30)) >= 0);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void waiHoldsLaterCommandsUntilOperationsComplete(String model) throws Exception {
        SimSettings slow = SimSettings.defaults().withOperationTime(Duration.ofMinutes(30));
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, slow);
                SimConnection c = instrument.connect()) {
            Thread writer = new Thread(() -> {
                try {
                    send(c, "INIT;*WAI;SIM:ECHO? late");
                } catch (Exception expected) {
                    // closing the connection below abandons the message
                }
            }, "wai-writer");
            writer.start();
            assertThrows(TimeoutException.class, () -> read(c, BRIEF));
            c.close();
            writer.join(5_000);
            assertTrue(!writer.isAlive(), "closing the connection ends the wait for the operation");
        }
        SimSettings quick = SimSettings.defaults().withOperationTime(Duration.ofMillis(30));
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, quick);
                SimConnection c = instrument.connect()) {
            long start = System.nanoTime();
            assertEquals("after", query(c, "INIT;*WAI;SIM:ECHO? after"));
            assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofMillis(30)) >= 0);
        }
    }

    @Test
    void rstInAnotherSmwSessionEndsTheOperationAWaiWaitsFor() throws Exception {
        SimSettings slow = SimSettings.defaults().withOperationTime(Duration.ofMinutes(30));
        try (SimulatedInstrument instrument = SimulatedInstrument.create("SMW200A", slow);
                SimConnection c = instrument.connect();
                SimConnection other = instrument.connect()) {
            Thread writer = new Thread(() -> {
                try {
                    send(c, "INIT;*WAI;SIM:ECHO? late");
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }, "wai-writer");
            writer.start();
            assertThrows(TimeoutException.class, () -> read(c, BRIEF));
            send(other, "*RST");
            assertEquals("late", read(c, ScpiClient.TIMEOUT));
            writer.join(5_000);
            assertTrue(!writer.isAlive());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SMW200A", "SHARED"})
    void commonCommandsRejectParametersAndWrongForms(String model) throws Exception {
        try (SimulatedInstrument instrument = SimulatedInstrument.create(model, SimSettings.defaults());
                SimConnection c = instrument.connect()) {
            send(c, "*RST 1;*CLS 1;*WAI 1;*OPC 1");
            send(c, "*RST?;*STB;*ESR 1;*TST");
            send(c, "*ESE 1e30000;*SRE 1e-30000;*ESE 1e40000");
            assertEquals(List.of(-108, -108, -108, -108, -113, -113, -113, -113, -222, -123), errorCodes(c));
            assertEquals("0", query(c, "*SRE?"), "1e-30000 rounds to 0");
        }
    }
}
