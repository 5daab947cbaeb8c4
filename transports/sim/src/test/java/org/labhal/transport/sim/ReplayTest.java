package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.transport.sim.ScpiClient.BRIEF;
import static org.labhal.transport.sim.ScpiClient.errors;
import static org.labhal.transport.sim.ScpiClient.query;
import static org.labhal.transport.sim.ScpiClient.read;
import static org.labhal.transport.sim.ScpiClient.send;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The replaying simulator: what a recorded instrument says, session by session. */
class ReplayTest {

    /**
     * A recording exactly as common2.md specifies the step format (the contract between the trace export,
     * {@code instr:record} and the replay): written by hand, so that a change of either side shows here.
     */
    static final String BENCH = String.join("\n",
            "{\"seq\":1,\"time\":\"2026-12-07T20:01:02.100Z\",\"instrument\":\"sim-smw\",\"session\":\"SIM::SMW200A::1::INSTR#2\","
                    + "\"thread\":\"main\",\"kind\":\"QUERY\",\"command\":\"FREQ?\",\"answer\":\"1000000000\",\"answerBytes\":10,"
                    + "\"lockWaitUs\":3,\"ioUs\":28,\"outcome\":\"ok\",\"errors\":[]}",
            "{\"seq\":2,\"time\":\"2026-12-07T20:01:02.200Z\",\"instrument\":\"sim-smw\",\"session\":\"SIM::SMW200A::1::INSTR#2\","
                    + "\"thread\":\"main\",\"kind\":\"WRITE\",\"command\":\"FREQ 2e9\",\"lockWaitUs\":2,\"ioUs\":20,"
                    + "\"outcome\":\"ok\",\"errors\":[]}",
            "{\"seq\":3,\"time\":\"2026-12-07T20:01:02.300Z\",\"instrument\":\"sim-smw\",\"session\":\"SIM::SMW200A::1::INSTR#2\","
                    + "\"thread\":\"main\",\"kind\":\"QUERY\",\"command\":\"FREQ?\",\"answer\":\"2000000000\",\"answerBytes\":10,"
                    + "\"lockWaitUs\":3,\"ioUs\":25,\"outcome\":\"ok\",\"errors\":[]}",
            "{\"seq\":4,\"time\":\"2026-12-07T20:01:02.400Z\",\"instrument\":\"sim-smw\",\"session\":\"SIM::SMW200A::1::INSTR#2\","
                    + "\"thread\":\"main\",\"kind\":\"WRITE\",\"command\":\"FREQ 9e9\",\"lockWaitUs\":1,\"ioUs\":30,"
                    + "\"outcome\":\"error\",\"error\":\"-222,\\\"Data out of range\\\"\",\"errors\":[\"-222,\\\"Data out of range\\\"\"]}",
            "{\"seq\":5,\"time\":\"2026-12-07T20:01:02.500Z\",\"instrument\":\"sim-smw\",\"session\":\"SIM::SMW200A::1::INSTR#2\","
                    + "\"thread\":\"main\",\"kind\":\"ERROR_QUEUE\",\"lockWaitUs\":1,\"ioUs\":40,\"outcome\":\"ok\","
                    + "\"errors\":[\"-222,\\\"Data out of range\\\"\"]}",
            "{\"seq\":6,\"time\":\"2026-12-07T20:01:02.600Z\",\"instrument\":\"sim-smw\",\"session\":\"SIM::SMW200A::1::INSTR#2\","
                    + "\"thread\":\"main\",\"kind\":\"QUERY\",\"command\":\"FREQ?\",\"answer\":\"3000000000\",\"answerBytes\":10,"
                    + "\"lockWaitUs\":3,\"ioUs\":25,\"outcome\":\"ok\",\"errors\":[],\"someFutureField\":{\"x\":1}}",
            "{\"seq\":7,\"time\":\"2026-12-07T20:01:02.700Z\",\"instrument\":\"sim-smw\",\"session\":\"SIM::SMW200A::1::INSTR#2\","
                    + "\"thread\":\"main\",\"kind\":\"QUERY_BLOCK\",\"command\":\"TRAC:DATA?\",\"answerBase64\":\"AAEC/w==\","
                    + "\"answerBytes\":4,\"lockWaitUs\":2,\"ioUs\":50,\"outcome\":\"ok\",\"errors\":[]}",
            "{\"seq\":8,\"time\":\"2026-12-07T20:01:02.800Z\",\"instrument\":\"sim-smw\",\"session\":\"SIM::SMW200A::1::INSTR#2\","
                    + "\"thread\":\"main\",\"kind\":\"QUERY\",\"command\":\"CALC:DATA?\",\"answer\":\"1,2,3,4,5\",\"answerBytes\":4000,"
                    + "\"truncated\":true,\"lockWaitUs\":2,\"ioUs\":50,\"outcome\":\"ok\",\"errors\":[]}",
            "{\"seq\":9,\"time\":\"2026-12-07T20:01:02.900Z\",\"instrument\":\"sim-smw\",\"session\":\"SIM::SMW200A::1::INSTR#2\","
                    + "\"thread\":\"main\",\"kind\":\"QUERY\",\"command\":\"SYST:ERR?\",\"answer\":\"-100,\\\"Command error\\\"\","
                    + "\"answerBytes\":20,\"lockWaitUs\":2,\"ioUs\":50,\"outcome\":\"ok\",\"errors\":[]}",
            "{\"seq\":10,\"time\":\"2026-12-07T20:01:03.000Z\",\"instrument\":\"sim-smw\",\"session\":\"SIM::SMW200A::1::INSTR#2\","
                    + "\"thread\":\"main\",\"kind\":\"QUERY\",\"command\":\"POW?\",\"lockWaitUs\":2,\"ioUs\":5000,"
                    + "\"outcome\":\"timeout\",\"error\":\"no answer within 5 s\",\"errors\":[]}",
            "");

