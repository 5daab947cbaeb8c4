package org.labhal.benchmarks.runtime;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * A process this benchmark started, with every line of its standard output and error stamped with
 * {@link System#nanoTime()} as it arrives, so that the harness can time "from X until the process
 * said Y". Standard input is {@code /dev/null}. {@link #close()} ends this process only, by its PID:
 * SIGTERM, then SIGKILL after 20 s.
 */
final class ChildProcess implements AutoCloseable {
    /** One line of output and when the harness read it. */
    record Line(int index, String text, long nanos) {
    }

    /** Lines of one stream, in order; waiters are woken as lines arrive. */
    static final class Output {
        private final List<Line> lines = new ArrayList<>(); // guarded by this
        private boolean ended; // guarded by this

        private synchronized void add(String text) {
            lines.add(new Line(lines.size(), text, System.nanoTime()));
            notifyAll();
        }

        private synchronized void end() {
            ended = true;
            notifyAll();
        }

        /** @return the index the next line will have */
        synchronized int size() {
            return lines.size();
        }

        /**
         * @param from the first line index to look at
         * @param wanted what the line must satisfy
         * @param timeout how long to wait for it
         * @return the first such line at or after {@code from}
         * @throws TimeoutException naming what was awaited, with the output so far
         */
        synchronized Line await(int from, Predicate<String> wanted, String what, Duration timeout)
                throws InterruptedException, TimeoutException {
            long deadline = System.nanoTime() + timeout.toNanos();
            int next = from;
            while (true) {
                for (; next < lines.size(); next++) {
                    if (wanted.test(lines.get(next).text())) {
                        return lines.get(next);
                    }
                }
                long remaining = deadline - System.nanoTime();
                if (ended || remaining <= 0) {
                    throw new TimeoutException((ended ? "the stream ended" : "no line within " + timeout.toSeconds()
                            + " s") + " saying " + what + "; output:\n" + text());
                }
                TimeUnit.NANOSECONDS.timedWait(this, remaining);
            }
        }

        /**
         * @param from the first line index
         * @return the lines from there, as read so far
         */
        synchronized List<Line> from(int from) {
            return new ArrayList<>(lines.subList(Math.min(from, lines.size()), lines.size()));
        }

        /** Waits for the end of the stream. */
        synchronized void awaitEnd(Duration timeout) throws InterruptedException, TimeoutException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!ended) {
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    throw new TimeoutException("the stream did not end within " + timeout.toSeconds() + " s");
                }
                TimeUnit.NANOSECONDS.timedWait(this, remaining);
            }
        }

        synchronized String text() {
            StringBuilder all = new StringBuilder();
            lines.forEach(line -> all.append(line.text()).append('\n'));
            return all.toString();
        }
    }

    private final Process process;
    private final long started;
    private final Output out = new Output();
    private final Output err = new Output();
    private final String what;

    /**
     * @param command the command line
     * @param directory its working directory
     */
    ChildProcess(List<String> command, Path directory) throws IOException {
        this(command, directory, false);
    }

    /**
     * @param command the command line
     * @param directory its working directory
     * @param console whether its standard input is a pipe the harness writes to ({@link #type}) rather
     *        than {@code /dev/null}
     */
    ChildProcess(List<String> command, Path directory, boolean console) throws IOException {
        this.what = String.join(" ", command);
        ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile())
                .redirectInput(console ? ProcessBuilder.Redirect.PIPE
                        : ProcessBuilder.Redirect.from(new File("/dev/null")));
        this.started = System.nanoTime();
        this.process = builder.start();
        follow(process.getInputStream(), out, "out");
        follow(process.getErrorStream(), err, "err");
    }

    private void follow(InputStream stream, Output into, String name) {
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    into.add(line);
                }
            } catch (IOException e) {
                // the process ended
            } finally {
                into.end();
            }
        }, "child-" + process.pid() + "-" + name);
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Types a line on the process's standard input, as a user at its console would.
     *
     * @param line the line, without its end
     * @return {@link System#nanoTime()} just before the line was written
     */
    long type(String line) throws IOException {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        long now = System.nanoTime();
        process.getOutputStream().write(bytes);
        process.getOutputStream().flush();
        return now;
    }

    /** @return {@link System#nanoTime()} just before the process was started */
    long started() {
        return started;
    }

    /** @return the CPU time (user and system, all threads) used so far, when the platform tells it */
    Optional<Duration> cpu() {
        return process.toHandle().info().totalCpuDuration();
    }

    long pid() {
        return process.pid();
    }

    Output out() {
        return out;
    }

    Output err() {
        return err;
    }

    /**
     * Waits for the process to exit and its output to be read.
     *
     * @return the exit status
     * @throws TimeoutException when it is still running after {@code timeout}
     */
    int waitFor(Duration timeout) throws InterruptedException, TimeoutException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new TimeoutException(what + " still running after " + timeout.toSeconds() + " s; stderr:\n"
                    + err.text());
        }
        out.awaitEnd(Duration.ofSeconds(10));
        err.awaitEnd(Duration.ofSeconds(10));
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy(); // SIGTERM: the runtime stops its framework cleanly
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    @Override
    public String toString() {
        return "process " + process.pid() + ": " + what;
    }
}
