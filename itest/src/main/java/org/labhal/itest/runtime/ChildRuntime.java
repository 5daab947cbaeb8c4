package org.labhal.itest.runtime;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.osgi.framework.BundleContext;

/**
 * The built executable jar ({@code runtime/target/labhal.jar}) run as child processes in one fresh
 * working directory, as a user runs it: a second framework in a second process. Every wait is bounded;
 * {@link #close()} ends what is still running and deletes the directory.
 */
final class ChildRuntime implements AutoCloseable {
    static final long RUN_SECONDS = 60;

    /** The outcome of one command-line run. */
    record Run(int exit, String out, String err) {
    }

    private final String jar;
    private final Path work;
    // Readers of the child's output block until it exits: own threads, not the (tiny) common pool
    private final ExecutorService readers = Executors.newCachedThreadPool();
    private final List<Process> started = new ArrayList<>();

    /**
     * @param context gives the jar's path (run property {@code labhal.itest.executable.jar})
     * @throws IOException when the working directory cannot be made
     */
    ChildRuntime(BundleContext context) throws IOException {
        jar = context.getProperty("labhal.itest.executable.jar");
        work = Files.createTempDirectory("labhal-jar-test");
    }

    /** @return the working directory: {@code deploy/}, {@code labhal-state/} live here */
    Path work() {
        return work;
    }

    /**
     * Writes a configuration file into the watched folder, which the child reads when it starts.
     *
     * @param name the instrument's name
     * @param lines the file's lines, e.g. {@code resource=...}
     * @throws IOException when it cannot be written
     */
    void deploy(String name, String... lines) throws IOException {
        Path deploy = Files.createDirectories(work.resolve("deploy"));
        Files.writeString(deploy.resolve("org.labhal.instrument-" + name + ".cfg"), String.join("\n", lines) + "\n");
    }

    /**
     * Runs one command line and waits for the child to exit.
     *
     * @param arguments the command line
     * @return exit code, stdout and stderr
     * @throws Exception when it does not exit within {@value #RUN_SECONDS} s
     */
    Run run(String... arguments) throws Exception {
        return finish(start(List.of(), List.of(arguments)), String.join(" ", arguments));
    }

    /**
     * Runs one command line of another copy of the jar, with JVM options, and waits for the child to exit.
     *
     * @param jarPath the executable jar
     * @param jvmOptions options before {@code -jar}
     * @param arguments the command line
     * @return exit code, stdout and stderr
     * @throws Exception when it does not exit within {@value #RUN_SECONDS} s
     */
    Run run(String jarPath, List<String> jvmOptions, String... arguments) throws Exception {
        return finish(start(jarPath, jvmOptions, List.of(arguments)), String.join(" ", arguments));
    }

    /** @return the built executable jar */
    Path jar() {
        return Path.of(jar);
    }

    /**
     * Runs a command line in the background.
     *
     * @param arguments the command line
     * @return the run, once the child exits
     * @throws IOException when the child cannot be started
     */
    CompletableFuture<Run> runAsync(String... arguments) throws IOException {
        Process process = start(List.of(), List.of(arguments));
        return CompletableFuture.supplyAsync(() -> {
            try {
                return finish(process, String.join(" ", arguments));
            } catch (Exception e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }, readers);
    }

    private Run finish(Process process, String line) throws Exception {
        CompletableFuture<String> out = read(process.getInputStream());
        CompletableFuture<String> err = read(process.getErrorStream());
        if (!process.waitFor(RUN_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("labhal.jar " + line + " did not exit within " + RUN_SECONDS + " s");
        }
        return new Run(process.exitValue(), out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
    }

    /**
     * @param jvmOptions options before {@code -jar}
     * @param arguments the command line, empty for the shell or a daemon
     * @return the child, stdin closed
     * @throws IOException when it cannot be started
     */
    Process start(List<String> jvmOptions, List<String> arguments) throws IOException {
        return start(jar, jvmOptions, arguments);
    }

    private Process start(String jarPath, List<String> jvmOptions, List<String> arguments) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // The jar serves simulators on fixed ports (4880, 111, 5025) by default; children of tests serve none
        // unless asked, so that they never meet each other or a runtime running beside the tests.
        command.add("-Dlabhal.simulators.hislip=");
        command.add("-Dlabhal.simulators.vxi11=");
        command.add("-Dlabhal.simulators.socket=");
        command.addAll(jvmOptions);
        command.add("-jar");
        command.add(jarPath);
        command.addAll(arguments);
        Process process = new ProcessBuilder(command).directory(work.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        synchronized (started) {
            started.add(process);
        }
        return process;
    }

    /**
     * @param in a child's output
     * @return all of it, once the child closes it
     */
    CompletableFuture<String> read(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return e.toString();
            }
        }, readers);
    }

