package org.labhal.benchmarks.runtime;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.labhal.benchmarks.labscale.SessionHolder;
import org.labhal.transport.sim.SimServer;

/**
 * Issue 11's lab scale: one runtime with many configured instruments, half on the in-memory SIM
 * transport and half raw SCPI over loopback TCP against {@link SimServer}s this harness serves, each
 * with {@value SessionHolder#EXTRA}+1 sessions (the instrument's own, and those the lab-software bundle
 * {@link SessionHolder} opens). Measures, per run, in a fresh directory with the {@code .cfg} files in
 * {@code deploy/} before the start:
 * <ol>
 * <li>time from the JVM's start until every instrument logged {@code online}, and until every extra
 * session is open;</li>
 * <li>heap after {@code jcmd GC.run} ({@code GC.heap_info}), live threads ({@code PerfCounter.print})
 * and the threads grouped by name ({@code Thread.print}, digits folded);</li>
 * <li>{@code instr:list} and {@code instr:locks} typed at the runtime's Gogo console (standard input is a
 * pipe; the runtime is the daemon plus its console), from the line written until the last line of the
 * answer read;</li>
 * <li>one instrument's {@code .cfg} file rewritten: time until it is online again, and whether any other
 * instrument logged anything, any other server accepted a connection, or the lab software reopened any
 * other instrument's sessions.</li>
 * </ol>
 * Baseline in the same run: the same harness with one instrument. Runs of the two alternate.
 * <p>
 * {@code java -cp benchmarks/target/benchmarks.jar org.labhal.benchmarks.runtime.LabScaleBenchmark --jar
 * runtime/target/labhal.jar [--instruments 1000] [--runs 3] [--commands 10] [--jfr <dir>] [--logs <dir>]}:
 * {@code --jfr} records a JFR profile of each full run, {@code --logs} keeps each runtime's output.
 */
public final class LabScaleBenchmark {
    private static final Duration LIMIT = Duration.ofSeconds(180);
    private static final Pattern ONLINE = Pattern.compile("\\b((?:sim|sock)-\\d{4}): online at ");
    private static final Pattern ANY_INSTRUMENT = Pattern.compile("\\b((?:sim|sock)-\\d{4})\\b");
    private static final Pattern OPENED = Pattern.compile(Pattern.quote(SessionHolder.PREFIX) + "opened (\\S+)");
    private static final Pattern HEAP = Pattern.compile("total (\\d+)K, used (\\d+)K");
    private static final Pattern THREAD = Pattern.compile("(?m)^\"([^\"]*)\"");

    private final Path jar;
    private final Path java;
    private final Path jcmd;
    private final Path scratch;
    private final int instruments;
    private final int runs;
    private final int commands;
    private final Path jfr;
    private final Path logs;

