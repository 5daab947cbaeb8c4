package org.labhal.itest.socket;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

import org.labhal.api.LabHalException;
import org.labhal.api.Session;

/**
 * Threads that fire distinguishable queries ({@code SIM:ECHO? <token>}) through sessions and check
 * each answer against its own question: counts, never timings.
 */
final class EchoTalkers {
    /** What happened: a wrong answer is another question's token; an error is any exception. */
    record Outcome(long right, long wrong, Map<String, Long> errors) {
        long errorCount() {
            return errors.values().stream().mapToLong(Long::longValue).sum();
        }

        @Override
        public String toString() {
            return right + " right, " + wrong + " wrong, errors " + errors;
        }
    }

    private EchoTalkers() {
    }

    /** Thread i talks through sessions.get(i % size). */
    static Outcome run(List<Session> sessions, int threads, int queries) throws Exception {
        LongAdder right = new LongAdder();
        LongAdder wrong = new LongAdder();
        Map<String, Long> errors = new ConcurrentHashMap<>();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> new Thread(r, "socket-talker"));
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Session session = sessions.get(t % sessions.size());
                String prefix = "S" + (t % sessions.size()) + "T" + t + "Q";
                done.add(pool.submit(() -> {
                    start.await();
                    for (int q = 0; q < queries; q++) {
                        String token = prefix + q;
                        try {
                            if (session.query("SIM:ECHO? " + token).equals(token)) {
                                right.increment();
                            } else {
                                wrong.increment();
                            }
                        } catch (LabHalException e) {
                            errors.merge(e.getClass().getSimpleName(), 1L, Long::sum);
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
        return new Outcome(right.sum(), wrong.sum(), Map.copyOf(errors));
    }
}