    /**
     * @param in a child's output
     * @return its lines as they come
     */
    BlockingQueue<String> lines(InputStream in) {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        CompletableFuture.runAsync(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    lines.add(line);
                }
            } catch (IOException e) {
                lines.add(e.toString());
            }
        }, readers);
        return lines;
    }

    /**
     * Waits for a line containing the text.
     *
     * @param lines from {@link #lines}
     * @param text what to look for
     * @return the line
     * @throws InterruptedException when interrupted
     */
    static String awaitLine(BlockingQueue<String> lines, String text) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(RUN_SECONDS);
        List<String> seen = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            String line = lines.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (line == null) {
                break;
            }
            seen.add(line);
            if (line.contains(text)) {
                return line;
            }
        }
        throw new AssertionError("no line with \"" + text + "\" in:\n" + String.join("\n", seen));
    }

    /**
     * A child's log lines as they come, all kept, so a test can wait for lines in any order and count
     * them afterwards.
     */
    static final class LogLines {
        private final BlockingQueue<String> incoming;
        private final List<String> seen = new ArrayList<>();

        /** @param incoming from {@link ChildRuntime#lines} */
        LogLines(BlockingQueue<String> incoming) {
            this.incoming = incoming;
        }

        /**
         * @param text what to look for
         * @return the first line containing it, seen already or waited for up to {@value #RUN_SECONDS} s
         * @throws InterruptedException when interrupted
         */
        String await(String text) throws InterruptedException {
            return await(text, 1);
        }

        /**
         * @param text what to look for
         * @param occurrence which line containing it: 1 for the first
         * @return that line, seen already or waited for up to {@value #RUN_SECONDS} s
         * @throws InterruptedException when interrupted
         */
        String await(String text, int occurrence) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(RUN_SECONDS);
            int found = 0;
            for (int i = 0;; i++) {
                while (i >= seen.size()) {
                    String line = incoming.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                    if (line == null) {
                        throw new AssertionError("no line number " + occurrence + " with \"" + text + "\" in:\n"
                                + String.join("\n", seen));
                    }
                    seen.add(line);
                }
                if (seen.get(i).contains(text) && ++found == occurrence) {
                    return seen.get(i);
                }
            }
        }

        /**
         * @param text what to look for
         * @return how many lines seen so far contain it
         */
        long count(String text) {
            incoming.drainTo(seen);
            return seen.stream().filter(line -> line.contains(text)).count();
        }
    }

    /** Ends the children still running (politely, then forcibly) and deletes the working directory. */
    @Override
    public void close() throws Exception {
        synchronized (started) {
            for (Process process : started) {
                if (process.isAlive()) {
                    process.destroy();
                    if (!process.waitFor(20, TimeUnit.SECONDS)) {
                        process.destroyForcibly();
                    }
                }
            }
        }
        readers.shutdownNow();
        try (Stream<Path> files = Files.walk(work)) {
            files.sorted((a, b) -> b.compareTo(a)).map(Path::toFile).forEach(File::delete);
        }
    }
}
