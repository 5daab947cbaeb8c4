package org.labhal.itest.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.itest.runtime.RuntimeTesting.awaitService;
import static org.labhal.itest.runtime.RuntimeTesting.properties;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.apache.felix.service.command.CommandProcessor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.labhal.api.instrument.Instrument;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * The traffic trace, statistics and record-and-replay in the runtime, through the shell: an instrument traced from
 * its configuration, its steps and latencies shown, a recording made of it, and that recording answering as
 * {@code SIM::REPLAY::<name>::INSTR} in place of the instrument.
 */
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
class TraceReplayTest {
    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    ConfigurationAdmin cm;

    @InjectService(timeout = 10_000)
    CommandProcessor gogo;

    @TempDir
    Path dir;

    @AfterEach
    void clean() throws Exception {
        RuntimeTesting.deleteAll(cm, context);
    }

    private String shell(String line) throws Exception {
        return RuntimeTesting.shell(gogo, line);
    }

    @Test
    void anInstrumentTracedByItsConfigurationShowsItsStepsAndLatencies() throws Exception {
        RuntimeTesting.configure(cm, "trc", properties("resource", RuntimeTesting.smw(), "trace", "true"));
        awaitService(context, Instrument.class, "(" + Instrument.ID + "=trc)");

        shell("instr:write trc 'FREQ 1.5 GHz'");
        assertEquals("1500000000", shell("instr:query trc 'FREQ?'"));

        String trace = shell("instr:trace trc 2");
        List<String> lines = trace.lines().toList();
        assertEquals(2, lines.size(), trace);
        assertTrue(lines.get(0).contains("WRITE") && lines.get(0).contains("> \"FREQ 1.5 GHz\""), trace);
        assertTrue(lines.get(1).contains("QUERY") && lines.get(1).contains("< \"1500000000\"")
                && lines.get(1).endsWith(" ok"), trace);
        String stats = shell("instr:stats trc");
        assertTrue(RuntimeTesting.row(stats, "WRITE").matches("WRITE +1 +0 .*"), stats);
        assertTrue(shell("instr:trace trc off").contains("trace off"));
        shell("instr:query trc '*IDN?'");
        assertEquals(lines, shell("instr:trace trc 2").lines().limit(2).toList(), "nothing traced while off");

        Path export = dir.resolve("trc.jsonl");
        assertTrue(shell("instr:trace trc export " + export).contains("steps written"));
        assertTrue(Files.readAllLines(export, StandardCharsets.UTF_8).stream()
                .anyMatch(line -> line.contains("\"command\":\"FREQ?\"") && line.contains("\"answer\":\"1500000000\"")));
        Exception unknown = assertThrows(Exception.class, () -> shell("instr:trace nosuch on"));
        assertTrue(unknown.getMessage().contains("no instrument 'nosuch'"), unknown.getMessage());
    }

    @Test
    void aRecordingAnswersInPlaceOfTheInstrumentAsASimulatedReplay() throws Exception {
        RuntimeTesting.configure(cm, "gen", properties("resource", RuntimeTesting.smw()));
        awaitService(context, Instrument.class, "(" + Instrument.ID + "=gen)");
        String identity = shell("instr:query gen '*IDN?'");

        String name = "bench-" + Long.toHexString(System.nanoTime()); // a name no earlier run left behind
        String started = shell("instr:record gen " + name); // into the folder labhal.recordings names
        assertTrue(started.contains("recording to") && started.contains("SIM::REPLAY::" + name + "::INSTR"), started);
        shell("instr:query gen '*IDN?'");
        shell("instr:write gen 'FREQ 2 GHz'");
        shell("instr:query gen 'FREQ?'");
        shell("instr:write gen 'FREQ 3 GHz'");
        shell("instr:query gen 'FREQ?'");
        String stopped = shell("instr:record gen stop");
        assertTrue(stopped.contains("recorded 5 steps to"), stopped);

        RuntimeTesting.configure(cm, "rep", properties("resource", "SIM::REPLAY::" + name + "::INSTR", "ioTimeout", "300"));
        awaitService(context, Instrument.class, "(" + Instrument.ID + "=rep)");
        assertTrue(RuntimeTesting.row(shell("instr:list"), "rep").contains("labhal-smw200a-sim"),
                "the replay identifies itself with the recorded *IDN? answer: " + shell("instr:list"));
        assertEquals(identity, shell("instr:query rep '*IDN?'"));
        assertEquals("2000000000", shell("instr:query rep 'FREQ?'"), "the recorded answers in their order");
        assertEquals("3000000000", shell("instr:query rep 'FREQ?'"));
        assertEquals("3000000000", shell("instr:query rep 'FREQ?'"), "then the last again");
        Exception unrecorded = assertThrows(Exception.class, () -> shell("instr:query rep 'POW?'"));
        assertTrue(unrecorded.getMessage().contains("no answer"), unrecorded.getMessage());
        assertTrue(shell("instr:errors rep").contains("-113"), "what was never recorded is an undefined header");
    }
}
