package org.labhal.benchmarks.runtime;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.api.lock.LockPolicy;
import org.labhal.transport.sim.internal.SimTransportFactory;

/**
 * The baseline of {@code instr:stress}: the same steps without the runtime, in a plain JVM. Lock
 * service, session factory and SIM transport are built with {@code new}; the sessions get the options
 * the runtime gives the simulated instruments (their model's lock policy, error checking on, 2 s I/O
 * timeout, see {@code drivers/sim}). As {@code instr:stress} does (runtime's {@code StressRun}), every
 * pass opens its sessions and asks one echo first, then each of {@code threads} threads (a cached
 * pool) asks its share of {@code SIM:ECHO? t<thread>s<step>} through the sessions round robin, times
 * each step and checks every answer. Prints one line: {@code throughput <steps/s> wrong <n> errors <n>}.
 */
final class LibraryStress {
    private LibraryStress() {
    }

    /**
     * @param resource e.g. {@code SIM::SMW200A::1::INSTR}
     * @param policy the lock policy of its model
     * @param passes how many runs in this JVM; all but the last warm it up
     */
    static String run(String resource, LockPolicy policy, int threads, int steps, int sessionCount, int passes)
            throws Exception {
        DefaultLockService locks = new DefaultLockService();
        DefaultSessionFactory factory = new DefaultSessionFactory(locks);
        SimTransportFactory transport = new SimTransportFactory();
        factory.addTransport(transport);
        AtomicInteger numbers = new AtomicInteger();
        ExecutorService executor = Executors.newCachedThreadPool(
                task -> new Thread(task, "library-stress-" + numbers.incrementAndGet()));
        SessionOptions options = SessionOptions.defaults().withLockPolicy(policy).withErrorChecking(true)
                .withIoTimeout(Duration.ofSeconds(2));
        try {
            String result = null;
            for (int pass = 0; pass < passes; pass++) {
                // Fresh sessions and a first echo for every pass, as every instr:stress command does
                List<Session> sessions = new ArrayList<>();
                try {
                    for (int i = 0; i < sessionCount; i++) {
                        sessions.add(factory.open(ResourceAddress.parse(resource), options));
                    }
                    if (!"labhalstress".equals(sessions.get(0).query("SIM:ECHO? labhalstress").strip())) {
                        throw new IllegalStateException(resource + " does not echo");
                    }
                    result = pass(sessions, threads, steps, executor);
                } finally {
                    sessions.forEach(Session::close);
                }
            }
            return result;
        } finally {
            executor.shutdownNow();
            factory.deactivate();
            transport.deactivate();
            locks.close();
        }
    }

    private static String pass(List<Session> sessions, int threads, int steps, ExecutorService executor)
            throws Exception {
        CountDownLatch start = new CountDownLatch(1);
        List<Future<long[]>> results = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            int share = steps / threads + (t < steps % threads ? 1 : 0);
            Session session = sessions.get(t % sessions.size());
            results.add(executor.submit(() -> {
                start.await();
                long answered = 0;
                long wrong = 0;
                long errors = 0;
                long[] latencies = new long[share]; // timed as instr:stress times each step
                for (int step = 0; step < share; step++) {
                    String token = "t" + thread + "s" + step;
                    long begin = System.nanoTime();
                    try {
                        String answer = session.query("SIM:ECHO? " + token).strip();
                        latencies[(int) answered] = System.nanoTime() - begin;
                        answered++;
                        if (!answer.equals(token)) {
                            wrong++;
                        }
                    } catch (LabHalException | RuntimeException e) {
                        errors++;
                    }
                }
                return new long[] {answered, wrong, errors};
            }));
        }
        long begin = System.nanoTime();
        start.countDown();
        long answered = 0;
        long wrong = 0;
        long errors = 0;
        for (Future<long[]> result : results) {
            long[] counts = result.get();
            answered += counts[0];
            wrong += counts[1];
            errors += counts[2];
        }
        double seconds = (System.nanoTime() - begin) / 1e9;
        return String.format(Locale.ROOT, "throughput %.0f wrong %d errors %d", answered / seconds, wrong, errors);
    }
}
