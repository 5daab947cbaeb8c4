package org.labhal.driver.sim.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.InstrumentErrorException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.instrument.Identity;
import org.labhal.api.instrument.ModelQuirks;
import org.labhal.api.instrument.OperationTimeoutException;
import org.labhal.api.instrument.ScpiInstrument;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.api.lock.LockPolicy;
import org.labhal.driver.sim.internal.StepLog.Step;
import org.labhal.transport.sim.internal.SimTransportFactory;

/**
 * The generic SCPI layer against the simulated SMW200A over the in-memory SIM transport: identity,
 * options, reset, status, errors and operation-complete synchronisation.
 */
class ScpiInstrumentOnSimTest {
    private static final ModelQuirks POLLING = ModelQuirks.defaults().withIoTimeout(Duration.ofSeconds(2))
            .withOpcTimeout(Duration.ofSeconds(10));

    private final SimTransportFactory transport = new SimTransportFactory();
    private final DefaultSessionFactory sessions = new DefaultSessionFactory(new DefaultLockService());
    private final ExecutorService pool = Executors.newCachedThreadPool();

    ScpiInstrumentOnSimTest() {
        sessions.addTransport(transport);
    }

    @AfterEach
    void stop() {
        pool.shutdownNow();
        sessions.deactivate();
        transport.deactivate();
    }

    private Session open(String resource) throws LabHalException {
        return sessions.open(ResourceAddress.parse(resource), SessionOptions.defaults()
                .withLockPolicy(LockPolicy.INDEPENDENT_SESSIONS).withIoTimeout(Duration.ofSeconds(2)));
    }

    @Test
    void identityOptionsAndReset() throws Exception {
        ScpiInstrument smw = new ScpiInstrument(open("SIM::SMW200A::1::INSTR"), POLLING);
        assertEquals(new Identity("LabHAL", "SMW200A-SIM", "100001", "1.0"), smw.identity());
        assertEquals(List.of("SMW-B10", "SMW-B106"), smw.options());
        smw.write("SOUR1:FREQ:CW 2e9");
        smw.write("OUTP1:STAT ON");
        smw.reset();
        assertEquals(1e9, smw.queryDouble("SOUR1:FREQ:CW?"));
        assertFalse(smw.queryBoolean("OUTP1:STAT?"));
        assertEquals(List.of(), smw.errors());
    }

    @Test
    void errorQueueAndClearStatus() throws Exception {
        ScpiInstrument smw = new ScpiInstrument(open("SIM::SMW200A::1::INSTR"), POLLING);
        smw.write("SOUR1:FREQ:CW 7e9");
        smw.write("NOSUCH:COMMAND");
        List<Integer> codes = smw.errors().stream().map(e -> e.code()).toList();
        assertEquals(List.of(-222, -113), codes);
        assertEquals(List.of(), smw.errors(), "reading the queue empties it");
        smw.write("NOSUCH:COMMAND");
        smw.clearStatus();
        assertEquals(List.of(), smw.errors());
        assertEquals(0, smw.queryInt("*ESR?"), "*CLS cleared the event status register too");
    }

    /**
     * While an operation runs, another thread's queries on the same session get through between the
     * polls. Proof by order, not time: the instrument itself says, at polls numbered before and after
     * those queries, that the operation was not complete yet.
     */
    @Test
    void pollingWaitLetsOtherStepsThroughWhileTheOperationRuns() throws Exception {
        StepLog log = new StepLog();
        Session session = log.wrap(open("SIM::SMW200A::1::INSTR?op=500ms"));
        ScpiInstrument smw = new ScpiInstrument(session, POLLING);
        AtomicBoolean waiting = new AtomicBoolean(true);
        CountDownLatch talking = new CountDownLatch(1);
        Future<Integer> other = pool.submit(() -> {
            Thread.currentThread().setName("other");
            int wrong = 0;
            for (int i = 0; waiting.get(); i++) {
                if (!session.query("SIM:ECHO? q" + i).equals("q" + i)) {
                    wrong++;
                }
                talking.countDown();
            }
            return wrong;
        });
        Future<?> operation = pool.submit(() -> {
            Thread.currentThread().setName("operation");
            assertTrue(talking.await(10, TimeUnit.SECONDS));
            try {
                smw.writeAndWait("INIT");
            } finally {
                waiting.set(false);
            }
            return null;
        });
        operation.get(30, TimeUnit.SECONDS);
        assertEquals(0, other.get(30, TimeUnit.SECONDS), "answers to another thread's questions");

        List<Step> ours = log.steps.stream().filter(step -> step.thread().equals("operation")).toList();
        long started = ours.stream().filter(step -> step.message().equals("INIT;*OPC")).findFirst().orElseThrow().seq();
        List<Step> polls = ours.stream().filter(step -> step.seq() > started && step.message().equals("*ESR?")).toList();
        Step ending = polls.get(polls.size() - 1);
        assertEquals(1, Integer.parseInt(ending.answer()) & 1, "the wait ended on the operation-complete bit");
        List<Long> running = polls.stream().filter(poll -> (Integer.parseInt(poll.answer()) & 1) == 0)
                .map(Step::seq).toList();
        assertTrue(running.size() >= 2, "polls that saw the operation running: " + running);
        long first = running.get(0);
        long last = running.get(running.size() - 1);
        long through = log.steps.stream()
                .filter(step -> step.thread().equals("other") && step.seq() > first && step.seq() < last).count();
        assertTrue(through > 0, "no query of another thread ran between polls while the operation was running");
    }

