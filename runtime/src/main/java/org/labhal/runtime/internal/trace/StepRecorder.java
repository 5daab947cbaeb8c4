package org.labhal.runtime.internal.trace;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes an instrument's steps to a JSON-lines file as they happen, on a thread of its own: a step hands its
 * line over and goes on. What waits to be written is bounded in bytes; past that, steps are dropped and
 * counted, and {@link #stop} says how many.
 */
final class StepRecorder {
    /** The most bytes of lines waiting to be written. */
    static final long MAX_QUEUED_BYTES = 64L << 20;
    /** Queued by {@link #stop}: the end of the lines (a step's line is never empty). */
    private static final String END = "";

    private final Path file;
    private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final AtomicLong queuedBytes = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final Thread writer;
    private final BufferedWriter out;
    private volatile IOException failure;
    private volatile boolean stopped;

    /**
     * @param file the file to write, replaced if it exists
     * @param threadName the writer thread's name
     * @throws IOException when the file cannot be created
     */
    StepRecorder(Path file, String threadName) throws IOException {
        this.file = file;
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        this.writer = new Thread(this::drain, threadName);
        writer.setDaemon(true);
        writer.start();
    }

    Path file() {
        return file;
    }

    /** Queues one step's line; never waits. */
    void offer(TracedStep step) {
        if (stopped || failure != null) {
            dropped.incrementAndGet();
            return;
        }
        String line = step.toJson();
        if (queuedBytes.addAndGet(line.length()) > MAX_QUEUED_BYTES) {
            queuedBytes.addAndGet(-line.length());
            dropped.incrementAndGet();
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
                queuedBytes.addAndGet(-line.length());
                output.write(line);
                output.write('\n');
                written.incrementAndGet();
            }
        } catch (IOException e) {
            failure = e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
        String summary = written.get() + " steps to " + file + (dropped.get() == 0 ? ""
                : "; " + dropped.get() + " steps dropped because the file could not keep up");
        IOException failed = failure;
        return failed == null ? summary : summary + "; writing failed: " + failed.getMessage();
    }
}
