package org.labhal.benchmarks;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The lock benchmarks against their baselines in interleaved rounds. JMH runs all forks of one
 * benchmark, then the next: on a machine shared with other work the load changes in between, and
 * the ratio of two JMH scores then says more about the load than about the locks. Here every round
 * runs one JMH fork of each benchmark of a comparison, in an order that rotates every round, so the
 * two sides of a ratio are measured seconds apart; each round gives a ratio, and the report gives
 * their median and middle half.
 * <p>
 * Each fork is a plain {@code java -cp <jar> org.openjdk.jmh.Main <benchmark> -f 1 ...} child
 * process, so the same rounds can also interleave the benchmarks of two builds of the lock (an
 * earlier benchmarks.jar passed with {@code --jar}): the baseline is then measured from the first
 * jar, every session-lock benchmark from each jar.
 * <p>
 * Usage: {@code java -cp benchmarks/target/benchmarks.jar org.labhal.benchmarks.LockComparison
 * [--rounds 8] [--jar label=path ...] [--jmh "-wi 2 -i 3 -w 1s -r 1s"] [uncontended] [contended]
 * [scaling]} (all three by default; the load average is printed with every round).
 */
public final class LockComparison {

    /** One benchmark of a comparison; the first of each comparison is the baseline. */
    private record Entry(String benchmark, String params) {
        String label() {
            String shortName = benchmark.substring(benchmark.indexOf("Benchmark") + "Benchmark".length() + 1);
            return params.isEmpty() ? shortName : shortName + " " + params;
        }
    }

    /**
     * Benchmarks measured together. {@code best}: a fork is summarised by its best tenth of
     * iterations (the 10th percentile of times, or the 90th of rates), those that other processes
     * disturbed least; otherwise by the median iteration.
     */
    private record Comparison(String title, String unit, boolean lowerIsBetter, boolean best, List<Entry> entries) {
        double summarise(double[] iterations) {
            return quantile(iterations, !best ? 0.5 : lowerIsBetter ? 0.1 : 0.9);
        }

        String statistic() {
            return !best ? "median iteration" : lowerIsBetter ? "10th percentile of iterations" : "90th percentile of iterations";
        }
    }

    private record Jar(String label, Path path) {
    }

    /**
     * Short iterations, so that some run undisturbed between other processes' time slices; a long
     * warm-up, because on a loaded machine the JIT compilers get little CPU.
     */
    private static final String UNCONTENDED_OPTIONS = "-wi 60 -w 100ms -i 300 -r 2ms";
    private static final String CONTENDED_OPTIONS = "-wi 3 -w 1s -i 5 -r 1s";

