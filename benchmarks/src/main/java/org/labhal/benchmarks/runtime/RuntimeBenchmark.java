package org.labhal.benchmarks.runtime;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Collections;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.labhal.api.lock.LockPolicy;
import org.labhal.benchmarks.driver.BenchDriverModel;
import org.labhal.transport.sim.SimServer;
import org.labhal.transport.sim.SimSettings;

/**
 * Measures the lab runtime, {@code runtime/target/labhal.jar}, as a user runs it: each run is a child
 * JVM in a fresh working directory (fresh {@code deploy/} and {@code labhal-state/}), timed from just
 * before the process starts until it prints what proves the step done. See BENCHMARKS.md, "Runtime".
 *
 * <ol>
 * <li>Start-up: command-line mode {@code instr:list} (the runtime runs it once every bundle is started
 * and the built-in instruments are online), against a JVM that prints one line and exits; also a
 * restart on the kept state.</li>
 * <li>Heap after start: the daemon until both instruments are online, then {@code jcmd GC.run} and
 * {@code GC.heap_info}, against an idle JVM measured the same way.</li>
 * <li>Driver drop: the daemon with an instrument on a simulator whose {@code *IDN?} no installed model
 * matches; a driver bundle for it ({@link DriverBundle}) is moved into {@code deploy/}, timed until
 * the runtime logs the instrument online with that model; against dropping the instrument's
 * {@code .cfg} itself (the same watched folder, no bundle); and removing and dropping it again.</li>
 * <li>{@code instr:stress} on {@code sim-smw} and {@code sim-shared}: warm-up passes and a measured
 * pass in one command-line run, against the same passes in a plain JVM without the runtime
 * ({@link LibraryStress}). Both need about 800,000 steps before the JIT has settled: fewer, and
 * the comparison says more about warm-up than about the runtime.</li>
 * </ol>
 *
 * Usage: {@code java -cp benchmarks/target/benchmarks.jar org.labhal.benchmarks.runtime.RuntimeBenchmark
 * [--jar runtime/target/labhal.jar] [--runs 10] [--trials 5] [--steps 200000] [--warmups 3] [--repeats 2]
 * [--before other/labhal.jar] [--c1 true] [--idle-seconds 20] [--only startup,heap,drop,idle,stress]}.
 * With {@code --before}, an older build runs in the same rounds, in random order with this one; when the
 * build made the class-data archive {@code labhal.jsa} beside the jar, start-up also runs with it (and
 * with {@code --c1 true}, with C1 only on top). The idle section reads the daemon's CPU time (Linux).
 * Modes of the child JVMs: {@code hello}, {@code idle}, {@code library-stress}; and
 * {@code driver-bundle <file>} writes the driver bundle this benchmark drops, for a look at it.
 */
public final class RuntimeBenchmark {
    private static final Duration RUN_LIMIT = Duration.ofSeconds(120);
    /** What {@code ./lab run} adds besides the archive (ClassDataArchive.RUN_OPTIONS in the runtime). */
    private static final List<String> CDS_RUN_OPTIONS = List.of("-Xlog:disable", "-Xlog:all=warning:stderr");
    private static final Duration STEP_LIMIT = Duration.ofSeconds(60);
    /** felix.fileinstall.poll in labhal.bndrun. */
    private static final int POLL_MILLIS = 500;
    private static final Pattern HEAP = Pattern.compile("total (\\d+)K, used (\\d+)K");
    private static final Pattern STRESS = Pattern.compile("throughput\\s+(\\d+) steps/s");
    private static final Pattern LIBRARY = Pattern.compile("throughput (\\d+) wrong (\\d+) errors (\\d+)");

    private final Path jar;
    /** The runs compared: this build, this build with its class-data archive, an older build. */
    private final List<Variant> variants = new ArrayList<>();
    private final Set<String> sections;
    private final int idleSeconds;
    private final Path benchmarksJar;
    private final Path java;
    private final Path jcmd;
    private final int runs;
    private final int trials;
    private final int steps;
    private final int warmups;
    private final int repeats;
    private final Path scratch;

