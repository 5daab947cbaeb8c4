package org.labhal.itest.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.itest.runtime.RuntimeTesting.awaitService;
import static org.labhal.itest.runtime.RuntimeTesting.awaitShell;
import static org.labhal.itest.runtime.RuntimeTesting.configure;
import static org.labhal.itest.runtime.RuntimeTesting.number;
import static org.labhal.itest.runtime.RuntimeTesting.properties;
import static org.labhal.itest.runtime.RuntimeTesting.row;


import org.apache.felix.service.command.CommandProcessor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.labhal.api.instrument.Instrument;
import org.labhal.api.lock.LockTimeoutException;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * Every {@code instr:} command, run through Gogo as typed at the prompt, with its failures: each
 * failure is an exception whose message says what is wrong (Gogo prints it on one line).
 */
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
class ShellCommandsTest {

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    ConfigurationAdmin cm;

    @InjectService(timeout = 10_000)
    CommandProcessor gogo;

    private String smw;
    private String meter;

    @BeforeEach
    void configureTwoInstruments() throws Exception {
        smw = RuntimeTesting.smw();
        meter = RuntimeTesting.shared();
        configure(cm, "gen", properties("resource", smw, "errorChecking", "false"));
        configure(cm, "dmm", properties("resource", meter, "lockTimeout", "200"));
        awaitService(context, Instrument.class, "(" + Instrument.ID + "=gen)");
        awaitService(context, Instrument.class, "(" + Instrument.ID + "=dmm)");
    }

    @AfterEach
    void deleteConfigurations() throws Exception {
        try {
            shell("instr:unlock dmm");
        } catch (Exception notHeld) {
            // most tests take no lock
        }
        RuntimeTesting.deleteAll(cm, context);
    }

    @Test
    void listAndInfoShowStateModelPolicyAndWhereFrom() throws Exception {
        String list = shell("instr:list");
        assertTrue(list.startsWith("ID"), list);
        assertTrue(list.contains("POLICY") && list.contains("CONFIGURED BY"), list);
        String threads = list.lines().reduce((first, second) -> second).orElseThrow();
        assertTrue(threads.startsWith("instrument threads: ") && threads.contains(" of at most "),
                "the last line reports the instruments' connection threads: " + threads);
        String gen = row(list, "gen");
        assertTrue(gen.contains("ONLINE") && gen.contains("labhal-smw200a-sim") && gen.contains("INDEPENDENT_SESSIONS")
                && gen.contains(smw), gen);
        String dmm = row(list, "dmm");
        assertTrue(dmm.contains("labhal-shared-sim") && dmm.contains("SHARED_BUFFER"), dmm);
        assertEquals(list.lines().skip(1).findFirst().orElseThrow().indexOf("ONLINE"),
                list.lines().findFirst().orElseThrow().indexOf("STATE"), "columns are aligned");

        String info = shell("instr:info gen");
        assertTrue(row(info, "identity").matches("identity +LabHAL,SMW200A-SIM.*"), info);
        assertTrue(row(info, "lock policy").matches("lock policy +INDEPENDENT_SESSIONS \\(model 'labhal-smw200a-sim'\\)"),
                info);
        assertTrue(info.contains("driver bindings 1") && info.contains("SignalGenerator"), info);
        assertTrue(row(info, "lock domain").endsWith(" " + smw.replace("::INSTR", "")
                + " (from the resource: its simulated model and instance)"), info);

        assertFailure("instr:info nope", IllegalArgumentException.class, "no instrument 'nope'; configured: dmm, gen");
    }

    @Test
    void connectAndDisconnectMakeAndDeleteAShellConfiguration() throws Exception {
        String other = RuntimeTesting.smw();
        String connected = shell("instr:connect extra '" + other + "'");
        assertTrue(connected.contains("extra: online") && connected.contains("INDEPENDENT_SESSIONS"), connected);
        assertTrue(row(shell("instr:list"), "extra").contains("shell"), "made in the shell");
        assertEquals(1, cm.listConfigurations("(&(labhal.origin=shell)(id=extra))").length, "kept in ConfigAdmin");

        assertFailure("instr:connect extra '" + other + "'", IllegalStateException.class, "exists already");
        assertFailure("instr:connect broken 'SIM::'", IllegalArgumentException.class,
                "resource=SIM:: is not a valid resource string");
        assertFailure("instr:connect 'bad id' '" + other + "'", IllegalArgumentException.class, "is not a valid id");

        assertTrue(shell("instr:disconnect extra").contains("disconnected extra"));
        assertTrue(RuntimeTesting.references(context, "(" + Instrument.ID + "=extra)").isEmpty());
        assertFailure("instr:disconnect extra", IllegalArgumentException.class, "no instrument 'extra'");
    }

