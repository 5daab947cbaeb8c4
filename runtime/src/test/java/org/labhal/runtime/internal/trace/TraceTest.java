package org.labhal.runtime.internal.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.Session;
import org.labhal.api.lock.Lease;
import org.labhal.api.trace.StepKind;
import org.labhal.runtime.internal.instrument.InstrumentConnection;
import org.labhal.runtime.internal.instrument.RuntimeFixture;
import org.labhal.transport.sim.internal.SimTransportFactory;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/** An instrument's trace, statistics and recording, through the runtime's own sessions to a simulated generator. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TraceTest {

    private static Session online(RuntimeFixture runtime, String id, Object... more) throws Exception {
        runtime.sessions.addTransport(new SimTransportFactory());
        InstrumentConnection connection = runtime.start(id, "SIM::SMW200A::" + id.length() + "::INSTR", more);
        assertEquals(InstrumentConnection.State.ONLINE, RuntimeFixture.settle(connection), connection.status().detail());
        return connection.instrument().orElseThrow().session();
    }

    @Test
    void withTheTraceOffStepsAreCountedButNotKept() throws Exception {
        try (RuntimeFixture runtime = new RuntimeFixture()) {
            Session session = online(runtime, "gen");
            session.query("*IDN?");
            InstrumentTrace trace = runtime.traces.of("gen");
            assertFalse(trace.tracing());
            assertTrue(trace.last(10).isEmpty());
            StepStatistics queries = trace.statistics().stream().filter(s -> s.kind() == StepKind.QUERY).findFirst()
                    .orElseThrow();
            assertTrue(queries.count() >= 2, "the runtime's identification and ours: " + queries);
        }
    }

    @Test
    void everyStepOfManyThreadsIsTracedWithItsOwnCommandAndAnswer() throws Exception {
        try (RuntimeFixture runtime = new RuntimeFixture()) {
            Session session = online(runtime, "gen", "trace", "true");
            InstrumentTrace trace = runtime.traces.of("GEN"); // ids are case-insensitive
            assertTrue(trace.tracing(), "the configuration's trace=true");
            trace.resetStatistics();
            int threads = 4;
            int each = 100;
            ExecutorService pool = Executors.newFixedThreadPool(threads, r -> new Thread(r, "talker-" + r.hashCode()));
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        long hz = 1_000_000L * (thread * each + i + 1);
                        try (Lease pair = session.lock().acquire(Duration.ofSeconds(30))) { // write + query as one
                            session.write("FREQ " + hz);
                            session.query("FREQ?");
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
            pool.shutdown();
            List<TracedStep> steps = trace.last(InstrumentTrace.DEFAULT_CAPACITY).stream()
                    .filter(step -> step.thread().startsWith("talker-")).toList();
            assertEquals(threads * each * 2, steps.size());
            // Each thread's steps are in its own order in the trace: every query answers the write just before it.
            Map<String, String> lastWritten = new HashMap<>();
            int wrong = 0;
            for (TracedStep step : steps) {
                assertEquals("ok", step.outcome(), step.describe());
                if (step.kind() == StepKind.WRITE) {
                    lastWritten.put(step.thread(), step.command().substring("FREQ ".length()));
                } else if (!step.answer().equals(lastWritten.get(step.thread()))) {
                    wrong++;
                }
            }
            assertEquals(0, wrong, "traced answers that are not their own thread's");
            assertEquals(threads, lastWritten.size());
            StepStatistics writes = trace.statistics().get(0);
            assertEquals(StepKind.WRITE, writes.kind());
            assertEquals(threads * each, writes.count());
            // The histogram's longest write is the longest traced one, within its 1 % and the microsecond it counts in
            long longest = steps.stream().filter(step -> step.kind() == StepKind.WRITE)
                    .mapToLong(step -> step.lockWaitNanos() + step.ioNanos()).max().orElseThrow();
            assertTrue(Math.abs(writes.maxNanos() - longest) <= longest / 50 + 1_000,
                    "histogram max " + writes.maxNanos() + " ns, longest traced write " + longest + " ns");
        }
    }

    @Test
    void theRingKeepsOnlyTheNewestSteps() throws Exception {
        try (RuntimeFixture runtime = new RuntimeFixture()) {
            Session session = online(runtime, "gen", "trace", "true");
            InstrumentTrace trace = runtime.traces.of("gen");
            int steps = InstrumentTrace.DEFAULT_CAPACITY + 50;
            for (int i = 0; i < steps; i++) {
                session.write("FREQ " + (i + 1));
            }
            List<TracedStep> kept = trace.last(Integer.MAX_VALUE);
            assertEquals(InstrumentTrace.DEFAULT_CAPACITY, kept.size());
            assertEquals("FREQ " + steps, kept.get(kept.size() - 1).command());
            assertEquals(3, trace.last(3).size());
        }
    }

    @Test
    void aFailedStepIsTracedWithItsOutcomeAndMessage() throws Exception {
        try (RuntimeFixture runtime = new RuntimeFixture()) {
            Session session = online(runtime, "gen", "trace", "true", "ioTimeout", "100");
            IoTimeoutException failure = assertThrows(IoTimeoutException.class, () -> session.query("NOSUCH?"));
            TracedStep step = runtime.traces.of("gen").last(1).get(0);
            assertEquals("timeout", step.outcome());
            assertEquals(failure.getMessage(), step.error());
            assertEquals("NOSUCH?", step.command());
        }
    }

    @Test
    void aFeedWhoseReaderNeverReadsDropsAndCountsAndNeverHoldsAStep() throws Exception {
        try (RuntimeFixture runtime = new RuntimeFixture()) {
            Session session = online(runtime, "gen", "trace", "true");
            TraceFeed stuck = runtime.traces.follow(10);
            TraceFeed reader = runtime.traces.follow(1000);
            for (int i = 0; i < 100; i++) {
                session.write("FREQ " + (i + 1));
            }
            assertEquals(90, stuck.dropped());
            List<TracedStep> read = reader.poll(Duration.ofSeconds(5));
            assertEquals(100, read.size());
            assertEquals(0, reader.dropped());
            stuck.close();
            reader.close();
            assertTrue(reader.poll(Duration.ZERO).isEmpty());
        }
    }

    @Test
    void aRecordingHoldsWholeAnswersOneJsonObjectPerLine(@TempDir Path folder) throws Exception {
        try (RuntimeFixture runtime = new RuntimeFixture()) {
            Session session = online(runtime, "gen");
            InstrumentTrace trace = runtime.traces.of("gen");
            Path file = folder.resolve("bench.jsonl");
            trace.record(file);
            assertThrows(IllegalStateException.class, () -> trace.record(file), "one recording at a time");
            session.write("FREQ 2500000000");
            String answer = session.query("FREQ?");
            String summary = trace.stopRecording();
            assertTrue(summary.startsWith("2 steps to "), summary);
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            assertEquals(2, lines.size());
            JsonObject query = JsonParser.parseString(lines.get(1)).getAsJsonObject();
            assertEquals("QUERY", query.get("kind").getAsString());
            assertEquals("FREQ?", query.get("command").getAsString());
            assertEquals(answer, query.get("answer").getAsString());
            assertEquals("ok", query.get("outcome").getAsString());
            assertEquals("gen", query.get("instrument").getAsString());
            assertTrue(trace.last(5).isEmpty(), "recording does not switch the trace on");
        }
    }

    @Test
    void aLongAnswerIsExcerptedInTheTraceAndWholeInARecording() {
        String longAnswer = "x".repeat(5000);
        org.labhal.api.trace.StepRecord record = new org.labhal.api.trace.StepRecord(java.time.Instant.now(), "s",
                "t", StepKind.QUERY, "TRAC?", longAnswer, null, longAnswer.length(), 1, 2, null, List.of());
        TracedStep excerpt = TracedStep.of(1, "gen", record, TracedStep.TEXT_EXCERPT, TracedStep.BINARY_EXCERPT);
        assertEquals(TracedStep.TEXT_EXCERPT, excerpt.answer().length());
        assertTrue(excerpt.truncated());
        assertTrue(excerpt.toJson().contains("\"truncated\":true"));
        TracedStep whole = TracedStep.of(1, "gen", record, TracedStep.RECORDED_ANSWER, TracedStep.RECORDED_ANSWER);
        assertEquals(longAnswer, whole.answer());
        assertFalse(whole.truncated());
        assertTrue(excerpt.describe().contains("(5000 characters)"), excerpt.describe());
    }

    private static org.labhal.api.trace.StepRecord query(String command, String answer, Throwable failure,
            List<org.labhal.api.InstrumentError> errors) {
        return new org.labhal.api.trace.StepRecord(java.time.Instant.now(), "s", "t", StepKind.QUERY, command, answer,
                null, answer == null ? -1 : answer.length(), 1, 2, failure, errors);
    }

    @Test
    void recordingWhileTheTraceIsOffLeavesTheKeptStepsReadable(@TempDir Path folder) throws Exception {
        InstrumentTrace trace = new Traces(null).of("gen");
        trace.trace(true);
        for (int i = 0; i < 5; i++) {
            trace.stepDone(query("A" + i + "?", "1", null, List.of()));
        }
        trace.trace(false);
        trace.record(folder.resolve("r.jsonl"));
        for (int i = 0; i < 2 * InstrumentTrace.DEFAULT_CAPACITY; i++) {
            trace.stepDone(query("B?", "1", null, List.of()));
        }
        assertTrue(trace.stopRecording().startsWith(2 * InstrumentTrace.DEFAULT_CAPACITY + " steps to "));
        List<TracedStep> kept = trace.last(20);
        assertEquals(5, kept.size(), "the recorded steps take no trace numbers");
        assertEquals("A4?", kept.get(4).command());
    }

    @Test
    void halfASurrogatePairNeitherStopsARecordingNorAnExport(@TempDir Path folder) throws Exception {
        InstrumentTrace trace = new Traces(null).of("gen");
        trace.trace(true);
        Path file = folder.resolve("r.jsonl");
        trace.record(file);
        String emoji = "\uD83D\uDE00";
        trace.stepDone(query("SAY " + emoji.charAt(0) + "?", "x".repeat(TracedStep.TEXT_EXCERPT - 1) + emoji, null,
                List.of()));
        trace.stepDone(query("NEXT?", "2", null, List.of()));
        String summary = trace.stopRecording();
        assertTrue(summary.startsWith("2 steps to ") && !summary.contains("dropped") && !summary.contains("failed"),
                summary);
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        assertEquals("SAY ??", JsonParser.parseString(lines.get(0)).getAsJsonObject().get("command").getAsString()
                .replace('\uFFFD', '?'), "the lone half is replaced");
        Path export = folder.resolve("more/export.jsonl");
        assertEquals(2, trace.export(export), "the excerpt cut before the pair, not inside it");
        String excerpt = JsonParser.parseString(Files.readAllLines(export, StandardCharsets.UTF_8).get(0))
                .getAsJsonObject().get("answer").getAsString();
        assertEquals(TracedStep.TEXT_EXCERPT - 1, excerpt.length());
    }

    @Test
    void aFailuresMessageAndItsErrorQueueAreBoundedInTheTrace() {
        List<org.labhal.api.InstrumentError> many = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            many.add(new org.labhal.api.InstrumentError(-100 - i, "e".repeat(1000)));
        }
        TracedStep step = TracedStep.of(1, "gen", query("X?", null, new IllegalStateException("m".repeat(100_000)),
                many), TracedStep.TEXT_EXCERPT, TracedStep.BINARY_EXCERPT);
        assertEquals(TracedStep.MESSAGE_EXCERPT, step.error().length());
        assertEquals(TracedStep.ERRORS_KEPT, step.errors().size());
        assertTrue(step.errors().stream().allMatch(e -> e.length() == TracedStep.TEXT_EXCERPT));
        assertEquals("error", step.outcome());
    }

    @Test
    void aLogThatBlocksNeverHoldsAStepAndWhatItCannotTakeIsCounted() throws Exception {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger logged = new java.util.concurrent.atomic.AtomicInteger();
        org.osgi.service.log.Logger stuck = (org.osgi.service.log.Logger) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] { org.osgi.service.log.Logger.class }, (proxy, method, args) -> {
                    if (method.getName().equals("isDebugEnabled")) {
                        return true;
                    }
                    if (method.getName().equals("debug")) {
                        release.await(); // a console nobody reads
                        logged.incrementAndGet();
                    }
                    return null;
                });
        org.osgi.service.log.LoggerFactory loggers = (org.osgi.service.log.LoggerFactory) java.lang.reflect.Proxy
                .newProxyInstance(getClass().getClassLoader(), new Class<?>[] { org.osgi.service.log.LoggerFactory.class },
                        (proxy, method, args) -> stuck);
        Traces traces = new Traces(loggers);
        try {
            InstrumentTrace trace = traces.of("gen");
            trace.trace(true);
            int steps = Traces.LOG_QUEUE + 500;
            for (int i = 0; i < steps; i++) {
                trace.stepDone(query("Q?", "1", null, List.of())); // returns although the log is stuck
            }
            assertTrue(traces.logDropped() >= 499, "dropped " + traces.logDropped());
            assertEquals(Math.min(steps, InstrumentTrace.DEFAULT_CAPACITY), trace.last(Integer.MAX_VALUE).size());
            release.countDown();
            Eventually.until(() -> logged.get() + traces.logDropped() == steps, "the queued steps are logged");
        } finally {
            release.countDown();
            traces.deactivate();
        }
    }

    /** Bounded polling for a condition another thread makes true. */
    static final class Eventually {
        static void until(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!condition.getAsBoolean()) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("not within 30 s: " + what);
                }
                Thread.sleep(10);
            }
        }
    }

    @Test
    void aStepThatWaitedForItsLockCountsItsWaitInTheLockWaitShare() throws Exception {
        try (RuntimeFixture runtime = new RuntimeFixture()) {
            Session session = online(runtime, "gen");
            InstrumentTrace trace = runtime.traces.of("gen");
            trace.resetStatistics();
            java.util.concurrent.CountDownLatch letGo = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CompletableFuture<Void> holder = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try (Lease lease = session.lock().acquire(Duration.ofSeconds(10))) {
                    letGo.await(30, TimeUnit.SECONDS);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Eventually.until(() -> session.lock().info().holder().isPresent(), "the other thread holds the lock");
            java.util.concurrent.CompletableFuture<Void> write = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    session.write("FREQ 1");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Eventually.until(() -> !session.lock().info().waiters().isEmpty(), "the write waits for the lock");
            Thread.sleep(50); // not a wait for a condition: makes the lock wait outlast the write's own microseconds
            letGo.countDown();
            write.get(30, TimeUnit.SECONDS);
            holder.get(30, TimeUnit.SECONDS);
            StepStatistics writes = trace.statistics().stream().filter(st -> st.kind() == StepKind.WRITE).findFirst()
                    .orElseThrow();
            assertEquals(1, writes.count());
            assertTrue(writes.lockWaitShare() > 0.5, "the step mostly waited: " + writes);
        }
    }
}