    private RuntimeBenchmark(Map<String, String> options) throws Exception {
        this.jar = Path.of(options.getOrDefault("jar", "runtime/target/labhal.jar")).toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalArgumentException(jar + " does not exist: build it with mvn -B -ntp -q install -DskipTests");
        }
        this.benchmarksJar = Path.of(RuntimeBenchmark.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path home = Path.of(System.getProperty("java.home"));
        this.java = home.resolve("bin/java");
        this.jcmd = home.resolve("bin/jcmd");
        this.runs = Integer.parseInt(options.getOrDefault("runs", "10"));
        this.trials = Integer.parseInt(options.getOrDefault("trials", "5"));
        this.steps = Integer.parseInt(options.getOrDefault("steps", "200000"));
        this.warmups = Integer.parseInt(options.getOrDefault("warmups", "3"));
        this.repeats = Integer.parseInt(options.getOrDefault("repeats", "2"));
        this.idleSeconds = Integer.parseInt(options.getOrDefault("idle-seconds", "20"));
        this.sections = new LinkedHashSet<>(List.of(options.getOrDefault("only", "startup,heap,drop,idle,stress")
                .split(",")));
        this.scratch = Files.createTempDirectory("labhal-runtime-bench");
        variants.add(new Variant("this build", jar, List.of()));
        Path archive = jar.resolveSibling("labhal.jsa");
        if (Files.isRegularFile(archive)) {
            List<String> cds = new ArrayList<>(List.of("-XX:SharedArchiveFile=" + archive));
            cds.addAll(CDS_RUN_OPTIONS);
            variants.add(new Variant("this build + CDS archive", jar, cds));
            if (Boolean.parseBoolean(options.getOrDefault("c1", "false"))) {
                List<String> c1 = new ArrayList<>(cds);
                c1.add("-XX:TieredStopAtLevel=1"); // C1 only: less compiling during start-up, slower peak code
                variants.add(new Variant("this build + CDS archive + C1 only", jar, c1));
            }
        }
        if (options.containsKey("before")) {
            Path before = Path.of(options.get("before")).toAbsolutePath();
            if (!Files.isRegularFile(before)) {
                throw new IllegalArgumentException(before + " does not exist");
            }
            variants.add(new Variant("before", before, List.of()));
        }
    }

    /**
     * One way of running the runtime.
     *
     * @param name as printed
     * @param jar the executable jar
     * @param jvmOptions before {@code -jar}
     */
    private record Variant(String name, Path jar, List<String> jvmOptions) {
        List<String> command(Path java, List<String> more, List<String> arguments) {
            List<String> command = new ArrayList<>(List.of(java.toString()));
            command.addAll(jvmOptions);
            command.addAll(more);
            command.addAll(List.of("-jar", jar.toString()));
            command.addAll(arguments);
            return command;
        }

        /** @return whether it is a jar of its own rather than another way to run one */
        boolean plain() {
            return jvmOptions.isEmpty();
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && !args[0].startsWith("--")) {
            childMode(args);
            return;
        }
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        RuntimeBenchmark benchmark = new RuntimeBenchmark(options);
        try {
            benchmark.runAll();
        } finally {
            delete(benchmark.scratch);
        }
    }

