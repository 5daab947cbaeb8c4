package org.labhal.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionFactory;
import org.labhal.api.SessionOptions;
import org.labhal.api.lock.LockPolicy;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * The three multithreading scenarios of the seed documents (RsInstrument's "Multithreading"),
 * against the simulated instruments in a real Felix. Every answer is checked against its own
 * question; crosstalk is counted, not timed.
 */
@ExtendWith(ServiceExtension.class)
class SeedScenariosTest {
    /** Each test gets fresh simulated instruments: SIM instances are numbered. */
    private static final AtomicInteger INSTANCES = new AtomicInteger(100);
    private static final int THREADS = 12;
    private static final int QUERIES = 40;
    /** Crosstalk makes readers wait for answers someone else took: keep those waits short. */
    private static final Duration CROSSTALK_IO_TIMEOUT = Duration.ofMillis(200);
    /** Rounds a crosstalk test may take to see crosstalk at all (scheduling decides when it shows). */
    private static final int CROSSTALK_ROUNDS = 20;

    @InjectService(timeout = 10_000)
    SessionFactory sessions;

    private static String shared() {
        return "SIM::SHARED::" + INSTANCES.incrementAndGet() + "::INSTR?delay=1ms";
    }

    private static String smw() {
        return "SIM::SMW200A::" + INSTANCES.incrementAndGet() + "::INSTR?delay=2ms";
    }

    private Session open(String resource, LockPolicy policy) throws Exception {
        return sessions.open(ResourceAddress.parse(resource), SessionOptions.defaults().withLockPolicy(policy)
                .withIoTimeout(CROSSTALK_IO_TIMEOUT).withLockTimeout(Duration.ofSeconds(30)));
    }

    @Nested
    class OneSessionManyThreads {
        @Test
        void sharedBufferInstrumentGetsNoWrongAnswer() throws Exception {
            try (Session session = open(shared(), LockPolicy.SHARED_BUFFER)) {
                Talkers.Outcome outcome = Talkers.run(List.of(session), THREADS, QUERIES);
                assertEquals(THREADS * QUERIES, outcome.right(), outcome::toString);
                assertEquals(0, outcome.problems(), outcome::toString);
                assertEquals(1, outcome.peakInside(), "one step at a time: " + outcome);
            }
        }

        @Test
        void independentSessionInstrumentGetsNoWrongAnswer() throws Exception {
            try (Session session = open(smw(), LockPolicy.INDEPENDENT_SESSIONS)) {
                Talkers.Outcome outcome = Talkers.run(List.of(session), THREADS, QUERIES);
                assertEquals(THREADS * QUERIES, outcome.right(), outcome::toString);
                assertEquals(0, outcome.problems(), outcome::toString);
            }
        }
    }

    @Nested
    class SharedSessionTwoDriverObjects {
        @Test
        void twoObjectsOnOneSessionShareItsLock() throws Exception {
            try (Session instr1 = open(shared(), LockPolicy.SHARED_BUFFER); Session instr2 = instr1.share()) {
                assertSame(instr1.lock(), instr2.lock());
                Talkers.Outcome outcome = Talkers.run(List.of(instr1, instr2), THREADS, QUERIES);
                assertEquals(THREADS * QUERIES, outcome.right(), outcome::toString);
                assertEquals(0, outcome.problems(), outcome::toString);
            }
        }

        @Test
        void breakingAwayFromASharedSessionStillKeepsEveryStepWhole() throws Exception {
            try (Session instr1 = open(shared(), LockPolicy.SHARED_BUFFER); Session instr2 = instr1.share()) {
                // RsInstrument's clear_lock() on a shared session lets two talkers into one VISA session
                // ("all the fun stuff happening"). LabHAL keeps every step on one connection whole
                // whatever lock a handle holds: breaking away only frees multi-step leases.
                instr2.breakAway();
                assertNotSame(instr1.lock(), instr2.lock());
                Talkers.Outcome outcome = Talkers.run(List.of(instr1, instr2), THREADS, QUERIES);
                assertEquals(THREADS * QUERIES, outcome.right(), outcome::toString);
                assertEquals(0, outcome.problems(), outcome::toString);
            }
        }
    }

    @Nested
    class TwoSessions {
        @Test
        void sharedBufferInstrumentWithoutSharedLockHasCrosstalk() throws Exception {
            String resource = shared();
            try (Session a = open(resource, LockPolicy.INDEPENDENT_SESSIONS);
                    Session b = open(resource, LockPolicy.INDEPENDENT_SESSIONS)) {
                assertNotSame(a.lock(), b.lock());
                Talkers.Outcome outcome = Talkers.runUntilCrosstalk(List.of(a, b), THREADS, QUERIES / 2,
                        CROSSTALK_ROUNDS);
                assertTrue(outcome.problems() > 0, "crosstalk must be seen: " + outcome);
            }
        }

        @Test
        void sharedBufferInstrumentWithAdoptedLockHasNone() throws Exception {
            String resource = shared();
            try (Session a = open(resource, LockPolicy.INDEPENDENT_SESSIONS);
                    Session b = open(resource, LockPolicy.INDEPENDENT_SESSIONS)) {
                b.adoptLock(a.lock()); // RsInstrument's assign_lock(get_lock())
                Talkers.Outcome outcome = Talkers.run(List.of(a, b), THREADS, QUERIES);
                assertEquals(THREADS * QUERIES, outcome.right(), outcome::toString);
                assertEquals(0, outcome.problems(), outcome::toString);
            }
        }

        @Test
        void sharedBufferPolicySharesTheLockByItself() throws Exception {
            String resource = shared();
            try (Session a = open(resource, LockPolicy.SHARED_BUFFER);
                    Session b = open(resource, LockPolicy.SHARED_BUFFER)) {
                assertSame(a.lock(), b.lock(), "one lock per physical instrument");
                Talkers.Outcome outcome = Talkers.run(List.of(a, b), THREADS, QUERIES);
                assertEquals(THREADS * QUERIES, outcome.right(), outcome::toString);
                assertEquals(0, outcome.problems(), outcome::toString);
                assertEquals(1, outcome.peakInside(), outcome::toString);
            }
        }

        @Test
        void independentSessionInstrumentNeedsNoSharingAndRunsInParallel() throws Exception {
            String resource = smw();
            try (Session a = open(resource, LockPolicy.INDEPENDENT_SESSIONS);
                    Session b = open(resource, LockPolicy.INDEPENDENT_SESSIONS)) {
                assertNotSame(a.lock(), b.lock());
                Talkers.Outcome outcome = Talkers.run(List.of(a, b), THREADS, QUERIES);
                assertEquals(THREADS * QUERIES, outcome.right(), outcome::toString);
                assertEquals(0, outcome.problems(), outcome::toString);
                assertEquals(2, outcome.peakInside(), "both sessions talk at the same time: " + outcome);
            }
        }
    }
}
