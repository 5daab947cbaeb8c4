package org.labhal.faults;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The executable jar ({@code labhal.jar}) run as a child process, as {@code ./lab run} runs it: its Gogo
 * shell on a pipe this class writes command lines into, its log (standard error) kept line by line, and
 * what the process holds read from {@code /proc}: threads, descriptors, resident memory, the TCP
 * connections of its own sockets per local port, and (through {@code jcmd}) its heap.
 */
final class RuntimeProcess implements AutoCloseable {
    private static final String PROMPT = "g! ";
    private static final Pattern SERVING = Pattern.compile("Serving the simulated (\\S+) over (.+) at (\\S+)");
    private static final Pattern HEAP_USED = Pattern.compile("used (\\d+)K");

    /** One simulated instrument the runtime serves: model, protocol as the log names it, resource string. */
    record Served(String model, String protocol, String resource) {
    }

    /** What the process holds at one moment. */
    record Usage(int threads, int fds, long rssKiB, long heapUsedKiB) {
        @Override
        public String toString() {
            return threads + " threads, " + fds + " fds, RSS " + rssKiB / 1024 + " MiB, heap used "
                    + (heapUsedKiB < 0 ? "?" : heapUsedKiB / 1024 + " MiB");
        }
    }

    private final Process process;
    private final Path work;
    private final List<String> log = new ArrayList<>(); // guarded by itself
    private final StringBuilder out = new StringBuilder(); // guarded by itself
    private final OutputStream shell;