    /** What the child JVMs of the baselines do. */
    private static void childMode(String[] args) throws Exception {
        switch (args[0]) {
            case "hello" -> System.out.println("hello");
            case "idle" -> {
                System.out.println("idle");
                System.out.flush();
                Thread.sleep(Long.MAX_VALUE); // until the harness ends this process
            }
            case "driver-bundle" -> DriverBundle.write(Path.of(args[1]));
            case "library-stress" -> System.out.println(LibraryStress.run(args[1], LockPolicy.valueOf(args[2]),
                    Integer.parseInt(args[3]), Integer.parseInt(args[4]), Integer.parseInt(args[5]),
                    Integer.parseInt(args[6])));
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    private void runAll() throws Exception {
        System.out.printf(Locale.ROOT, "runtime benchmark: %s, java %s, %d CPUs, load average %s%n", jar,
                System.getProperty("java.version"), Runtime.getRuntime().availableProcessors(), loadAverage());
        for (Variant variant : variants) {
            System.out.println("  " + variant.name() + ": " + variant.jar() + " " + String.join(" ", variant.jvmOptions()));
        }
        long begin = System.nanoTime();
        if (sections.contains("startup")) {
            startUp();
        }
        if (sections.contains("heap")) {
            heapAfterStart();
        }
        if (sections.contains("drop")) {
            driverDrop();
        }
        if (sections.contains("idle")) {
            idleCpu();
        }
        if (sections.contains("stress")) {
            stress();
        }
        System.out.printf(Locale.ROOT, "%nall done in %.0f s, load average %s%n", (System.nanoTime() - begin) / 1e9,
                loadAverage());
    }

    // ---- 1. start-up ----------------------------------------------------------------------------------

    private void startUp() throws Exception {
        heading("Start-up to the first command's result (command-line mode), ms; variants interleaved in random "
                + "order within each round");
        Samples helloResult = new Samples("ms");
        Samples helloExit = new Samples("ms");
        Map<Variant, Samples[]> samples = new LinkedHashMap<>();
        for (Variant variant : variants) {
            samples.put(variant, new Samples[] {new Samples("ms"), new Samples("ms"), new Samples("ms"),
                new Samples("ms"), new Samples("ms")});
        }
        for (int i = 0; i < runs; i++) {
            Path work = fresh();
            timeRun(List.of(java.toString(), "-cp", benchmarksJar.toString(), RuntimeBenchmark.class.getName(), "hello"),
                    work, out -> out.equals("hello"), helloResult, helloExit);
            delete(work);
            List<Variant> order = new ArrayList<>(variants);
            Collections.shuffle(order);
            for (Variant variant : order) {
                Samples[] s = samples.get(variant);
                work = fresh();
                timeRun(variant.command(java, List.of(), List.of("instr:list")), work, out -> out.startsWith("ID "),
                        s[0], s[1], s[4]).check(this::bothOnline);
                timeRun(variant.command(java, List.of(), List.of("instr:list")), work, out -> out.startsWith("ID "),
                        s[2], s[3], new Samples("ms")).check(this::bothOnline);
                delete(work);
            }
        }
        row("JVM printing one line (baseline)", helloResult, helloExit);
        for (Map.Entry<Variant, Samples[]> entry : samples.entrySet()) {
            Samples[] s = entry.getValue();
            row("instr:list, fresh directory, " + entry.getKey().name(), s[0], s[1]);
            System.out.println("    CPU time of the process until the result (user + system, all threads): "
                    + s[4].summary());
        }
        for (Map.Entry<Variant, Samples[]> entry : samples.entrySet()) {
            Samples[] s = entry.getValue();
            row("instr:list, restart on kept labhal-state, " + entry.getKey().name(), s[2], s[3]);
        }
        System.out.println("  (result = until the first line of output; exit = until the process ended)");
    }

    /** A finished command-line run. */
    private record Run(String out, String err, int exit) {
        void check(Predicate<Run> ok) {
            if (exit != 0 || !ok.test(this)) {
                throw new IllegalStateException("unexpected run, exit " + exit + ":\n" + out + "\n" + err);
            }
        }
    }

    private boolean bothOnline(Run run) {
        return run.out().lines().anyMatch(l -> l.startsWith("sim-smw ") && l.contains("ONLINE"))
                && run.out().lines().anyMatch(l -> l.startsWith("sim-shared ") && l.contains("ONLINE"));
    }

    private Run timeRun(List<String> command, Path work, Predicate<String> result, Samples untilResult,
            Samples untilExit) throws Exception {
        return timeRun(command, work, result, untilResult, untilExit, new Samples("ms"));
    }

    private Run timeRun(List<String> command, Path work, Predicate<String> result, Samples untilResult,
            Samples untilExit, Samples cpu) throws Exception {
        try (ChildProcess child = new ChildProcess(command, work)) {
            ChildProcess.Line line;
            try {
                line = child.out().await(0, result, "the result", RUN_LIMIT);
            } catch (TimeoutException e) {
                throw new IllegalStateException(e.getMessage() + "\nstderr of " + command + ":\n" + child.err().text(),
                        e);
            }
            // read once the result is there (a finished process's time is gone with it): the CPU time to the result
            Optional<Duration> used = child.cpu();
            int exit = child.waitFor(RUN_LIMIT);
            long ended = System.nanoTime();
            untilResult.add(millis(line.nanos() - child.started()));
            untilExit.add(millis(ended - child.started()));
            used.ifPresent(d -> cpu.add(d.toNanos() / 1e6));
            return new Run(child.out().text(), child.err().text(), exit);
        }
    }

    // ---- 2. heap after start --------------------------------------------------------------------------

    private void heapAfterStart() throws Exception {
        heading("Daemon: start-up until both instruments are online, heap after a full GC, stop");
        Samples online = new Samples("ms");
        Samples stop = new Samples("ms");
        Samples used = new Samples("KiB");
        Samples committed = new Samples("KiB");
        Samples classes = new Samples("classes");
        Samples threads = new Samples("threads");
        Samples idleUsed = new Samples("KiB");
        Samples idleCommitted = new Samples("KiB");
        Samples idleClasses = new Samples("classes");
        Samples idleThreads = new Samples("threads");
        String gc = "";
        for (int i = 0; i < trials; i++) {
            Path work = fresh();
            try (ChildProcess idle = new ChildProcess(List.of(java.toString(), "-cp", benchmarksJar.toString(),
                    RuntimeBenchmark.class.getName(), "idle"), work)) {
                idle.out().await(0, "idle"::equals, "idle", RUN_LIMIT);
                Thread.sleep(2000); // the same settling time as the daemon gets below
                gc = heap(idle.pid(), idleUsed, idleCommitted);
                counters(idle.pid(), idleClasses, idleThreads);
            }
            try (ChildProcess daemon = new ChildProcess(daemon(), work)) {
                online.add(millis(awaitBuiltInsOnline(daemon, 0) - daemon.started()));
                Thread.sleep(2000); // FileInstall's first scans and the instruments' first watchdog checks
                heap(daemon.pid(), used, committed);
                counters(daemon.pid(), classes, threads);
                long stopping = System.nanoTime();
                daemon.close();
                stop.add(millis(System.nanoTime() - stopping));
            }
            delete(work);
        }
        System.out.println("  garbage collector: " + gc);
        System.out.println("  daemon start until both built-in instruments logged online: " + online.summary());
        System.out.println("  daemon stop (SIGTERM until the process ended): " + stop.summary());
        System.out.println("  | JVM | heap used after GC.run | heap committed | loaded classes | live threads |");
        System.out.println("  | idle JVM (baseline) | " + idleUsed.summary() + " | " + idleCommitted.summary() + " | "
                + idleClasses.summary() + " | " + idleThreads.summary() + " |");
        System.out.println("  | labhal.jar daemon | " + used.summary() + " | " + committed.summary() + " | "
                + classes.summary() + " | " + threads.summary() + " |");
    }

    /** Full GC, then the heap summary; returns the first line of it (the collector). */
    private String heap(long pid, Samples used, Samples committed) throws Exception {
        jcmd(pid, "GC.run");
        String info = jcmd(pid, "GC.heap_info");
        Matcher m = HEAP.matcher(info);
        if (!m.find()) {
            throw new IllegalStateException("no heap summary in jcmd GC.heap_info:\n" + info);
        }
        committed.add(Long.parseLong(m.group(1)));
        used.add(Long.parseLong(m.group(2)));
        return info.lines().skip(1).findFirst().orElse("").strip().replaceAll("\\s+total.*", "");
    }

    private void counters(long pid, Samples classes, Samples threads) throws Exception {
        String counters = jcmd(pid, "PerfCounter.print");
        // Classes from the CDS archive are counted apart from the others.
        classes.add(counter(counters, "java.cls.loadedClasses") + counter(counters, "java.cls.sharedLoadedClasses")
                - counter(counters, "java.cls.unloadedClasses"));
        threads.add(counter(counters, "java.threads.live"));
    }

    private static long counter(String counters, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "=(\\d+)").matcher(counters);
        if (!m.find()) {
            throw new IllegalStateException("no counter " + name);
        }
        return Long.parseLong(m.group(1));
    }

    private String jcmd(long pid, String command) throws Exception {
        try (ChildProcess child = new ChildProcess(List.of(jcmd.toString(), Long.toString(pid), command), scratch)) {
            int exit = child.waitFor(RUN_LIMIT);
            if (exit != 0) {
                throw new IllegalStateException("jcmd " + pid + " " + command + " failed: " + child.out().text()
                        + child.err().text());
            }
            return child.out().text();
        }
    }

    // ---- 3. driver drop -------------------------------------------------------------------------------

    private void driverDrop() throws Exception {
        heading("Hot deploy through deploy/ (daemon; FileInstall polls every felix.fileinstall.poll ms and acts on a "
                + "new file once two polls saw it unchanged), ms; jars interleaved in random order within each trial");
        Path driver = scratch.resolve("labhal-bench-driver.jar");
        DriverBundle.write(driver);
        String idn = BenchDriverModel.MANUFACTURER + "," + BenchDriverModel.MODEL + ",100001,1.0";
        List<Variant> jars = variants.stream().filter(Variant::plain).toList();
        Map<Variant, List<Timed>> timings = new LinkedHashMap<>();
        for (Variant variant : jars) {
            timings.put(variant, List.of(
                    new Timed("instrument .cfg dropped -> instrument online, unknown model (baseline)"),
                    new Timed("driver bundle dropped -> its model available to the runtime"),
                    new Timed("driver bundle dropped -> instrument online with its model (reconnected: "
                            + "SHARED_BUFFER -> INDEPENDENT_SESSIONS)"),
                    new Timed("driver bundle deleted -> driver unbound"),
                    new Timed("driver bundle dropped again -> driver bound (same lock policy: no reconnect)")));
        }
        try (SimServer server = SimServer.builder("SMW200A").settings(SimSettings.defaults().withIdn(idn)).start()) {
            for (int i = 0; i < trials; i++) {
                List<Variant> order = new ArrayList<>(jars);
                Collections.shuffle(order);
                for (Variant variant : order) {
                    dropTrial(variant, timings.get(variant), server, driver);
                }
            }
        }
        for (Map.Entry<Variant, List<Timed>> entry : timings.entrySet()) {
            System.out.println("  " + entry.getKey().name() + ":");
            System.out.println("  | from -> until the runtime logged it | total | file -> FileInstall acted | "
                    + "FileInstall acted -> logged |");
            for (Timed timed : entry.getValue()) {
                System.out.println("  | " + timed.what + " | " + timed.total.summary() + " | "
                        + timed.noticed.summary() + " | " + timed.handled.summary() + " |");
            }
            System.out.println("  per trial, driver dropped -> online with its model: "
                    + entry.getValue().get(2).total.all());
        }
    }

    private void dropTrial(Variant variant, List<Timed> timed, SimServer server, Path driver) throws Exception {
        String model = "model '" + BenchDriverModel.NAME + "'";
        Path work = fresh();
        Path deploy = work.resolve("deploy");
        try (ChildProcess daemon = new ChildProcess(daemon(variant), work)) {
            awaitBuiltInsOnline(daemon, 0);
            // FileInstall's first scan of deploy/ acts on files at once; later ones wait for a second
            // scan. Measure the steady state: drop only after the first scans.
            Thread.sleep(2000);
            ChildProcess.Output log = daemon.err();

            Path staged = work.resolve("bench.cfg.part");
            Files.writeString(staged, "resource=" + server.resource() + "\n");
            int mark = log.size();
            long dropped = drop(staged, deploy.resolve("org.labhal.instrument-bench.cfg"));
            ChildProcess.Line acted = log.await(mark, l -> l.contains("Creating configuration {"
                    + "org.labhal.instrument~bench}"), "FileInstall creating the configuration", STEP_LIMIT);
            ChildProcess.Line line = log.await(mark, l -> l.contains("bench: online at"), "bench online",
                    STEP_LIMIT);
            require(line, "model unknown");
            timed.get(0).add(dropped, acted, line);

            mark = log.size();
            dropped = dropDriver(driver, work, deploy);
            acted = log.await(mark, l -> l.contains("Installing bundle " + DriverBundle.SYMBOLIC_NAME),
                    "FileInstall installing the bundle", STEP_LIMIT);
            line = log.await(mark, l -> l.contains(model) && l.contains("is available"), "the model available",
                    STEP_LIMIT);
            timed.get(1).add(dropped, acted, line);
            line = log.await(mark, l -> l.contains("bench: online at") && l.contains(model),
                    "bench online with the model", STEP_LIMIT);
            require(line, "lock policy INDEPENDENT_SESSIONS");
            timed.get(2).add(dropped, acted, line);

            mark = log.size();
            Thread.sleep(ThreadLocalRandom.current().nextInt(POLL_MILLIS));
            long deleted = System.nanoTime();
            Files.delete(deploy.resolve(driver.getFileName()));
            acted = log.await(mark, l -> l.contains("Uninstalling bundle") || l.contains("Uninstalled"),
                    "FileInstall uninstalling the bundle", STEP_LIMIT);
            line = log.await(mark, l -> l.contains("bench: driver of " + model + " unbound"), "the driver unbound",
                    STEP_LIMIT);
            timed.get(3).add(deleted, acted, line);

            mark = log.size();
            dropped = dropDriver(driver, work, deploy);
            acted = log.await(mark, l -> l.contains("Installing bundle " + DriverBundle.SYMBOLIC_NAME),
                    "FileInstall installing the bundle again", STEP_LIMIT);
            line = log.await(mark, l -> l.contains("bench: driver of " + model + " from") && l.endsWith("bound"),
                    "the driver bound again", STEP_LIMIT);
            timed.get(4).add(dropped, acted, line);
        }
        delete(work);
    }

    // ---- 3b. idle CPU ---------------------------------------------------------------------------------

    /**
     * The daemon's CPU time while nothing happens, with deploy/ empty and with 1,000 files in it: what
     * FileInstall's polling costs. Files nothing claims (notes) are offered to every handler at every
     * poll; configuration files are claimed once and then only checked for changes.
     */
    private void idleCpu() throws Exception {
        heading("Idle daemon: CPU time over " + idleSeconds + " s, after a 10 s settle, % of one CPU; jars "
                + "interleaved");
        List<Variant> jars = variants.stream().filter(Variant::plain).toList();
        String[] folders = {"deploy/ empty", "1,000 note files nothing claims", "1,000 .cfg files (a PID nobody uses)"};
        Map<String, Samples> percent = new LinkedHashMap<>();
        for (int r = 0; r < Math.max(1, trials / 2); r++) {
            for (int f = 0; f < folders.length; f++) {
                List<Variant> order = new ArrayList<>(jars);
                Collections.shuffle(order);
                for (Variant variant : order) {
                    Path work = fresh();
                    Path deploy = Files.createDirectories(work.resolve("deploy"));
                    for (int i = 0; f > 0 && i < 1000; i++) {
                        Files.writeString(deploy.resolve(f == 1 ? "note-" + i + ".txt" : "bench.idle-" + i + ".cfg"),
                                "x=" + i + "\n");
                    }
                    try (ChildProcess daemon = new ChildProcess(daemon(variant), work)) {
                        awaitBuiltInsOnline(daemon, 0);
                        Thread.sleep(10_000);
                        Duration before = daemon.cpu().orElseThrow();
                        long begin = System.nanoTime();
                        Thread.sleep(idleSeconds * 1000L);
                        Duration used = daemon.cpu().orElseThrow().minus(before);
                        percent.computeIfAbsent(variant.name() + " | " + folders[f], k -> new Samples("%"))
                                .add(100.0 * used.toNanos() / (System.nanoTime() - begin));
                    }
                    delete(work);
                }
            }
        }
        System.out.println("  | jar | deploy/ | CPU, % of one CPU |");
        percent.forEach((what, samples) -> System.out.println("  | " + what + " | " + samples.summary() + " |"));
    }

    /** A hot-deploy step: its total time, split where FileInstall logged that it acted on the file. */
    private static final class Timed {
        final String what;
        final Samples total = new Samples("ms");
        final Samples noticed = new Samples("ms");
        final Samples handled = new Samples("ms");

        Timed(String what) {
            this.what = what;
        }

        void add(long changed, ChildProcess.Line acted, ChildProcess.Line done) {
            total.add(millis(done.nanos() - changed));
            noticed.add(millis(acted.nanos() - changed));
            handled.add(millis(done.nanos() - acted.nanos()));
        }
    }

    private static long dropDriver(Path driver, Path work, Path deploy) throws IOException, InterruptedException {
        Path staged = work.resolve("driver.jar.part");
        Files.copy(driver, staged, StandardCopyOption.REPLACE_EXISTING);
        return drop(staged, deploy.resolve(driver.getFileName()));
    }

    /**
     * Moves a complete file into the watched folder in one step, so that FileInstall never sees half
     * of it.
     *
     * @return {@link System#nanoTime()} right after the move
     */
    private static long drop(Path staged, Path target) throws IOException, InterruptedException {
        // A random phase against FileInstall's 500 ms polls, so that the trials sample every phase
        // instead of repeating one
        Thread.sleep(ThreadLocalRandom.current().nextInt(POLL_MILLIS));
        Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
        return System.nanoTime();
    }

    private static void require(ChildProcess.Line line, String text) {
        if (!line.text().contains(text)) {
            throw new IllegalStateException("expected \"" + text + "\" in: " + line.text());
        }
    }

    // ---- 4. stress ------------------------------------------------------------------------------------

    private void stress() throws Exception {
        heading("instr:stress vs the same steps without the runtime, steps/s (a pass of " + steps + " steps measured "
                + "after " + warmups + " warm-up passes of as many, in each JVM)");
        int[][] settings = {{1, 1}, {4, 1}, {8, 4}};
        System.out.println("  | instrument | threads | sessions | instr:stress (runtime) | library, no runtime "
                + "(baseline) | runtime / library |");
        for (String[] instrument : new String[][] {{"sim-smw", "SIM::SMW200A::1::INSTR", "INDEPENDENT_SESSIONS"},
                {"sim-shared", "SIM::SHARED::1::INSTR", "SHARED_BUFFER"}}) {
            for (int[] setting : settings) {
                Samples runtime = new Samples("steps/s");
                Samples library = new Samples("steps/s");
                String command = "instr:stress " + instrument[0] + " " + setting[0] + " " + steps + " " + setting[1];
                String passes = String.join(" ; ", Collections.nCopies(warmups + 1, command));
                for (int r = 0; r < repeats; r++) {
                    Path work = fresh();
                    Run run = timeRun(labhal(passes), work, l -> true, new Samples("ms"), new Samples("ms"));
                    run.check(x -> x.out().contains("wrong answers  0") && x.out().contains("errors         0"));
                    runtime.add(parse(STRESS, run.out()));
                    Run base = timeRun(List.of(java.toString(), "-cp", benchmarksJar.toString(),
                            RuntimeBenchmark.class.getName(), "library-stress", instrument[1], instrument[2],
                            Integer.toString(setting[0]), Integer.toString(steps), Integer.toString(setting[1]),
                            Integer.toString(warmups + 1)), work, l -> true, new Samples("ms"), new Samples("ms"));
                    Matcher m = LIBRARY.matcher(base.out());
                    if (base.exit() != 0 || !m.find() || !m.group(2).equals("0") || !m.group(3).equals("0")) {
                        throw new IllegalStateException("library stress failed:\n" + base.out() + base.err());
                    }
                    library.add(Double.parseDouble(m.group(1)));
                    delete(work);
                }
                System.out.printf(Locale.ROOT, "  | %s | %d | %d | %s | %s | %.2f |%n", instrument[0], setting[0],
                        setting[1], runtime.summary(), library.summary(), runtime.median() / library.median());
            }
        }
    }

    private static double parse(Pattern pattern, String text) {
        Matcher m = pattern.matcher(text);
        if (!m.find()) {
            throw new IllegalStateException("no " + pattern + " in:\n" + text);
        }
        return Double.parseDouble(m.group(1));
    }

    // ---- helpers --------------------------------------------------------------------------------------

    private List<String> labhal(String commandLine) {
        return List.of(java.toString(), "-jar", jar.toString(), commandLine);
    }

    private List<String> daemon() {
        return daemon(variants.get(0));
    }

    private List<String> daemon(Variant variant) {
        return variant.command(java, List.of("-Dgosh.args=--nointeractive", "-Dlabhal.log.level=info"), List.of());
    }

    /** @return when the later of the two built-in instruments was logged online */
    private static long awaitBuiltInsOnline(ChildProcess daemon, int from) throws Exception {
        long smw = daemon.err().await(from, l -> l.contains("sim-smw: online at"), "sim-smw online", RUN_LIMIT).nanos();
        long shared = daemon.err().await(from, l -> l.contains("sim-shared: online at"), "sim-shared online",
                RUN_LIMIT).nanos();
        return Math.max(smw, shared);
    }

    private Path fresh() throws IOException {
        return Files.createTempDirectory(scratch, "work");
    }

    private static void heading(String title) {
        System.out.printf(Locale.ROOT, "%n## %s (load average %s)%n", title, loadAverage());
    }

    private static void row(String what, Samples result, Samples exit) {
        System.out.println("  | " + what + " | result " + result.summary() + " | exit " + exit.summary() + " |");
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
