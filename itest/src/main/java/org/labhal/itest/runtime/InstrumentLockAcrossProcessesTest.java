package org.labhal.itest.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.itest.runtime.RuntimeTesting.awaitService;
import static org.labhal.itest.runtime.RuntimeTesting.configure;
import static org.labhal.itest.runtime.RuntimeTesting.number;
import static org.labhal.itest.runtime.RuntimeTesting.properties;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.apache.felix.service.command.CommandProcessor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.labhal.api.instrument.Instrument;
import org.labhal.itest.runtime.ChildRuntime.Run;
import org.labhal.transport.sim.SimSettings;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * Two frameworks in two processes on one shared-buffer instrument over HiSLIP or VXI-11: this test's Felix and
 * the executable jar as a child process, each running {@code instr:stress} (every step a query whose
 * answer names its run, thread and step) at the same time. The session lock of one process cannot
 * reach the other; the instrument-side lock the model asks for can. Every answer is checked against
 * its own question, and the wrong ones and errors are counted on both sides.
 */
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
class InstrumentLockAcrossProcessesTest {
    private static final String CHILD_STEPS = "600";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    ConfigurationAdmin cm;

    @InjectService(timeout = 10_000)
    CommandProcessor gogo;

    private LanSimulator.Served meter;
    private ChildRuntime child;

    /** What the stress runs of both processes add up to. */
    private record Tally(long parentRuns, long parentSteps, long parentWrong, long parentErrors, Run child,
            long childSteps, long childWrong, long childErrors) {
        long wrongOrFailed() {
            return parentWrong + parentErrors + childWrong + childErrors;
        }
    }

    @BeforeEach
    void startTheChild() throws IOException {
        child = new ChildRuntime(context);
    }

    @AfterEach
    void cleanUp() throws Exception {
        RuntimeTesting.deleteAll(cm, context);
        child.close();
        if (meter != null) {
            meter.close();
        }
    }

    @ParameterizedTest
    @EnumSource(LanSimulator.class)
    void withTheInstrumentLockNoAnswerCrossesBetweenTheProcesses(LanSimulator protocol) throws Exception {
        Tally tally = stressFromBothProcesses(protocol);
        assertEquals(0, tally.child().exit(), tally.child().out() + tally.child().err());
        assertTrue(tally.child().out().contains("with the instrument lock"), tally.child().out());
        assertEquals(Long.parseLong(CHILD_STEPS), tally.childSteps(), tally.child().out());
        assertEquals(0, tally.childWrong(), tally.child().out());
        assertEquals(0, tally.childErrors(), tally.child().out());
        assertEquals(0, tally.parentWrong(), tally.toString());
        assertEquals(0, tally.parentErrors(), tally.toString());
        assertTrue(tally.parentRuns() >= 1 && tally.parentSteps() > 0, "this process ran alongside: " + tally);
    }

    @Test
    void withoutItTheProcessesGetEachOthersAnswers() throws Exception {
        // The same run with the lock switched off on both sides: the check above can fail. The child may
        // not even get online: its *IDN? meets this process's steps in the shared buffer.
        Tally tally = stressFromBothProcesses(LanSimulator.HISLIP, "instrumentLock=false");
        Run run = tally.child();
        if (run.exit() != 0) {
            // each way a shared buffer breaks a step: the *IDN? probe failed (OFFLINE), the instrument
            // discarded an answer (-410 Query INTERRUPTED), or the other process took it (no answer)
            assertTrue(run.err().contains("lan is OFFLINE") || run.err().contains("Query INTERRUPTED")
                    || run.err().contains("reading the response: no answer within"),
                    "the child failed for the shared buffer's sake: " + run.err());
        } else {
            assertFalse(run.out().contains("with the instrument lock"), run.out());
            assertTrue(tally.wrongOrFailed() > 0, "the shared buffer mixed the processes' answers up: " + tally);
        }
    }

    /**
     * Starts the child's stress run, and runs stress rounds here until the child has finished, so that
     * the two overlap for the whole of the child's run.
     */
    private Tally stressFromBothProcesses(LanSimulator protocol, String... extra) throws Exception {
        // A millisecond from question to answer: wide enough that unguarded steps of the two processes
        // meet in the shared buffer (without it they do about once in 10,000 steps), as on a real meter.
        meter = protocol.serve("SHARED", SimSettings.defaults().withProcessingDelay(Duration.ofMillis(1)));
        String[] settings = new String[extra.length + 2];
        settings[0] = "resource=" + meter.resource();
        settings[1] = "ioTimeout=500";
        System.arraycopy(extra, 0, settings, 2, extra.length);
        child.deploy("lan", settings);
        Map<String, Object> own = properties("resource", meter.resource(), "ioTimeout", "500");
        for (String setting : extra) {
            own.put(setting.substring(0, setting.indexOf('=')), setting.substring(setting.indexOf('=') + 1));
        }
        configure(cm, "lan", own);
        awaitService(context, Instrument.class, "(" + Instrument.ID + "=lan)");

        CompletableFuture<Run> other = child.runAsync("instr:stress lan 2 " + CHILD_STEPS + " 1");
        long runs = 0;
        long steps = 0;
        long wrong = 0;
        long errors = 0;
        while (!other.isDone()) {
            String report;
            try {
                report = RuntimeTesting.shell(gogo, "instr:stress lan 2 100 1");
            } catch (Exception e) { // its plan's first queries met the other process's steps
                System.out.println("a stress round failed: " + e);
                errors++;
                continue;
            }
            runs++;
            steps += number(report, "steps done\\s+(\\d+)");
            wrong += number(report, "wrong answers\\s+(\\d+)");
            errors += number(report, "errors\\s+(\\d+)");
        }
        Run run = other.get();
        System.out.println("stress from two processes over " + protocol + (extra.length == 0 ? "" : " with " + String.join(" ", extra))
                + ": this one " + runs + " run(s), " + steps + " steps, " + wrong + " wrong, " + errors
                + " errors; the child exited " + run.exit() + ":\n" + run.out() + run.err());
        if (run.exit() != 0) {
            return new Tally(runs, steps, wrong, errors, run, 0, 0, 0);
        }
        return new Tally(runs, steps, wrong, errors, run, number(run.out(), "steps done\\s+(\\d+)"),
                number(run.out(), "wrong answers\\s+(\\d+)"), number(run.out(), "errors\\s+(\\d+)"));
    }

}
