package org.labhal.runtime.internal.trace;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.labhal.api.trace.StepKind;
import org.labhal.api.trace.StepObserver;
import org.labhal.api.trace.StepRecord;
import org.osgi.service.log.Logger;

/**
 * One instrument's trace, statistics and recording: the {@link StepObserver} of every session the runtime opens
 * for it. Statistics are always kept (a histogram record per step). The trace is off until switched on; then
 * each step is kept, excerpted, in a ring of the last {@link #capacity} steps, handed to the live feeds and
 * logged at debug under {@code org.labhal.trace.<id>}. A step never waits for a reader. Thread-safe.
 */
public final class InstrumentTrace implements StepObserver {
    /** Steps a trace keeps by default. */
    public static final int DEFAULT_CAPACITY = 1000;

    private final String id;
    private final Traces owner;
    private final Logger log;
    private final int capacity;
    /** Numbers the traced steps: the ring's slot of step n is n % capacity. */
    private final AtomicLong traced = new AtomicLong();
    private final AtomicReferenceArray<KindStatistics> statistics =
            new AtomicReferenceArray<>(StepKind.values().length);
    /** Made when the trace is first switched on: an instrument never traced costs no ring. */
    private volatile AtomicReferenceArray<TracedStep> ring;
    private volatile boolean tracing;
    private volatile StepRecorder recorder;

    InstrumentTrace(String id, Traces owner, Logger log, int capacity) {
        this.id = Objects.requireNonNull(id, "id");
        this.owner = owner;
        this.log = log;
        this.capacity = capacity;
    }

    /** @return the instrument's id */
    public String instrumentId() {
        return id;
    }

    /** @return how many steps the trace keeps */
    public int capacity() {
        return capacity;
    }

    /** @return whether steps are traced */
    public boolean tracing() {
        return tracing;
    }

    /** @param on whether to trace steps from now on */
    public synchronized void trace(boolean on) {
        if (on && ring == null) {
            ring = new AtomicReferenceArray<>(capacity);
        }
        tracing = on;
    }

    @Override
    public int blockAnswerHead() {
        return recorder != null ? TracedStep.RECORDED_ANSWER : tracing ? TracedStep.BINARY_EXCERPT : 0;
    }

    @Override
    public void stepDone(StepRecord step) {
        statisticsOf(step.kind()).add(step);
        boolean traced = tracing;
        StepRecorder recording = recorder;
        if (!traced && recording == null) {
            return;
        }
        if (recording != null) {
            recording.offer(id, step);
        }
        if (traced) {
            TracedStep kept = TracedStep.of(this.traced.incrementAndGet(), id, step, TracedStep.TEXT_EXCERPT,
                    TracedStep.BINARY_EXCERPT);
            keep(kept);
            owner.publish(kept);
            if (log != null && log.isDebugEnabled()) {
                owner.log(log, kept);
            }
        }
    }

    /**
     * Puts a step in its slot, unless a thread that took its number later (a whole ring's worth of steps later,
     * having been held up meanwhile) has already put a newer one there.
     */
    private void keep(TracedStep step) {
        AtomicReferenceArray<TracedStep> steps = ring;
        int slot = (int) (step.seq() % capacity);
        TracedStep there;
        do {
            there = steps.get(slot);
            if (there != null && there.seq() > step.seq()) {
                return;
            }
        } while (!steps.compareAndSet(slot, there, step));
    }

    private KindStatistics statisticsOf(StepKind kind) {
        return statistics.updateAndGet(kind.ordinal(), kept -> kept != null ? kept : new KindStatistics(kind));
    }

    /**
     * @param n how many
     * @return the last {@code n} traced steps still kept, oldest first
     */
    public List<TracedStep> last(int n) {
        AtomicReferenceArray<TracedStep> steps = ring;
        List<TracedStep> last = new ArrayList<>();
        if (steps == null || n <= 0) {
            return last;
        }
        long newest = traced.get();
        for (long seq = Math.max(1, newest - Math.min(n, capacity) + 1); seq <= newest; seq++) {
            TracedStep step = steps.get((int) (seq % capacity));
            if (step != null && step.seq() == seq) { // else overwritten meanwhile, or not written yet
                last.add(step);
            }
        }
        return last;
    }

    /**
     * Writes the steps kept now as JSON lines.
     *
     * @param file the file, replaced if it exists (its folder made if missing)
     * @return how many steps were written
     * @throws IOException when it cannot be written
     */
    public int export(Path file) throws IOException {
        List<TracedStep> steps = last(capacity);
        try (BufferedWriter out = StepRecorder.jsonLines(file)) {
            for (TracedStep step : steps) {
                out.write(step.toJson());
                out.write('\n');
            }
        }
        return steps.size();
    }

    /** @return the statistics of every kind of step seen, in {@link StepKind} order */
    public List<StepStatistics> statistics() {
        List<StepStatistics> all = new ArrayList<>();
        for (int i = 0; i < statistics.length(); i++) {
            KindStatistics kind = statistics.get(i);
            if (kind != null) {
                all.add(kind.snapshot());
            }
        }
        return all;
    }

    /** Starts the statistics afresh. */
    public void resetStatistics() {
        for (int i = 0; i < statistics.length(); i++) {
            statistics.set(i, null);
        }
    }

    /**
     * Starts writing every step, whole answers included (up to {@link TracedStep#RECORDED_ANSWER}), to a
     * JSON-lines file that {@code SIM::REPLAY::<name>::INSTR} can answer from.
     *
     * @param file the file, replaced if it exists
     * @throws IOException when it cannot be created
     * @throws IllegalStateException when a recording is running
     */
    public synchronized void record(Path file) throws IOException {
        if (recorder != null) {
            throw new IllegalStateException(id + " is already recording to " + recorder.file()
                    + "; stop that first (instr:record " + id + " stop)");
        }
        recorder = new StepRecorder(file, "labhal-record-" + id, owner.recordingBudget());
    }

    /** @return the file being recorded to, or null */
    public Path recording() {
        StepRecorder running = recorder;
        return running == null ? null : running.file();
    }

    /**
     * Stops the recording and writes what is queued.
     *
     * @return what was recorded
     * @throws IllegalStateException when none is running
     * @throws InterruptedException when interrupted while the file is written
     */
    public String stopRecording() throws InterruptedException {
        return stopRecording(10_000);
    }

    /**
     * @param waitMillis the longest wait for what is queued to be written
     * @return what was recorded
     * @throws IllegalStateException when none is running
     * @throws InterruptedException when interrupted while the file is written
     */
    String stopRecording(long waitMillis) throws InterruptedException {
        StepRecorder running;
        synchronized (this) {
            running = recorder;
            if (running == null) {
                throw new IllegalStateException(id + " is not recording");
            }
            recorder = null;
        }
        return running.stop(waitMillis);
    }
}