    @Test
    void opcTimeoutEndsTheWaitAndFreesTheLock() throws Exception {
        Session session = open("SIM::SMW200A::1::INSTR?op=5s");
        ScpiInstrument smw = new ScpiInstrument(session, POLLING.withOpcTimeout(Duration.ofMillis(100)));
        OperationTimeoutException e = assertThrows(OperationTimeoutException.class, () -> smw.writeAndWait("INIT"));
        assertEquals(Duration.ofMillis(100), e.timeout());
        assertTrue(e.getMessage().contains("\"INIT\"") && e.getMessage().contains("SIM::SMW200A::1::INSTR"),
                e.getMessage());
        assertTrue(session.lock().info().holder().isEmpty(), "no lock is held after the timeout");
        assertEquals("free", session.query("SIM:ECHO? free"), "the session is usable at once");
        assertThrows(OperationTimeoutException.class, () -> smw.writeAndWait("INIT", Duration.ofMillis(50)),
                "the instrument is still busy");
        smw.reset(); // *RST cancels the operations
        smw.writeAndWait("*WAI", Duration.ofSeconds(1));
    }

    @Test
    void blockingWaitOnTheSimulatorCompletes() throws Exception {
        ScpiInstrument smw = new ScpiInstrument(open("SIM::SMW200A::1::INSTR?op=50ms"), POLLING.withOpcPolling(false));
        smw.writeAndWait("INIT");
        assertEquals(List.of(), smw.errors());
    }

    /** Operations started at once from many threads each see their own completion: none times out. */
    @Test
    void concurrentOperationsThroughOneInstrumentAllComplete() throws Exception {
        ScpiInstrument smw = new ScpiInstrument(open("SIM::SMW200A::1::INSTR?op=5ms"),
                POLLING.withOpcTimeout(Duration.ofSeconds(5)));
        int threads = 4;
        int operations = 10;
        List<Future<Integer>> results = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            results.add(pool.submit(() -> {
                int done = 0;
                for (int i = 0; i < operations; i++) {
                    smw.writeAndWait("INIT");
                    done++;
                }
                return done;
            }));
        }
        int completed = 0;
        for (Future<Integer> result : results) {
            completed += result.get(60, TimeUnit.SECONDS);
        }
        assertEquals(threads * operations, completed);
    }

    @Test
    void aFailingStartReleasesTheWaitForTheNext() throws Exception {
        Session session = open("SIM::SMW200A::1::INSTR?op=10ms");
        session.setErrorChecking(true);
        ScpiInstrument smw = new ScpiInstrument(session, POLLING);
        InstrumentErrorException e = assertThrows(InstrumentErrorException.class,
                () -> smw.writeAndWait("SOUR1:FREQ:CW 7e9"));
        assertEquals(-222, e.errors().get(0).code());
        smw.writeAndWait("INIT");
    }

    @Test
    void anInterruptedWaitSaysSoAndKeepsTheFlag() throws Exception {
        StepLog log = new StepLog();
        Session session = log.wrap(open("SIM::SMW200A::1::INSTR?op=10s"));
        ScpiInstrument smw = new ScpiInstrument(session, POLLING.withOpcTimeout(Duration.ofSeconds(20)));
        AtomicReference<Thread> waiter = new AtomicReference<>();
        AtomicBoolean flagAfter = new AtomicBoolean();
        Future<Throwable> outcome = pool.submit(() -> {
            waiter.set(Thread.currentThread());
            try {
                smw.writeAndWait("INIT");
                return null;
            } catch (LabHalException failure) {
                flagAfter.set(Thread.currentThread().isInterrupted());
                return failure;
            }
        });
        // interrupt once the wait is polling, i.e. after the second *ESR? (the first cleared the register)
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (log.steps.stream().filter(step -> step.message().equals("*ESR?")).count() < 2) {
            assertTrue(System.nanoTime() < deadline, "the wait never started polling");
            Thread.onSpinWait();
        }
        waiter.get().interrupt();
        StepInterruptedException e = assertInstanceOf(StepInterruptedException.class, outcome.get(30, TimeUnit.SECONDS));
        assertTrue(e.getMessage().contains("INIT"), e.getMessage());
        assertTrue(flagAfter.get(), "the interrupt status is set again");
        assertTrue(session.lock().info().holder().isEmpty());
    }
}
