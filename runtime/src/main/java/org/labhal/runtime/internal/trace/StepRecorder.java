package org.labhal.runtime.internal.trace;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.labhal.api.trace.StepRecord;
import org.labhal.runtime.internal.NamedThreadFactory;

/**
 * Writes an instrument's steps to a JSON-lines file as they happen, on a thread of its own: a step hands its
 * line over and goes on. What waits to be written is bounded in characters, for all recordings together
 * ({@link Traces#recordingBudget}); past that, steps are dropped and counted, and {@link #stop} says how many
 * and why.
 */
final class StepRecorder {
    /** Queued by {@link #stop}: the end of the lines (a step's line is never empty). */
    private static final String END = "";

    private final Path file;
    private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final AtomicLong budget;
    private final AtomicLong numbers = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong droppedFull = new AtomicLong();
    private final AtomicLong droppedOther = new AtomicLong();
    private final Thread writer;
    private final BufferedWriter out;
    private volatile IOException failure;
    private volatile boolean stopped;

    /**
     * @param file the file to write, replaced if it exists
     * @param threadName the writer thread's name
     * @param budget the characters all recordings' queues may still take; shared, taken and given back here
     * @throws IOException when the file cannot be created
     */
    StepRecorder(Path file, String threadName, AtomicLong budget) throws IOException {
        this.file = file;
        this.budget = budget;
        this.out = jsonLines(file);
        this.writer = new NamedThreadFactory(threadName).newThread(this::drain);
        writer.start();
    }

    Path file() {
        return file;
    }

    /**
     * Opens a JSON-lines file for writing, replacing it, its folder made if missing. A command or answer may hold
     * what is not text (half a surrogate pair): such a character is written as '?' rather than failing the file.
     */
    static BufferedWriter jsonLines(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        CharsetEncoder utf8 = StandardCharsets.UTF_8.newEncoder().onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE);
        return new BufferedWriter(new OutputStreamWriter(Files.newOutputStream(file), utf8));
    }

    /** Queues one step's line, whole answer included; never waits. */
    void offer(String instrument, StepRecord step) {
        if (stopped || failure != null) {
            droppedOther.incrementAndGet();
            return;
        }
        String line = TracedStep.of(numbers.incrementAndGet(), instrument, step, TracedStep.RECORDED_ANSWER,
                TracedStep.RECORDED_ANSWER).toJson();
        if (budget.addAndGet(-line.length()) < 0) {
            budget.addAndGet(line.length());
            droppedFull.incrementAndGet();
            return;
        }
        lines.add(line);
    }

    private void drain() {
        try (BufferedWriter output = out) {
            while (true) {
                String line = lines.poll(200, TimeUnit.MILLISECONDS);
                if (line == null) {
                    output.flush(); // a reader of the file sees what happened up to a moment ago
                    continue;
                }
                if (line.isEmpty()) { // END, queued by stop()
                    return;
                }
                budget.addAndGet(line.length());
                output.write(line);
                output.write('\n');
                written.incrementAndGet();
            }
        } catch (IOException e) {
            failure = e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            discardQueued();
        }
    }

    /** Counts what will never be written as dropped and gives its bytes back to the budget. */
    private void discardQueued() {
        String line;
        while ((line = lines.poll()) != null) {
            if (!line.isEmpty()) {
                budget.addAndGet(line.length());
                droppedOther.incrementAndGet();
            }
        }
    }

    /**
     * Stops taking steps, writes what is queued and closes the file.
     *
     * @param waitMillis the longest wait for the queue to be written
     * @return what was recorded
     * @throws InterruptedException when interrupted while waiting
     */
    String stop(long waitMillis) throws InterruptedException {
        stopped = true;
        lines.add(END);
        writer.join(waitMillis);
        if (writer.isAlive()) {
            writer.interrupt();
            writer.join(waitMillis);
        }
        discardQueued(); // lines a step queued after END
        StringBuilder summary = new StringBuilder().append(written.get()).append(" steps to ").append(file);
        if (droppedFull.get() > 0) {
            summary.append("; ").append(droppedFull.get())
                    .append(" steps dropped because the file could not keep up (recordings may queue ")
                    .append(Traces.RECORDING_BUDGET >> 20).append(" MiB in all)");
        }
        IOException failed = failure;
        if (failed != null) {
            summary.append("; writing failed: ").append(failed);
        }
        if (droppedOther.get() > 0) {
            summary.append("; ").append(droppedOther.get()).append(" steps not written because ")
                    .append(failed != null ? "writing had failed" : "the recording was stopping");
        }
        return summary.toString();
    }
}