    @TempDir
    Path folder;

    private SimulatedInstrument instrument;

    @AfterEach
    void close() {
        if (instrument != null) {
            instrument.close();
        }
    }

    private SimulatedInstrument replay(String text) throws Exception {
        Path file = folder.resolve("bench-a.jsonl");
        Files.writeString(file, text, StandardCharsets.UTF_8);
        instrument = SimulatedInstrument.replay(file, SimSettings.defaults());
        return instrument;
    }

    @Test
    void theFormatPinnedByHandIsReadRecordByRecord() throws Exception {
        Recording recording = replay(BENCH).recording().orElseThrow();
        assertEquals(10, recording.records());
        assertEquals(6, recording.replayable(), "FREQ? three times, FREQ 2e9, FREQ 9e9, TRAC:DATA?");
        assertEquals(1, recording.truncated(), "CALC:DATA?");
        assertEquals(3, recording.ignored(), "ERROR_QUEUE, SYST:ERR?, and POW? which timed out");
    }

    @Test
    void recordedAnswersComeInOrderAndTheLastRepeats() throws Exception {
        try (SimConnection c = replay(BENCH).connect()) {
            assertEquals("1000000000", query(c, "FREQ?"));
            assertEquals("2000000000", query(c, "freq?"), "compared case-insensitively");
            assertEquals("3000000000", query(c, "  FREQ?  "), "leading and trailing whitespace ignored");
            assertEquals("3000000000", query(c, "FREQ?"), "the last answer repeats");
            assertEquals("3000000000", query(c, "FREQ?"));
            assertEquals(List.of(), errors(c));
            send(c, "*RST");
            assertEquals("1000000000", query(c, "FREQ?"), "*RST puts the cursors back");
        }
    }

    @Test
    void sessionsHaveCursorsOfTheirOwn() throws Exception {
        SimulatedInstrument replay = replay(BENCH);
        try (SimConnection a = replay.connect(); SimConnection b = replay.connect()) {
            assertEquals("1000000000", query(a, "FREQ?"));
            assertEquals("2000000000", query(a, "FREQ?"));
            assertEquals("1000000000", query(b, "FREQ?"), "b starts at the first answer");
            assertEquals("3000000000", query(a, "FREQ?"));
            assertEquals("2000000000", query(b, "FREQ?"));
            send(a, "NOT:RECorded");
            assertEquals(List.of(), errors(b), "error queues are the session's");
            assertEquals(List.of("-113,\"Undefined header\""), errors(a));
        }
    }