    private LabScaleBenchmark(Map<String, String> options) throws IOException {
        this.jar = Path.of(options.getOrDefault("jar", "runtime/target/labhal.jar")).toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalArgumentException(jar + " does not exist: build it with mvn -B -ntp -o -q package "
                    + "-DskipTests");
        }
        Path home = Path.of(System.getProperty("java.home"));
        this.java = home.resolve("bin/java");
        this.jcmd = home.resolve("bin/jcmd");
        this.instruments = Integer.parseInt(options.getOrDefault("instruments", "1000"));
        this.runs = Integer.parseInt(options.getOrDefault("runs", "3"));
        this.commands = Integer.parseInt(options.getOrDefault("commands", "10"));
        this.jfr = options.containsKey("jfr") ? Path.of(options.get("jfr")).toAbsolutePath() : null;
        this.logs = options.containsKey("logs") ? Path.of(options.get("logs")).toAbsolutePath() : null;
        this.scratch = Files.createTempDirectory("labhal-labscale");
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        LabScaleBenchmark benchmark = new LabScaleBenchmark(options);
        try {
            benchmark.runAll();
        } finally {
            delete(benchmark.scratch);
        }
    }

    /** What one run measured. */
    private static final class Result {
        final Samples online = new Samples("ms");
        final Samples onlineFromFirstConfig = new Samples("ms");
        final Samples sessions = new Samples("ms");
        final Samples heapUsed = new Samples("KiB");
        final Samples heapCommitted = new Samples("KiB");
        final Samples threads = new Samples("threads");
        final Samples list = new Samples("ms");
        final Samples locks = new Samples("ms");
        final Samples changeOnline = new Samples("ms");
        final Samples changeReopened = new Samples("ms");
        final Samples others = new Samples("instruments");
        final Samples stop = new Samples("ms");
        final List<String> notes = new ArrayList<>();
    }

    private void runAll() throws Exception {
        System.out.printf(Locale.ROOT, "# Lab scale: %d instruments x %d sessions, %d runs (load average %s)%n",
                instruments, SessionHolder.EXTRA + 1, runs, loadAverage());
        Result baseline = new Result();
        Result full = new Result();
        for (int run = 1; run <= runs; run++) {
            measure(1, run, baseline);
            measure(instruments, run, full);
        }
        System.out.printf(Locale.ROOT, "%n## Summary, medians (min, max) (load average %s at the end)%n",
                loadAverage());
        System.out.println("| quantity | 1 instrument (baseline) | " + instruments + " instruments |");
        System.out.println("|---|---:|---:|");
        row("JVM start -> all instruments logged online", baseline.online, full.online);
        row("first configuration created -> all online", baseline.onlineFromFirstConfig, full.onlineFromFirstConfig);
        row("JVM start -> all extra sessions open", baseline.sessions, full.sessions);
        row("heap used after GC.run", baseline.heapUsed, full.heapUsed);
        row("heap committed", baseline.heapCommitted, full.heapCommitted);
        row("live threads", baseline.threads, full.threads);
        row("instr:list, typed -> last line", baseline.list, full.list);
        row("instr:locks, typed -> last line", baseline.locks, full.locks);
        row("one .cfg rewritten -> that one online again", baseline.changeOnline, full.changeOnline);
        row("one .cfg rewritten -> its extra sessions reopened", baseline.changeReopened, full.changeReopened);
        row("other instruments touched by the change", baseline.others, full.others);
        row("SIGTERM -> exit", baseline.stop, full.stop);
        System.out.println("\nEvery value: baseline " + describe(baseline) + "; full " + describe(full));
    }

    private static String describe(Result r) {
        return "online [" + r.online.all() + "] list [" + r.list.all() + "] locks [" + r.locks.all() + "] heap ["
                + r.heapUsed.all() + "] threads [" + r.threads.all() + "]";
    }

    private void measure(int count, int run, Result result) throws Exception {
        System.out.printf(Locale.ROOT, "%n## Run %d, %d instrument(s) (load average %s)%n", run, count,
                loadAverage());
        Path work = Files.createTempDirectory(scratch, "run");
        Path deploy = Files.createDirectories(work.resolve("deploy"));
        List<SimServer> servers = new ArrayList<>();
        Map<String, SimServer> serverOf = new HashMap<>();
        try {
            List<String> ids = new ArrayList<>();
            int sims = (count + 1) / 2;
            for (int i = 0; i < count; i++) {
                boolean sim = i < sims;
                String model = i % 2 == 0 ? "SMW200A" : "SHARED";
                String id = String.format(Locale.ROOT, sim ? "sim-%04d" : "sock-%04d", i);
                String resource;
                if (sim) {
                    resource = "SIM::" + model + "::" + (i + 1) + "::INSTR";
                } else {
                    SimServer server = SimServer.builder(model).port(0).start();
                    servers.add(server);
                    serverOf.put(id, server);
                    resource = "TCPIP::127.0.0.1::" + server.port() + "::SOCKET";
                }
                ids.add(id);
                Files.writeString(deploy.resolve("org.labhal.instrument-" + id + ".cfg"), "resource=" + resource + "\n");
            }
            DriverBundle.write(deploy.resolve("labscale-client.jar"), "org.labhal.benchmarks.labscale",
                    "LabHAL lab-scale benchmark client", SessionHolder.class);
            List<String> command = new ArrayList<>(List.of(java.toString(), "-Dlabhal.log.level=info",
                    "-Dlabhal.instruments.defaults=", "-Dlabhal.simulators.hislip=", "-Dlabhal.simulators.vxi11=",
                    "-Dlabhal.simulators.socket="));
            if (jfr != null && count > 1) {
                Files.createDirectories(jfr);
                command.add("-XX:StartFlightRecording=settings=profile,filename="
                        + jfr.resolve("labscale-run" + run + ".jfr"));
            }
            command.addAll(List.of("-jar", jar.toString()));
            ChildProcess runtime = new ChildProcess(command, work, true);
            try (runtime) {
                online(runtime, ids, result);
                sessions(runtime, ids, result);
                shellReady(runtime);
                Thread.sleep(2000); // settle after the last session opened
                commandLatency(runtime, "instr:list", " ONLINE ", count, result.list);
                commandLatency(runtime, "instr:locks", "", 0, result.locks);
                heapAndThreads(runtime.pid(), result);
                String target = ids.get(ids.size() - 1);
                change(runtime, deploy, target, ids, serverOf, result);
                long stopping = System.nanoTime();
                runtime.close();
                result.stop.add(millis(System.nanoTime() - stopping));
                List<String> trouble = new ArrayList<>();
                for (ChildProcess.Line line : runtime.err().from(0)) {
                    if (line.text().contains("ERROR") || line.text().contains("Exception")) {
                        trouble.add(line.text());
                    }
                }
                if (!trouble.isEmpty()) {
                    System.out.println("  errors logged: " + trouble.size() + ", first: " + trouble.get(0));
                }
            } finally {
                if (logs != null) {
                    Files.createDirectories(logs);
                    Files.writeString(logs.resolve("run" + run + "-" + count + ".err"), runtime.err().text());
                    Files.writeString(logs.resolve("run" + run + "-" + count + ".out"), runtime.out().text());
                }
            }
        } finally {
            servers.forEach(SimServer::close);
            delete(work);
        }
    }

    private void online(ChildProcess runtime, List<String> ids, Result result) throws Exception {
        Set<String> waiting = new HashSet<>(ids);
        long last = awaitAll(runtime, ONLINE, waiting, "online");
        long firstConfig = runtime.err().await(0, l -> l.contains("Creating configuration"),
                "FileInstall creating a configuration", LIMIT).nanos();
        result.online.add(millis(last - runtime.started()));
        result.onlineFromFirstConfig.add(millis(last - firstConfig));
        System.out.printf(Locale.ROOT, "  all %d online %.0f ms after the JVM started, %.0f ms after FileInstall "
                + "created the first configuration%n", ids.size(), millis(last - runtime.started()),
                millis(last - firstConfig));
    }

    private void sessions(ChildProcess runtime, List<String> ids, Result result) throws Exception {
        long last = awaitAll(runtime, OPENED, new HashSet<>(ids), "extra sessions opened");
        result.sessions.add(millis(last - runtime.started()));
        System.out.printf(Locale.ROOT, "  %d extra sessions open %.0f ms after the JVM started%n",
                ids.size() * SessionHolder.EXTRA, millis(last - runtime.started()));
    }

    /** @return the stamp of the line that named the last of {@code waiting} */
    private static long awaitAll(ChildProcess runtime, Pattern pattern, Set<String> waiting, String what)
            throws Exception {
        int next = 0;
        long last = 0;
        long deadline = System.nanoTime() + LIMIT.toNanos();
        while (!waiting.isEmpty()) {
            Duration left = Duration.ofNanos(deadline - System.nanoTime());
            ChildProcess.Line line;
            try {
                line = runtime.err().await(next, l -> pattern.matcher(l).find(), what, left);
            } catch (TimeoutException e) {
                throw new TimeoutException(waiting.size() + " not " + what + " within " + LIMIT.toSeconds()
                        + " s, e.g. " + waiting.iterator().next());
            }
            Matcher m = pattern.matcher(line.text());
            m.find();
            if (waiting.remove(m.group(1))) {
                last = line.nanos();
            }
            next = line.index() + 1;
        }
        return last;
    }

    /** Waits for the Gogo console: a line typed is answered. */
    private static void shellReady(ChildProcess runtime) throws Exception {
        int from = runtime.out().size();
        runtime.type("echo console-ready");
        runtime.out().await(from, l -> l.contains("console-ready"), "the console answering", LIMIT);
    }

    /**
     * Types the command, then a marker; the answer's last line is the line before the marker's. Two
     * unmeasured warm-ups, then {@code commands} measured.
     */
    private void commandLatency(ChildProcess runtime, String command, String rowText, int rows, Samples into)
            throws Exception {
        Samples mine = new Samples("ms");
        for (int i = 0; i < commands + 2; i++) {
            int from = runtime.out().size();
            long typed = runtime.type(command);
            String marker = "labscale-mark-" + i;
            runtime.type("echo " + marker);
            ChildProcess.Line end = runtime.out().await(from, l -> l.contains(marker), "the marker", LIMIT);
            List<ChildProcess.Line> answer = runtime.out().from(from).subList(0, end.index() - from);
            if (answer.isEmpty()) {
                throw new IllegalStateException(command + " printed nothing");
            }
            long matching = answer.stream().filter(l -> l.text().contains(rowText)).count();
            if (matching < rows) {
                throw new IllegalStateException(command + " showed " + matching + " lines with '" + rowText
                        + "', expected " + rows + ":\n" + answer.get(0).text());
            }
            if (i >= 2) {
                mine.add(millis(answer.get(answer.size() - 1).nanos() - typed));
            }
        }
        System.out.println("  " + command + ": " + mine.summary() + " [" + mine.all() + "]");
        into.addAll(mine);
    }

    private void heapAndThreads(long pid, Result result) throws Exception {
        String histogram = jcmd(pid, "GC.class_histogram"); // a full GC of its own; the first 12 classes
        System.out.println("  heap by class (GC.class_histogram):");
        histogram.lines().skip(1).limit(14).forEach(line -> System.out.println("    " + line.strip()));
        jcmd(pid, "GC.run");
        String info = jcmd(pid, "GC.heap_info");
        Matcher m = HEAP.matcher(info);
        if (!m.find()) {
            throw new IllegalStateException("no heap summary in jcmd GC.heap_info:\n" + info);
        }
        result.heapCommitted.add(Long.parseLong(m.group(1)));
        result.heapUsed.add(Long.parseLong(m.group(2)));
        String counters = jcmd(pid, "PerfCounter.print");
        Matcher live = Pattern.compile("(?m)^java\\.threads\\.live=(\\d+)").matcher(counters);
        String liveThreads = "?";
        if (live.find()) {
            liveThreads = live.group(1);
            result.threads.add(Long.parseLong(liveThreads));
        }
        Map<String, Integer> groups = new TreeMap<>();
        Matcher thread = THREAD.matcher(jcmd(pid, "Thread.print"));
        while (thread.find()) {
            groups.merge(thread.group(1).replaceAll("\\d+", "#"), 1, Integer::sum);
        }
        StringBuilder text = new StringBuilder();
        groups.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
                .forEach(e -> text.append(e.getValue()).append(" ").append(e.getKey()).append("; "));
        System.out.printf(Locale.ROOT, "  heap used %s KiB, committed %s KiB; %s live threads: %s%n", m.group(2),
                m.group(1), liveThreads, text);
    }

    /**
     * Rewrites one instrument's {@code .cfg} file (a longer lock timeout) and checks that nothing else
     * moves: no other instrument logs a line for 3 s after the changed one is back, no other loopback
     * server accepts a connection, the lab software reopens only that instrument's sessions.
     */
    private void change(ChildProcess runtime, Path deploy, String target, List<String> ids,
            Map<String, SimServer> serverOf, Result result) throws Exception {
        Map<String, Long> accepted = new HashMap<>();
        serverOf.forEach((id, server) -> accepted.put(id, server.acceptedConnections()));
        Path cfg = deploy.resolve("org.labhal.instrument-" + target + ".cfg");
        String content = Files.readString(cfg) + "lockTimeout=9000\n";
        Path staged = deploy.resolveSibling(cfg.getFileName());
        Files.writeString(staged, content);
        int from = runtime.err().size();
        long moved = System.nanoTime();
        Files.move(staged, cfg, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        ChildProcess.Line online = runtime.err().await(from, l -> l.contains(target + ": online at"),
                target + " online again", LIMIT);
        result.changeOnline.add(millis(online.nanos() - moved));
        ChildProcess.Line reopened = runtime.err().await(from,
                l -> l.contains(SessionHolder.PREFIX + "reopened " + target + " "), target + " sessions reopened",
                LIMIT);
        result.changeReopened.add(millis(reopened.nanos() - moved));
        Thread.sleep(3000);
        Set<String> touched = new java.util.TreeSet<>();
        for (ChildProcess.Line line : runtime.err().from(from)) {
            Matcher m = ANY_INSTRUMENT.matcher(line.text());
            while (m.find()) {
                if (!m.group(1).equals(target)) {
                    touched.add(m.group(1) + " (log: " + line.text() + ")");
                }
            }
        }
        serverOf.forEach((id, server) -> {
            long before = accepted.get(id);
            if (!id.equals(target) && server.acceptedConnections() != before) {
                touched.add(id + " (its server accepted " + (server.acceptedConnections() - before) + " connection(s))");
            }
        });
        result.others.add(touched.size());
        SimServer own = serverOf.get(target);
        System.out.printf(Locale.ROOT, "  %s's .cfg rewritten: online again after %.0f ms, its extra sessions "
                + "reopened after %.0f ms%s; other instruments touched: %s%n", target, millis(online.nanos() - moved),
                millis(reopened.nanos() - moved), own == null ? "" : ", its server accepted "
                        + (own.acceptedConnections() - accepted.get(target)) + " connection(s)",
                touched.isEmpty() ? "none" : touched.size() + " " + touched.stream().limit(3).toList());
    }

    private String jcmd(long pid, String command) throws Exception {
        try (ChildProcess child = new ChildProcess(List.of(jcmd.toString(), Long.toString(pid), command), scratch)) {
            int exit = child.waitFor(LIMIT);
            if (exit != 0) {
                throw new IllegalStateException("jcmd " + pid + " " + command + " failed: " + child.out().text()
                        + child.err().text());
            }
            return child.out().text();
        }
    }

    private static void row(String what, Samples baseline, Samples full) {
        System.out.println("| " + what + " | " + baseline.summary() + " | " + full.summary() + " |");
    }

    private static double millis(long nanos) {
        return nanos / 1e6;
    }

    private static String loadAverage() {
        try {
            String[] fields = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return fields[0] + " " + fields[1] + " " + fields[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static void delete(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