    private LockComparison() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = 8;
        List<Jar> jars = new ArrayList<>();
        String jmh = null;
        List<String> groups = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--jar" -> {
                    String[] spec = args[++i].split("=", 2);
                    if (spec.length != 2) {
                        throw new IllegalArgumentException("--jar expects label=path, got " + args[i]);
                    }
                    jars.add(new Jar(spec[0], Path.of(spec[1])));
                }
                case "--jmh" -> jmh = args[++i];
                default -> groups.add(args[i]);
            }
        }
        if (jars.isEmpty()) {
            jars.add(new Jar("this", ownJar()));
        }
        if (groups.isEmpty()) {
            groups = List.of("uncontended", "contended", "scaling");
        }
        System.out.printf(Locale.ROOT, "machine: %d CPUs, %s; load average at start %s%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.version"), load());
        for (String group : groups) {
            for (Comparison comparison : comparisons(group)) {
                String options = jmh != null ? jmh
                        : group.equals("uncontended") ? UNCONTENDED_OPTIONS : CONTENDED_OPTIONS;
                run(comparison, jars, rounds, options);
            }
        }
        System.out.printf(Locale.ROOT, "load average at end %s%n", load());
    }

    private static List<Comparison> comparisons(String group) {
        String lock = "org.labhal.benchmarks.LockBenchmark.";
        String contended = "org.labhal.benchmarks.ContendedLockBenchmark.";
        String scaling = "org.labhal.benchmarks.ScalingLockBenchmark.";
        return switch (group) {
            case "uncontended" -> List.of(new Comparison(
                    "Uncontended acquire + release, one thread", "ns/op", true, true,
                    List.of(new Entry(lock + "reentrantLockNonFair", ""),
                            new Entry(lock + "sessionLockAcquireTimeout", ""),
                            new Entry(lock + "sessionLockAcquireUnbounded", ""),
                            new Entry(lock + "sessionLockTryAcquire", ""))));
            case "contended" -> List.of("Threads02", "Threads08", "Threads32").stream()
                    .map(threads -> new Comparison("Contended, one lock, " + threads, "ops/s", false, false,
                            List.of(new Entry(contended + threads + ".fairReentrantLock", ""),
                                    new Entry(contended + threads + ".sessionLock", ""))))
                    .toList();
            case "scaling" -> List.of("1", "8", "32", "64").stream()
                    .map(n -> new Comparison("64 threads over " + n + " locks", "ops/s", false, false,
                            List.of(new Entry(scaling + "fairReentrantLock", "locks=" + n),
                                    new Entry(scaling + "sessionLock", "locks=" + n))))
                    .toList();
            default -> throw new IllegalArgumentException(
                    "unknown group " + group + ": expected uncontended, contended or scaling");
        };
    }

    private static void run(Comparison comparison, List<Jar> jars, int rounds, String options)
            throws IOException, InterruptedException {
        // The baseline from the first jar; every other entry from every jar.
        List<String> names = new ArrayList<>();
        List<Jar> from = new ArrayList<>();
        List<Entry> entries = new ArrayList<>();
        for (int e = 0; e < comparison.entries.size(); e++) {
            for (Jar jar : e == 0 ? jars.subList(0, 1) : jars) {
                entries.add(comparison.entries.get(e));
                from.add(jar);
                names.add(comparison.entries.get(e).label() + (jars.size() > 1 && e > 0 ? " [" + jar.label + "]" : ""));
            }
        }
        System.out.printf(Locale.ROOT, "%n== %s (%s; JMH %s; per fork: %s) ==%n", comparison.title, comparison.unit,
                options, comparison.statistic());
        double[][] scores = new double[rounds][entries.size()];
        for (int round = 0; round < rounds; round++) {
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < entries.size(); i++) {
                order.add(i);
            }
            Collections.rotate(order, -round); // each benchmark takes each position in turn
            String loadBefore = load();
            for (int i : order) {
                scores[round][i] = comparison.summarise(fork(from.get(i), entries.get(i), options));
            }
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "round %d (load %s):", round + 1, loadBefore));
            for (int i = 0; i < entries.size(); i++) {
                line.append(String.format(Locale.ROOT, "  %s %.4g", names.get(i), scores[round][i]));
            }
            System.out.println(line);
        }
        System.out.printf(Locale.ROOT, "%-60s %14s %26s%n", "benchmark", "median of rounds", "per-round ratio to baseline: median (middle half)");
        for (int i = 0; i < entries.size(); i++) {
            double[] own = new double[rounds];
            double[] ratio = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                own[r] = scores[r][i];
                ratio[r] = scores[r][i] / scores[r][0];
            }
            System.out.printf(Locale.ROOT, "%-60s %14.4g %12.3f (%.3f-%.3f)%n", names.get(i), quantile(own, 0.5),
                    quantile(ratio, 0.5), quantile(ratio, 0.25), quantile(ratio, 0.75));
        }
        System.out.printf(Locale.ROOT, "(%s: %s is better)%n", comparison.unit, comparison.lowerIsBetter ? "lower" : "higher");
    }

    /**
     * One JMH fork of one benchmark in a child JVM.
     *
     * @return the scores of its measurement iterations
     */
    private static double[] fork(Jar jar, Entry entry, String options) throws IOException, InterruptedException {
        Path json = Files.createTempFile("lock-comparison", ".json");
        try {
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", jar.path.toString(), "org.openjdk.jmh.Main", "^" + entry.benchmark.replace(".", "\\.") + "$",
                    "-f", "1", "-rf", "json", "-rff", json.toString()));
            if (!entry.params.isEmpty()) {
                command.add("-p");
                command.add(entry.params);
            }
            command.addAll(List.of(options.trim().split("\\s+")));
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!process.waitFor(30, TimeUnit.MINUTES) || process.exitValue() != 0) {
                process.destroyForcibly();
                throw new IllegalStateException("JMH fork failed: " + String.join(" ", command));
            }
            return rawData(Files.readString(json, StandardCharsets.UTF_8), command);
        } finally {
            Files.deleteIfExists(json);
        }
    }

    /** The primary metric's iteration scores from JMH's JSON result (one benchmark, one fork). */
    private static double[] rawData(String json, List<String> command) {
        int primary = json.indexOf("\"primaryMetric\"");
        int raw = primary < 0 ? -1 : json.indexOf("\"rawData\"", primary);
        int open = raw < 0 ? -1 : json.indexOf('[', json.indexOf('[', raw) + 1); // [[ a, b, ... ]]
        int close = open < 0 ? -1 : json.indexOf(']', open);
        if (close < 0) {
            throw new IllegalStateException("no result from " + String.join(" ", command));
        }
        Matcher number = Pattern.compile("-?[0-9][0-9.]*(?:[eE][-+]?[0-9]+)?").matcher(json.substring(open + 1, close));
        List<Double> values = new ArrayList<>();
        while (number.find()) {
            values.add(Double.parseDouble(number.group()));
        }
        if (values.isEmpty()) {
            throw new IllegalStateException("no iteration scores from " + String.join(" ", command));
        }
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static double quantile(double[] values, double q) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        double position = q * (sorted.length - 1);
        int low = (int) Math.floor(position);
        int high = (int) Math.ceil(position);
        return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
    }

    private static String load() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return parts[0] + " " + parts[1] + " " + parts[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static Path ownJar() throws URISyntaxException {
        return Path.of(LockComparison.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }
}