    @Test
    void anUnrecordedQueryIsAnUndefinedHeaderAndGetsNoAnswer() throws Exception {
        try (SimConnection c = replay(BENCH).connect()) {
            send(c, "MEAS:VOLT?");
            assertThrows(TimeoutException.class, () -> read(c, BRIEF));
            // the read timed out: -420 follows the -113, as on a real instrument addressed to talk
            assertEquals(List.of("-113,\"Undefined header\"", "-420,\"Query UNTERMINATED\""), errors(c));
            send(c, "POW?"); // recorded, but it timed out: never answered, so never recorded
            assertThrows(TimeoutException.class, () -> read(c, BRIEF));
            assertEquals("-113,\"Undefined header\"", errors(c).get(0));
            send(c, "CALC:DATA?"); // its answer was recorded truncated
            assertThrows(TimeoutException.class, () -> read(c, BRIEF));
            assertEquals("-113,\"Undefined header\"", errors(c).get(0));
            send(c, "*ESR?"); // common, but not recorded: the replay does not know it
            assertThrows(TimeoutException.class, () -> read(c, BRIEF));
            assertEquals("-113,\"Undefined header\"", errors(c).get(0));
        }
    }

    @Test
    void theErrorQueueIsTheReplaysOwnNotTheRecordedAnswers() throws Exception {
        try (SimConnection c = replay(BENCH).connect()) {
            assertEquals("0,\"No error\"", query(c, "SYST:ERR?"), "a recorded SYST:ERR? answer is not replayed");
            assertEquals("0,\"No error\"", query(c, "SYSTem:ERRor:NEXT?"));
        }
    }

    @Test
    void recordedErrorsFollowTheirCommand() throws Exception {
        try (SimConnection c = replay(BENCH).connect()) {
            send(c, "FREQ 2E9");
            assertEquals(List.of(), errors(c));
            send(c, "freq   9e9");
            assertEquals(List.of("-222,\"Data out of range\""), errors(c));
            send(c, "FREQ 9e9");
            send(c, "FREQ 9e9");
            assertEquals(List.of("-222,\"Data out of range\"", "-222,\"Data out of range\""), errors(c),
                    "the last recorded step repeats, errors included");
        }
    }

    @Test
    void builtInCommonCommandsWorkWhenNotRecorded() throws Exception {
        try (SimConnection c = replay(BENCH).connect()) {
            assertEquals("LabHAL,REPLAY-bench-a,0,1.0", query(c, "*IDN?"));
            assertEquals("1", query(c, "*OPC?"));
            send(c, "FREQ 9e9");
            send(c, "*CLS");
            assertEquals(List.of(), errors(c), "*CLS emptied the queue");
        }
    }

    @Test
    void aBlockAnswerComesBackAsTheRecordedBytes() throws Exception {
        try (SimConnection c = replay(BENCH).connect()) {
            send(c, "TRAC:DATA?");
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            byte[] buffer = new byte[3]; // several reads, as a client with a small buffer does
            SimRead read;
            do {
                read = c.read(buffer, 0, buffer.length, ScpiClient.TIMEOUT);
                answer.write(buffer, 0, read.count());
            } while (!read.end());
            byte[] expected = { '#', '1', '4', 0, 1, 2, (byte) 0xFF, '\n' };
            assertArrayEquals(expected, answer.toByteArray());
            assertArrayEquals(new byte[] { 0, 1, 2, (byte) 0xFF },
                    Base64.getDecoder().decode("AAEC/w=="), "the payload recorded");
        }
    }

    @Test
    void aBlockRecordedWithItsHeaderIsSentAsItIs() throws Exception {
        String block = Base64.getEncoder().encodeToString("#15hello".getBytes(StandardCharsets.US_ASCII));
        String line = "{\"kind\":\"QUERY_BLOCK\",\"command\":\"DATA?\",\"answerBase64\":\"" + block + "\",\"outcome\":\"ok\"}\n";
        try (SimConnection c = replay(line).connect()) {
            assertEquals("#15hello", query(c, "DATA?"));
        }
    }

    @Test
    void anInstrumentAlreadyOpenKeepsWhatItRead() throws Exception {
        SimulatedInstrument replay = replay(BENCH);
        Files.writeString(folder.resolve("bench-a.jsonl"), "", StandardCharsets.UTF_8);
        try (SimConnection c = replay.connect()) {
            assertEquals("1000000000", query(c, "FREQ?"));
        }
        assertTrue(replay.model().equals("REPLAY:bench-a"), replay.model());
    }
}