    @Test
    void connectReportsAnInstrumentThatCannotBeReached() throws Exception {
        assertFailure("instr:connect ghost 'SIM::NOSUCHMODEL::1::INSTR'", IllegalStateException.class,
                "configured ghost, but it is OFFLINE");
        assertTrue(row(shell("instr:list"), "ghost").contains("OFFLINE"));
        shell("instr:disconnect ghost");
    }

    @Test
    void queryWriteAndErrorsTalkThroughTheInstrumentsSession() throws Exception {
        assertEquals("ok", shell("instr:write gen 'FREQ 2.5 GHz'"));
        assertEquals(2.5e9, Double.parseDouble(shell("instr:query gen 'FREQ?'")));
        assertEquals("ok", shell("instr:write gen 'NO:SUCH:COMMAND'"));
        String errors = shell("instr:errors gen");
        assertTrue(errors.startsWith("-113"), "undefined header: " + errors);
        assertEquals("no errors", shell("instr:errors gen"), "reading clears the queue");

        assertFailure("instr:query nope '*IDN?'", IllegalArgumentException.class, "no instrument 'nope'");
        assertFailure("instr:query gen", IllegalArgumentException.class, "give the query to send");
    }

    @Test
    void modelsTransportsAndLocksAreTables() throws Exception {
        String models = shell("instr:models");
        String smwModel = row(models, "labhal-smw200a-sim");
        assertTrue(smwModel.contains("INDEPENDENT_SESSIONS") && smwModel.contains("SignalGenerator")
                && smwModel.contains("gen"), smwModel);
        assertTrue(row(models, "labhal-shared-sim").contains("dmm"), models);

        String transports = shell("instr:transports");
        assertTrue(row(transports, "SIM").contains("org.labhal.transport.sim"), transports);

        String locks = shell("instr:locks");
        assertTrue(locks.startsWith("LOCK DOMAIN"), locks);
        for (String column : new String[] { "POLICY", "HOLDER", "HELD FOR", "WAITERS", "ACQUISITIONS", "CONTENDED",
                "LONGEST WAIT" }) {
            assertTrue(locks.lines().findFirst().orElseThrow().contains(column), column);
        }
        String domain = meter.replace("::INSTR", "");
        assertTrue(row(locks, domain).contains("SHARED_BUFFER") && row(locks, domain).contains("dmm"), locks);
    }

    @Test
    void lockHoldsTheInstrumentUntilUnlockAndOthersTimeOutNamingTheHolder() throws Exception {
        String locked = shell("instr:lock dmm 1s 30s");
        assertTrue(locked.contains("held by thread labhal-shell-lock"), locked);
        String holder = row(shell("instr:locks"), meter.replace("::INSTR", ""));
        assertTrue(holder.contains("labhal-shell-lock") && holder.contains("instr:lock dmm"), holder);

        Exception e = assertFailure("instr:query dmm '*IDN?'", LockTimeoutException.class, "labhal-shell-lock");
        assertTrue(e.getMessage().contains("held from the shell"), e.getMessage());
        assertFailure("instr:lock dmm", IllegalStateException.class, "already holds the lock of dmm");

        assertTrue(shell("instr:unlock dmm").contains("dmm: lock released after"));
        assertTrue(shell("instr:query dmm '*IDN?'").contains("SHARED-SIM"), "free again");
        assertFailure("instr:unlock dmm", IllegalStateException.class, "hold no lock of dmm");
        assertFailure("instr:lock dmm soon", IllegalArgumentException.class, "timeout 'soon' is not a duration");
        assertFailure("instr:unlock nope", IllegalArgumentException.class, "no instrument 'nope'");
    }

