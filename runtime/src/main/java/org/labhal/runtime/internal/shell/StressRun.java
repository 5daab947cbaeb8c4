package org.labhal.runtime.internal.shell;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Pattern;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.LabHalException;
import org.labhal.api.Session;
import org.labhal.api.SessionClosedException;
import org.labhal.api.TransportKind;

/**
 * Concurrent queries through a set of sessions, as {@code instr:stress} runs them: every step is a
 * query whose right answer is known in advance ({@code SIMulation:ECHO? <token>} with a token naming the
 * run, thread and step where the instrument is a LabHAL simulator, whatever the transport, else
 * {@code *IDN?} against the answer it gave alone), so a wrong answer is caught, not just counted as a
 * step. The run part of the token tells apart runs from other processes on the same simulator.
 */
final class StressRun {

    /**
     * The outcome.
     *
     * @param steps steps attempted
     * @param answered steps that got an answer
     * @param wrong answers that were not the step's own
     * @param crossed of those, answers to another step of this run (an answer handed to the wrong
     *        question, where the steps ask for echoes; the rest are garbled)
     * @param errors failures by exception type
     * @param examples the first few wrong answers and errors
     * @param elapsed wall time of the run
     * @param latencies sorted latencies of answered steps, in nanoseconds
     * @param reopened sessions opened again after their link was lost
     */
    record Result(long steps, long answered, long wrong, long crossed, Map<String, Long> errors, List<String> examples,
            Duration elapsed, long[] latencies, long reopened) {

        /** @return total failures */
        long errorCount() {
            return errors.values().stream().mapToLong(Long::longValue).sum();
        }

        /** @return answered steps per second */
        double throughput() {
            return elapsed.isZero() ? 0 : answered / (elapsed.toNanos() / 1e9);
        }

        /**
         * @param fraction e.g. 0.5 for the median
         * @return that latency percentile, zero when nothing was answered
         */
        Duration percentile(double fraction) {
            if (latencies.length == 0) {
                return Duration.ZERO;
            }
            int index = (int) Math.min(latencies.length - 1, Math.round(fraction * (latencies.length - 1)));
            return Duration.ofNanos(latencies[index]);
        }
    }

    /**
     * One instrument's place in a run: its question plan and a session the steps share, which the
     * first step to find its link lost replaces with a new one (as the runtime reconnects), so a
     * stress run goes on through faults and counts them.
     */
    static final class Lane {
        private final String id;
        private final StressRun plan;
        private final SessionOpener opener;
        private Session session; // guarded by this
        private long reopened; // guarded by this
        private final LongAdder answered = new LongAdder();
        private final LongAdder nanos = new LongAdder();
        private final LongAccumulator slowest = new LongAccumulator(Math::max, 0);

        /**
         * @param id the instrument's id, for the report
         * @param plan what to ask it
         * @param session the session to start with
         * @param opener opens another one when the link of the current one is lost
         */
        Lane(String id, StressRun plan, Session session, SessionOpener opener) {
            this.id = id;
            this.plan = plan;
            this.session = session;
            this.opener = opener;
        }

        synchronized Session session() {
            return session;
        }

        /** Replaces {@code broken} (unless another step did already) with a new session. */
        Session reopen(Session broken) throws LabHalException {
            synchronized (this) {
                if (session != broken) {
                    return session;
                }
                broken.close();
                session = opener.open(); // under the monitor: one reopen at a time, the others wait for it
                reopened++;
                return session;
            }
        }

        /** Closes the current session. */
        synchronized void close() {
            session.close();
        }

        /** Notes an answered step's latency. */
        void answered(long latencyNanos) {
            answered.increment();
            nanos.add(latencyNanos);
            slowest.accumulate(latencyNanos);
        }

        /** @return the instrument and its session's answered steps, mean and slowest latency */
        String summary() {
            long n = answered.sum();
            return id + ": " + n + " answered, mean " + ShellDurations.format(Duration.ofNanos(n == 0 ? 0 : nanos.sum() / n))
                    + ", slowest " + ShellDurations.format(Duration.ofNanos(slowest.get()));
        }

