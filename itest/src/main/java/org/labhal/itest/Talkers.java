package org.labhal.itest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

import org.labhal.api.LabHalException;
import org.labhal.api.Session;
import org.labhal.api.lock.Lease;

/**
 * Runs threads that each fire distinguishable queries ({@code SIM:ECHO? <token>}) through a
 * session and checks every answer against its own question. Counts, never times: a wrong answer
 * is another question's token, an error is any exception (typically the I/O timeout of a reader
 * whose answer someone else took).
 */
final class Talkers {
    /** What happened, per run. */
    record Outcome(int steps, long right, long wrong, long errors, int peakInside, Map<String, Long> errorKinds) {
        long problems() {
            return wrong + errors;
        }

        @Override
        public String toString() {
            return steps + " steps: " + right + " right, " + wrong + " wrong answers, " + errors + " errors "
                    + errorKinds + ", at most " + peakInside + " inside the instrument at once";
        }
    }

    private Talkers() {
    }

    /**
     * Runs rounds until crosstalk shows or {@code maxRounds} rounds passed. Whether two unlocked
     * talkers collide depends on thread scheduling (on a loaded machine one talker may read its answer
     * before the other's message gets the instrument), so a test that expects crosstalk repeats the
     * load rather than trusting one round; it still fails if no round ever shows any.
     *
     * @return the last round's outcome, or the first one with problems
     */
    static Outcome runUntilCrosstalk(List<Session> sessions, int threads, int queries, int maxRounds)
            throws Exception {
        Outcome outcome = null;
        for (int round = 0; round < maxRounds; round++) {
            outcome = run(sessions, threads, queries);
            if (outcome.problems() > 0) {
                return outcome;
            }
        }
        return outcome;
    }

    /**
     * @param sessions thread i talks through sessions.get(i % size)
     * @param threads how many threads
     * @param queries queries per thread
     */
    static Outcome run(List<Session> sessions, int threads, int queries) throws Exception {
        LongAdder right = new LongAdder();
        LongAdder wrong = new LongAdder();
        LongAdder errors = new LongAdder();
        Map<String, Long> kinds = new ConcurrentHashMap<>();
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger peak = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> new Thread(r, "talker"));
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                Session session = sessions.get(t % sessions.size());
                done.add(pool.submit(() -> {
                    start.await();
                    for (int q = 0; q < queries; q++) {
                        String token = "S" + (thread % sessions.size()) + "T" + thread + "Q" + q;
                        try {
                            String answer;
                            // Hold the session's own lock around the step (the query re-enters it)
                            // so that "inside" counts steps really talking to the instrument.
                            try (Lease lease = session.lock().acquire(session.lockTimeout())) {
                                peak.accumulateAndGet(inside.incrementAndGet(), Math::max);
                                try {
                                    answer = session.query("SIM:ECHO? " + token);
                                } finally {
                                    inside.decrementAndGet();
                                }
                            }
                            if (answer.equals(token)) {
                                right.increment();
                            } else {
                                wrong.increment();
                            }
                        } catch (LabHalException e) {
                            errors.increment();
                            kinds.merge(e.getClass().getSimpleName(), 1L, Long::sum);
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : done) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        return new Outcome(threads * queries, right.sum(), wrong.sum(), errors.sum(), peak.get(), Map.copyOf(kinds));
    }
}