    @Test
    void aLockLeaseExpiresByItself() throws Exception {
        shell("instr:lock dmm 1s 200ms");
        awaitShell(gogo, "instr:info dmm", out -> !out.contains("held from the shell"), "the lease ran out");
        assertTrue(shell("instr:query dmm '*IDN?'").contains("SHARED-SIM"));
    }

    @Test
    void sessiontestTellsIndependentFromSharedBufferWithEvidence() throws Exception {
        String independent = shell("instr:sessiontest '" + RuntimeTesting.smw() + "'");
        assertTrue(independent.lines().findFirst().orElseThrow().endsWith("INDEPENDENT_SESSIONS"), independent);
        assertTrue(independent.contains("A asked SIM:ECHO? a1 and got \"a1\" (its own answer)"), independent);

        String shared = shell("instr:sessiontest '" + RuntimeTesting.shared() + "' 200ms");
        assertTrue(shared.lines().findFirst().orElseThrow().endsWith("SHARED_BUFFER"), shared);
        assertTrue(shared.contains("(the other session's answer)"), shared);

        assertFailure("instr:sessiontest 'NOPE::1'", Exception.class, "NOPE");
        assertFailure("instr:sessiontest '" + RuntimeTesting.smw() + "' never", IllegalArgumentException.class,
                "timeout 'never' is not a duration");
    }

    @Test
    void stressCountsStepsAndCatchesWrongAnswersUnderTheWrongPolicy() throws Exception {
        String report = shell("instr:stress dmm 4 400 2");
        assertTrue(report.contains("lock policy SHARED_BUFFER"), report);
        assertEquals(400, number(report, "steps done\\s+(\\d+) of 400"));
        assertEquals(0, number(report, "wrong answers\\s+(\\d+)"));
        assertEquals(0, number(report, "errors\\s+(\\d+)"));
        assertTrue(report.contains("steps/s"), report);

        // the same shared-buffer meter with the policy forced to independent sessions: answers cross
        configure(cm, "dmm-wrong", properties("resource", RuntimeTesting.shared() + "?delay=1ms", "lockPolicy",
                "INDEPENDENT_SESSIONS", "ioTimeout", "300"));
        awaitService(context, Instrument.class, "(" + Instrument.ID + "=dmm-wrong)");
        String wrong = shell("instr:stress dmm-wrong 4 100 2");
        long damage = number(wrong, "wrong answers\\s+(\\d+)") + number(wrong, "errors\\s+(\\d+)");
        assertTrue(damage > 0, "the stress run exposes the wrong policy:\n" + wrong);

        // several instruments at once: every thread visits both, each under its own policy
        String both = shell("instr:stress gen,dmm 4 400 2");
        assertTrue(both.contains("gen (lock policy ") && both.contains("dmm (lock policy SHARED_BUFFER"),
                both);
        assertEquals(400, number(both, "steps done\\s+(\\d+) of 400"));
        assertEquals(0, number(both, "wrong answers\\s+(\\d+)"));
        assertEquals(0, number(both, "sessions reopened\\s+(\\d+)"));
        assertFailure("instr:stress gen,gen", IllegalArgumentException.class, "ids must be distinct");
        assertFailure("instr:stress gen,", IllegalArgumentException.class, "separated by single commas");

        assertFailure("instr:stress dmm 0", IllegalArgumentException.class, "threads must be 1 to 256");
        assertFailure("instr:stress dmm 2 10 3", IllegalArgumentException.class, "sessions must be 1 to threads");
        assertFailure("instr:stress nope", IllegalArgumentException.class, "no instrument 'nope'");
    }

    private String shell(String line) throws Exception {
        return RuntimeTesting.shell(gogo, line);
    }

    private <E extends Exception> E assertFailure(String line, Class<E> type, String message) {
        E e = assertThrows(type, () -> shell(line), line);
        assertTrue(e.getMessage() != null && e.getMessage().contains(message),
                line + " failed with: " + e.getMessage());
        assertFalse(e.getMessage().contains("\tat "), "no stack trace in the message");
        return e;
    }

}