        synchronized long reopened() {
            return reopened;
        }
    }

    /** Opens a session like the lane's first. */
    @FunctionalInterface
    interface SessionOpener {
        /**
         * @return a new session
         * @throws LabHalException when it cannot be opened
         */
        Session open() throws LabHalException;
    }

    private static final int MAX_EXAMPLES = 5;
    private static final Pattern TOKEN_TAIL = Pattern.compile("t\\d+s\\d+");
    private static final Pattern SIMULATOR = Pattern.compile("LabHAL,[^,]+-SIM,");

    private final boolean echo;
    private final String expectedIdn;
    private final String run = "r" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);

    private StressRun(boolean echo, String expectedIdn) {
        this.echo = echo;
        this.expectedIdn = expectedIdn;
    }

    /**
     * Picks the question: an echo token where the instrument is a simulator with {@code SIM:ECHO?} (the
     * SIM transport, or an {@code *IDN?} of {@code LabHAL,<model>-SIM,...} over any other), else
     * {@code *IDN?}. A real instrument is never sent the simulator's command.
     *
     * @param session a session to ask
     * @return the plan
     * @throws LabHalException when not even {@code *IDN?} can be asked
     */
    static StressRun plan(Session session) throws LabHalException {
        String identity = session.address().kind() == TransportKind.SIM ? "" : session.query("*IDN?").strip();
        if (session.address().kind() == TransportKind.SIM || SIMULATOR.matcher(identity).lookingAt()) {
            try {
                if ("labhalstress".equals(session.query("SIM:ECHO? labhalstress").strip())) {
                    return new StressRun(true, null);
                }
            } catch (LabHalException e) {
                // no echo after all: *IDN? it is
            }
            session.clear();
            session.write("*CLS");
        } else if (!identity.isEmpty()) {
            return new StressRun(false, identity);
        }
        return new StressRun(false, session.query("*IDN?").strip());
    }

    /** @return whether {@code answer} is the token of a step of this run */
    private boolean isToken(String answer) {
        return answer.startsWith(run) && TOKEN_TAIL.matcher(answer).region(run.length(), answer.length()).matches();
    }

    /** @return the question each step asks, for the report */
    String question() {
        return echo ? "SIM:ECHO? <run-thread-step token>" : "*IDN?";
    }

    /**
     * Runs {@code steps} steps in all on {@code threads} threads; thread t's step n goes to lane
     * {@code (t + n) mod lanes}, so every thread visits every instrument and every session.
     *
     * @param lanes the sessions, each with its instrument's question plan
     * @param threads how many threads
     * @param steps total steps, spread evenly over the threads
     * @param executor runs the threads
     * @return the outcome
     * @throws InterruptedException when interrupted; the threads are cancelled
     */
    static Result run(List<Lane> lanes, int threads, int steps, ExecutorService executor) throws InterruptedException {
        CountDownLatch start = new CountDownLatch(1);
        boolean several = lanes.stream().map(l -> l.id).distinct().count() > 1;
        List<Future<Worker>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int share = steps / threads + (t < steps % threads ? 1 : 0);
            Worker worker = new Worker(t, lanes, share, start, several);
            futures.add(executor.submit(worker, worker));
        }
        long begin = System.nanoTime();
        start.countDown();
        List<Worker> done = new ArrayList<>();
        try {
            for (Future<Worker> future : futures) {
                done.add(future.get());
            }
        } catch (ExecutionException e) {
            throw new IllegalStateException("a stress thread failed: " + e.getCause(), e.getCause());
        } finally {
            futures.forEach(f -> f.cancel(true));
        }
        Duration elapsed = Duration.ofNanos(System.nanoTime() - begin);
        long answered = 0;
        long wrong = 0;
        long crossed = 0;
        Map<String, Long> errors = new TreeMap<>();
        List<String> examples = new ArrayList<>();
        int latencyCount = 0;
        for (Worker worker : done) {
            answered += worker.answered;
            wrong += worker.wrong;
            crossed += worker.crossed;
            worker.errors.forEach((type, count) -> errors.merge(type, count, Long::sum));
            latencyCount += worker.latencyCount;
        }
        // wrong answers first: they are the news
        done.stream().flatMap(w -> w.wrongExamples.stream()).limit(MAX_EXAMPLES).forEach(examples::add);
        done.stream().flatMap(w -> w.examples.stream()).limit(MAX_EXAMPLES - examples.size()).forEach(examples::add);
        long[] latencies = new long[latencyCount];
        int at = 0;
        for (Worker worker : done) {
            System.arraycopy(worker.latencies, 0, latencies, at, worker.latencyCount);
            at += worker.latencyCount;
        }
        Arrays.sort(latencies);
        long reopened = lanes.stream().mapToLong(Lane::reopened).sum();
        return new Result(steps, answered, wrong, crossed, errors, examples, elapsed, latencies, reopened);
    }

    /** One thread's steps. */
    private static final class Worker implements Runnable {
        final int thread;
        final List<Lane> lanes;
        final int steps;
        final CountDownLatch start;
        final boolean several;
        final long[] latencies;
        int latencyCount;
        long answered;
        long wrong;
        long crossed;
        final Map<String, Long> errors = new TreeMap<>();
        final List<String> examples = new ArrayList<>();
        final List<String> wrongExamples = new ArrayList<>();

        Worker(int thread, List<Lane> lanes, int steps, CountDownLatch start, boolean several) {
            this.thread = thread;
            this.lanes = lanes;
            this.steps = steps;
            this.start = start;
            this.several = several;
            this.latencies = new long[steps];
        }

        @Override
        public void run() {
            try {
                start.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            for (int step = 0; step < steps && !Thread.currentThread().isInterrupted(); step++) {
                Lane lane = lanes.get((thread + step) % lanes.size());
                StressRun plan = lane.plan;
                String token = plan.run + "t" + thread + "s" + step;
                String expected = plan.echo ? token : plan.expectedIdn;
                String question = plan.echo ? "SIM:ECHO? " + token : "*IDN?";
                String where = several ? lane.id + ": " : "";
                Session session = lane.session();
                long begin = System.nanoTime();
                try {
                    String answer = session.query(question).strip();
                    long latency = System.nanoTime() - begin;
                    latencies[latencyCount++] = latency;
                    lane.answered(latency);
                    answered++;
                    if (!answer.equals(expected)) {
                        wrong++;
                        boolean another = plan.echo && plan.isToken(answer);
                        crossed += another ? 1 : 0;
                        if (wrongExamples.size() < MAX_EXAMPLES) {
                            wrongExamples.add(where + "thread " + thread + " asked " + question + ", expected \""
                                    + expected + "\", got " + (another ? "another step's answer " : "") + "\""
                                    + answer + "\"");
                        }
                    }
                } catch (LabHalException | RuntimeException e) {
                    failed(where, "", "asked " + question, e);
                    if (!session.isOpen() || e instanceof ConnectionLostException || e instanceof SessionClosedException) {
                        try {
                            lane.reopen(session);
                        } catch (LabHalException | RuntimeException again) {
                            failed(where, "reopen ", "could not open a new session", again);
                        }
                    }
                }
            }
        }

        /** Counts a failure by instrument (when there are several), kind and exception type. */
        private void failed(String where, String kind, String what, Exception e) {
            errors.merge((where.isEmpty() ? "" : where.substring(0, where.length() - 2) + ":") + kind
                    + e.getClass().getSimpleName(), 1L, Long::sum);
            example(where + "thread " + thread + " " + what + ": " + e.getClass().getSimpleName() + ": "
                    + e.getMessage());
        }

        private void example(String text) {
            if (examples.size() < MAX_EXAMPLES) {
                examples.add(text);
            }
        }
    }
}