    private RuntimeProcess(Process process, Path work) {
        this.process = process;
        this.work = work;
        this.shell = process.getOutputStream();
        follow(process.getErrorStream(), "labhal-stderr", line -> {
            synchronized (log) {
                log.add(line);
                log.notifyAll();
            }
        });
        Thread stdout = new Thread(() -> {
            byte[] buffer = new byte[8192];
            try (InputStream in = process.getInputStream()) {
                for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                    synchronized (out) {
                        out.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
                        out.notifyAll();
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
        }, "labhal-stdout");
        stdout.setDaemon(true);
        stdout.start();
    }

    /**
     * Starts {@code java [options] -jar jar} in a fresh working directory with the interactive shell on a
     * pipe, and waits until the shell prompts.
     *
     * @param jar the executable jar
     * @param options JVM options (e.g. {@code -Dlabhal.simulators.socket=SHARED@0})
     * @param startup how long the start may take
     * @return the running runtime
     * @throws IOException when it cannot be started or does not prompt in time
     * @throws InterruptedException when interrupted
     */
    static RuntimeProcess start(Path jar, List<String> options, Duration startup)
            throws IOException, InterruptedException {
        return start(jar, options, startup, work -> { });
    }

    /** What to put into the fresh working directory before the runtime starts (a {@code deploy/} folder...). */
    @FunctionalInterface
    interface Preparation {
        /**
         * @param work the working directory
         * @throws IOException when it cannot be prepared
         */
        void prepare(Path work) throws IOException;
    }

    /**
     * Like {@link #start(Path, List, Duration)}, with the working directory prepared first.
     *
     * @param jar the executable jar
     * @param options JVM options
     * @param startup how long the start may take
     * @param preparation fills the working directory before the start
     * @return the running runtime
     * @throws IOException when it cannot be started or does not prompt in time
     * @throws InterruptedException when interrupted
     */
    static RuntimeProcess start(Path jar, List<String> options, Duration startup, Preparation preparation)
            throws IOException, InterruptedException {
        Path work = Files.createTempDirectory("labhal-runtime");
        try {
            preparation.prepare(work);
        } catch (IOException | RuntimeException e) {
            deleteTree(work);
            throw e;
        }
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Dlabhal.log.level=info"); // the "Serving ..." lines name the resources
        command.addAll(options);
        command.add("-jar");
        command.add(jar.toAbsolutePath().toString());
        Process process = new ProcessBuilder(command).directory(work.toFile()).start();
        RuntimeProcess runtime = new RuntimeProcess(process, work);
        if (runtime.awaitOutput(PROMPT, 0, startup) < 0) {
            String log = String.join("\n", runtime.log());
            runtime.close();
            throw new IOException("labhal.jar did not show its shell prompt within " + startup.toSeconds() + " s:\n"
                    + log);
        }
        return runtime;
    }

    private static void follow(InputStream in, String name, java.util.function.Consumer<String> lines) {
        Thread thread = new Thread(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    lines.accept(line);
                }
            } catch (IOException e) {
                // the process ended
            }
        }, name);
        thread.setDaemon(true);
        thread.start();
    }

    /** @return the process id */
    long pid() {
        return process.pid();
    }

    /** @return whether the process still runs */
    boolean alive() {
        return process.isAlive();
    }

    /** @return every log line so far */
    List<String> log() {
        synchronized (log) {
            return List.copyOf(log);
        }
    }

    /**
     * @param count how many {@code Serving the simulated ...} lines to wait for
     * @param timeout how long
     * @return the served instruments, in the order the log named them
     * @throws IOException when fewer were logged in time
     * @throws InterruptedException when interrupted
     */
    List<Served> awaitServed(int count, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (log) {
            while (true) {
                List<Served> served = new ArrayList<>();
                for (String line : log) {
                    Matcher m = SERVING.matcher(line);
                    if (m.find()) {
                        served.add(new Served(m.group(1), m.group(2), m.group(3)));
                    }
                }
                long left = deadline - System.nanoTime();
                if (served.size() >= count || left <= 0) {
                    if (served.size() < count) {
                        throw new IOException("the runtime serves " + served + ", expected " + count
                                + " simulated instruments; log:\n" + String.join("\n", log));
                    }
                    return served;
                }
                TimeUnit.NANOSECONDS.timedWait(log, left);
            }
        }
    }

    /**
     * Types a command line at the shell and waits for its output (up to the next prompt).
     *
     * @param line e.g. {@code instr:list}
     * @param timeout how long to wait for the prompt
     * @return the output, or {@code null} when the prompt did not come back in time
     * @throws IOException when the shell's input is closed
     * @throws InterruptedException when interrupted
     */
    String shell(String line, Duration timeout) throws IOException, InterruptedException {
        int from;
        synchronized (out) {
            from = out.length();
        }
        shell.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        shell.flush();
        int end = awaitOutput(PROMPT, from, timeout);
        if (end < 0) {
            return null;
        }
        synchronized (out) {
            return out.substring(from, end);
        }
    }

    /** @return the index of {@code text} in the output at or after {@code from}, -1 when not there in time */
    private int awaitOutput(String text, int from, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (out) {
            while (true) {
                int at = out.indexOf(text, from);
                long left = deadline - System.nanoTime();
                if (at >= 0 || left <= 0 || !process.isAlive()) {
                    return at;
                }
                TimeUnit.NANOSECONDS.timedWait(out, Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)));
            }
        }
    }

    /**
     * @param heap whether to ask {@code jcmd} for the heap too (about half a second)
     * @param gc whether to collect garbage first, so the heap figure is what is retained
     * @return what the process holds now
     */
    Usage usage(boolean heap, boolean gc) {
        long heapKiB = -1;
        if (heap) {
            if (gc) {
                jcmd("GC.run");
            }
            Matcher m = HEAP_USED.matcher(jcmd("GC.heap_info"));
            if (m.find()) {
                heapKiB = Long.parseLong(m.group(1));
            }
        }
        Map<String, String> status = status();
        return new Usage(Integer.parseInt(status.getOrDefault("Threads", "-1")), fds().size(),
                Long.parseLong(status.getOrDefault("VmRSS", "-1 kB").split("\\s+")[0]), heapKiB);
    }

    /**
     * @return the process's threads by name, numbers replaced by {@code N} (so a pool's threads count
     *         together), with how many, from a thread dump
     */
    Map<String, Integer> threadNames() {
        Map<String, Integer> names = new TreeMap<>();
        Matcher m = Pattern.compile("(?m)^\"([^\"]*)\"").matcher(jcmd("Thread.print"));
        while (m.find()) {
            names.merge(m.group(1).replaceAll("\\d+", "N"), 1, Integer::sum);
        }
        return names;
    }

    /**
     * @param before {@link #threadNames()} at an earlier moment
     * @return the threads by name now minus those before, names whose count did not change left out
     */
    Map<String, Integer> threadNamesSince(Map<String, Integer> before) {
        Map<String, Integer> difference = new TreeMap<>(threadNames());
        before.forEach((name, n) -> difference.merge(name, -n, Integer::sum));
        difference.values().removeIf(n -> n == 0);
        return difference;
    }

    /** @return the CPU time the process has used so far, user and system, in seconds */
    double cpuSeconds() {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid()), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split("\\s+");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0; // utime, stime in ticks of 10 ms
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** @return how many of the process's threads are runnable now (state R in {@code /proc/<pid>/task/<tid>/stat}) */
    int runnableThreads() {
        int runnable = 0;
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid()), "task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    String stat = Files.readString(task.resolve("stat"));
                    if (stat.charAt(stat.lastIndexOf(')') + 2) == 'R') {
                        runnable++;
                    }
                } catch (IOException e) {
                    // ended while listed
                }
            }
        } catch (IOException e) {
            // the process ended
        }
        return runnable;
    }

    private String jcmd(String what) {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        try {
            Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid()), what).redirectErrorStream(true)
                    .start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(30, TimeUnit.SECONDS);
            return text;
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    private Map<String, String> status() {
        Map<String, String> fields = new TreeMap<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    fields.put(line.substring(0, colon), line.substring(colon + 1).strip());
                }
            }
        } catch (IOException e) {
            // the process ended
        }
        return fields;
    }

    private List<String> fds() {
        List<String> targets = new ArrayList<>();
        try (Stream<Path> list = Files.list(Path.of("/proc", Long.toString(pid()), "fd"))) {
            for (Path fd : (Iterable<Path>) list::iterator) {
                try {
                    targets.add(Files.readSymbolicLink(fd).toString());
                } catch (IOException e) {
                    // closed while listed
                }
            }
        } catch (IOException e) {
            // the process ended
        }
        return targets;
    }

    /**
     * The TCP sockets the process holds, from {@code /proc/<pid>/net/tcp} and {@code tcp6} matched with its
     * descriptors, counted by local port and state ({@code LISTEN}, {@code ESTABLISHED}, {@code CLOSE_WAIT},
     * ...).
     *
     * @return local port to state to count
     */
    Map<Integer, Map<String, Integer>> sockets() {
        Set<String> inodes = new HashSet<>();
        for (String target : fds()) {
            if (target.startsWith("socket:[")) {
                inodes.add(target.substring(8, target.length() - 1));
            }
        }
        Map<Integer, Map<String, Integer>> ports = new TreeMap<>();
        for (String table : List.of("tcp", "tcp6")) {
            List<String> lines;
            try {
                lines = Files.readAllLines(Path.of("/proc", Long.toString(pid()), "net", table));
            } catch (IOException e) {
                continue;
            }
            for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
                String[] f = line.strip().split("\\s+");
                if (f.length < 10 || !inodes.contains(f[9])) {
                    continue;
                }
                int port = Integer.parseInt(f[1].substring(f[1].lastIndexOf(':') + 1), 16);
                ports.computeIfAbsent(port, p -> new TreeMap<>()).merge(state(f[3]), 1, Integer::sum);
            }
        }
        return ports;
    }

    private static String state(String hex) {
        return switch (Integer.parseInt(hex, 16)) {
            case 1 -> "ESTABLISHED";
            case 2 -> "SYN_SENT";
            case 3 -> "SYN_RECV";
            case 4 -> "FIN_WAIT1";
            case 5 -> "FIN_WAIT2";
            case 6 -> "TIME_WAIT";
            case 7 -> "CLOSE";
            case 8 -> "CLOSE_WAIT";
            case 9 -> "LAST_ACK";
            case 10 -> "LISTEN";
            case 11 -> "CLOSING";
            default -> "state " + hex;
        };
    }

    /**
     * Ends the shell's input, which stops the framework (exit 117), waits for the process, and deletes the
     * working directory.
     *
     * @return the exit code, or -1 when it had to be killed
     */
    int stop() throws InterruptedException {
        try {
            shell.close();
        } catch (IOException e) {
            // ended already
        }
        int exit = -1;
        if (process.waitFor(30, TimeUnit.SECONDS)) {
            exit = process.exitValue();
        } else {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        deleteWork();
        return exit;
    }

    private void deleteWork() {
        deleteTree(work);
    }

    private static void deleteTree(Path work) {
        try (Stream<Path> files = Files.walk(work)) {
            files.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary directory left behind
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            stop();
        } else {
            deleteWork();
        }
    }
}
