package org.labhal.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The transport benchmarks' clients against their baselines in interleaved 250 ms windows, in one
 * JVM: round after round, each client runs for a window in turn (the order rotating every
 * round), so that the clients share whatever else the machine is doing at the time, and each round
 * gives a ratio of two windows measured seconds apart. JMH runs each benchmark's forks one after
 * another, minutes apart; on a machine shared with other builds the load changes in between, and a
 * ratio of two JMH scores then says more about the load than about the clients.
 * <p>
 * The clients and their set-up are the JMH benchmarks' own ({@link SocketQueryBenchmark},
 * {@link BlockReadBenchmark}, {@link PtyQueryBenchmark}, {@link LanQueryBenchmark},
 * {@link LanBlockBenchmark}); the first {@value #WARMUP_ROUNDS} rounds warm the JIT up and are not
 * counted.
 * <p>
 * Usage: {@code java -cp benchmarks/target/benchmarks.jar org.labhal.benchmarks.InterleavedComparison
 * [socket] [block] [pty] [lan] [lan-block]} (the first three by default; {@code lan} and
 * {@code lan-block} are the VXI-11 and HiSLIP comparisons of {@code run-lan-bench.sh}).
 */
public final class InterleavedComparison {
    static final int WARMUP_ROUNDS = 12;
    /** Short windows: the two halves of a pair are measured a quarter of a second apart. */
    static final long WINDOW_NANOS = 250_000_000L;

    /** One operation of a client. */
    @FunctionalInterface
    interface Operation {
        void run() throws Exception;
    }

    /** One window of a client: runs for about {@code nanos} and measures itself. */
    @FunctionalInterface
    interface Window {
        /** @return operations per second over the window */
        double run(long nanos) throws Exception;
    }

    /** A client: a name and how it runs a window. */
    record Client(String name, Window window) {
        /** A client of this JVM whose window the harness times, one operation after the other. */
        Client(String name, Operation operation) {
            this(name, nanos -> InterleavedComparison.window(operation, nanos));
        }
    }

    /** A ratio to print: the rate of client {@code over} divided by that of client {@code under}. */
    record Ratio(int over, int under) {
    }

    private InterleavedComparison() {
    }

    public static void main(String[] args) throws Exception {
        List<String> which = args.length == 0 ? List.of("socket", "block", "pty") : List.of(args);
        for (String comparison : which) {
            switch (comparison) {
                case "socket" -> socket();
                case "block" -> block();
                case "pty" -> pty();
                case "lan" -> lan();
                case "lan-block" -> lanBlock();
                default -> throw new IllegalArgumentException("unknown comparison " + comparison
                        + ": expected socket, block, pty, lan or lan-block");
            }
        }
    }

    private static void socket() throws Exception {
        SocketQueryBenchmark benchmark = new SocketQueryBenchmark();
        SocketQueryBenchmark.LabHal labhal = new SocketQueryBenchmark.LabHal();
        SocketQueryBenchmark.Raw raw = new SocketQueryBenchmark.Raw();
        labhal.open();
        raw.open();
        try {
            compare("Query round trips over loopback TCP (SIM:ECHO? x), queries/s", 80, 1, List.of(
                    new Client("labhalSession", () -> benchmark.labhalSession(labhal)),
                    new Client("rawSocket", () -> benchmark.rawSocket(raw))));
        } finally {
            labhal.close();
            raw.close();
        }
    }

    private static void block() throws Exception {
        BlockReadBenchmark benchmark = new BlockReadBenchmark();
        BlockReadBenchmark.LabHal labhal = new BlockReadBenchmark.LabHal();
        BlockReadBenchmark.Raw raw = new BlockReadBenchmark.Raw();
        labhal.open();
        raw.open();
        try {
            compare("100 MB definite-length block over loopback TCP, MB/s", 40, BlockReadBenchmark.LENGTH / 1e6, List.of(
                    new Client("labhalQueryBlock", () -> benchmark.labhalQueryBlock(labhal)),
                    new Client("rawSocketCopy", () -> benchmark.rawSocketCopy(raw))));
        } finally {
            labhal.close();
            raw.close();
        }
    }

    private static void pty() throws Exception {
        PtyQueryBenchmark benchmark = new PtyQueryBenchmark();
        PtyQueryBenchmark.Serial serial = new PtyQueryBenchmark.Serial();
        PtyQueryBenchmark.RawPty raw = new PtyQueryBenchmark.RawPty();
        PtyQueryBenchmark.Tcp tcp = new PtyQueryBenchmark.Tcp();
        serial.open();
        raw.open();
        tcp.open();
        try {
            compare("Query round trips over a pty (socat to the simulator's TCP port) and over TCP, queries/s", 60, 1,
                    List.of(new Client("serialSession", () -> benchmark.serialSession(serial)),
                            new Client("rawPty", () -> benchmark.rawPty(raw)),
                            new Client("socketSession", () -> benchmark.socketSession(tcp))));
        } finally {
            serial.close();
            raw.close();
            tcp.close();
        }
    }

    /**
     * Query round trips through the socket, VXI-11 and HiSLIP transports and the raw socket client,
     * each to its own simulated SMW200A; ratios of HiSLIP and VXI-11 to the socket transport and of
     * all three to the raw client.
     */
    private static void lan() throws Exception {
        LanQueryBenchmark benchmark = new LanQueryBenchmark();
        LanQueryBenchmark.Hislip hislip = new LanQueryBenchmark.Hislip();
        LanQueryBenchmark.Vxi11 vxi11 = new LanQueryBenchmark.Vxi11();
        SocketQueryBenchmark.LabHal socket = new SocketQueryBenchmark.LabHal();
        SocketQueryBenchmark.Raw raw = new SocketQueryBenchmark.Raw();
        hislip.open();
        vxi11.open();
        socket.open();
        raw.open();
        try {
            compare("Query round trips over loopback: HiSLIP, VXI-11, socket transport, raw socket (SIM:ECHO? x), "
                    + "queries/s", 60, 1, List.of(
                            new Client("hislipSession", () -> benchmark.hislipSession(hislip)),
                            new Client("vxi11Session", () -> benchmark.vxi11Session(vxi11)),
                            new Client("socketSession", () -> benchmark.socketSession(socket)),
                            new Client("rawSocket", () -> benchmark.rawSocket(raw))),
                    List.of(new Ratio(0, 2), new Ratio(1, 2), new Ratio(0, 3), new Ratio(1, 3), new Ratio(2, 3)));
        } finally {
            hislip.close();
            vxi11.close();
            socket.close();
            raw.close();
        }
    }

    /**
     * The 100 MB block over HiSLIP with the default 1 MiB and with 64 KiB messages, through the socket
     * transport and by the raw socket copy.
     */
    private static void lanBlock() throws Exception {
        LanBlockBenchmark benchmark = new LanBlockBenchmark();
        LanBlockBenchmark.Hislip hislip = new LanBlockBenchmark.Hislip();
        hislip.maxMessageSize = 1 << 20;
        LanBlockBenchmark.Hislip small = new LanBlockBenchmark.Hislip();
        small.maxMessageSize = 64 * 1024;
        BlockReadBenchmark.LabHal socket = new BlockReadBenchmark.LabHal();
        BlockReadBenchmark.Raw raw = new BlockReadBenchmark.Raw();
        hislip.open();
        small.open();
        socket.open();
        raw.open();
        try {
            compare("100 MB definite-length block over loopback: HiSLIP (1 MiB and 64 KiB messages), socket "
                    + "transport, raw socket copy, MB/s", 36, BlockReadBenchmark.LENGTH / 1e6, List.of(
                            new Client("hislip1MiB", () -> benchmark.hislipQueryBlock(hislip)),
                            new Client("hislip64KiB", () -> benchmark.hislipQueryBlock(small)),
                            new Client("socketQueryBlock", () -> benchmark.socketQueryBlock(socket)),
                            new Client("rawSocketCopy", () -> benchmark.rawSocketCopy(raw))),
                    List.of(new Ratio(0, 2), new Ratio(1, 2), new Ratio(0, 3), new Ratio(1, 3), new Ratio(2, 3)));
        } finally {
            hislip.close();
            small.close();
            socket.close();
            raw.close();
        }
    }

    /**
     * The ratios among the named pairs {over, under} whose two clients are both in {@code names}, in the
     * order of {@code pairs}: a comparison lists every ratio it may print, and a subset of clients keeps
     * those it can.
     */
    static List<Ratio> ratios(List<String> names, String[][] pairs) {
        List<Ratio> ratios = new ArrayList<>();
        for (String[] pair : pairs) {
            if (names.contains(pair[0]) && names.contains(pair[1])) {
                ratios.add(new Ratio(names.indexOf(pair[0]), names.indexOf(pair[1])));
            }
        }
        return ratios;
    }

    /**
     * One summary line of a comparison's result: each client's median rate, then each ratio's median
     * of per-round ratios with its middle half.
     *
     * @param rates as {@link #compare} returned them
     */
    static String summary(String label, List<String> names, double[][] rates, List<Ratio> ratios) {
        StringBuilder line = new StringBuilder(label);
        for (int c = 0; c < names.size(); c++) {
            line.append(String.format(Locale.ROOT, " %s %s", names.get(c), number(percentile(rates[c], 50))));
        }
        for (Ratio ratio : ratios) {
            double[] perRound = new double[rates[ratio.over()].length];
            for (int r = 0; r < perRound.length; r++) {
                perRound[r] = rates[ratio.over()][r] / rates[ratio.under()][r];
            }
            line.append(String.format(Locale.ROOT, " | %s/%s %.2f (%.2f-%.2f)", names.get(ratio.over()),
                    names.get(ratio.under()), percentile(perRound, 50), percentile(perRound, 25),
                    percentile(perRound, 75)));
        }
        return line.toString();
    }

    /**
     * Runs one client alone, for a profiler attached to this JVM or the machine: a 5 s warm-up, then
     * prints "profiling now" (a script may start perf on this line), then {@code seconds} of windows,
     * then their median and range.
     *
     * @param label names the client (and server) in the result line
     */
    static void alone(Client client, long seconds, String label) throws Exception {
        long warm = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < warm) {
            client.window().run(WINDOW_NANOS);
        }
        System.out.println("profiling now");
        double[] rates = new double[(int) (seconds * 4)];
        for (int i = 0; i < rates.length; i++) {
            rates[i] = client.window().run(WINDOW_NANOS);
        }
        System.out.printf(Locale.ROOT, "  %s alone: median %s queries/s over %d windows (%s..%s), load average %s%n",
                label, number(percentile(rates, 50)), rates.length, number(min(rates)), number(max(rates)),
                loadAverage());
    }

    /** Like {@link #compare(String, int, double, List, List)}, with the first client over each of the others. */
    static void compare(String title, int rounds, double unitsPerOperation, List<Client> clients)
            throws Exception {
        List<Ratio> ratios = new ArrayList<>();
        for (int c = 1; c < clients.size(); c++) {
            ratios.add(new Ratio(0, c));
        }
        compare(title, rounds, unitsPerOperation, clients, ratios);
    }

    /**
     * Runs the rounds after {@value #WARMUP_ROUNDS} warm-up rounds and prints each client's median
     * rate and the per-round ratios asked for.
     *
     * @param unitsPerOperation what one operation is worth in the printed unit (1 for queries, 100 for
     *        a 100 MB block in MB)
     * @param ratios which clients to divide by which, per round
     */
    static void compare(String title, int rounds, double unitsPerOperation, List<Client> clients,
            List<Ratio> ratios) throws Exception {
        compare(title, WARMUP_ROUNDS, rounds, unitsPerOperation, clients, ratios);
    }

    /**
     * Runs the rounds and prints each client's median rate and the per-round ratios asked for.
     *
     * @param warmupRounds rounds run first and not counted
     * @param unitsPerOperation what one operation is worth in the printed unit
     * @return every counted window's rate, by client and round
     */
    static double[][] compare(String title, int warmupRounds, int rounds, double unitsPerOperation,
            List<Client> clients, List<Ratio> ratios) throws Exception {
        System.out.printf(Locale.ROOT, "%n## %s (load average %s)%n", title, loadAverage());
        int n = clients.size();
        double[][] rates = new double[n][rounds];
        for (int round = -warmupRounds; round < rounds; round++) {
            for (int k = 0; k < n; k++) {
                int c = Math.floorMod(round + k, n); // rotate who goes first
                double rate = clients.get(c).window().run(WINDOW_NANOS) * unitsPerOperation;
                if (round >= 0) {
                    rates[c][round] = rate;
                }
            }
        }
        for (int c = 0; c < n; c++) {
            System.out.printf(Locale.ROOT, "  %-17s median %s, middle half %s..%s, min %s, max %s, over %d windows%n",
                    clients.get(c).name(), number(percentile(rates[c], 50)), number(percentile(rates[c], 25)),
                    number(percentile(rates[c], 75)), number(min(rates[c])), number(max(rates[c])), rounds);
        }
        for (int c = 0; c < n; c++) {
            System.out.printf(Locale.ROOT, "    %s every round: %s%n", clients.get(c).name(), numbers(rates[c]));
        }
        for (Ratio ratio : ratios) {
            double[] perRound = new double[rounds];
            for (int round = 0; round < rounds; round++) {
                perRound[round] = rates[ratio.over()][round] / rates[ratio.under()][round];
            }
            System.out.printf(Locale.ROOT, "  %s / %s per round: median %.2f, middle half %.2f..%.2f (min %.2f, "
                    + "max %.2f)%n", clients.get(ratio.over()).name(), clients.get(ratio.under()).name(),
                    percentile(perRound, 50), percentile(perRound, 25), percentile(perRound, 75), min(perRound),
                    max(perRound));
            System.out.println("    every round: " + text(perRound));
        }
        System.out.printf(Locale.ROOT, "  load average after: %s%n", loadAverage());
        return rates;
    }

    /** @return operations per second over one window of about {@code nanos} (at least one operation) */
    private static double window(Operation operation, long nanos) throws Exception {
        long begin = System.nanoTime();
        long end;
        long count = 0;
        do {
            operation.run();
            count++;
            end = System.nanoTime();
        } while (end - begin < nanos);
        return count / ((end - begin) / 1e9);
    }

    /** @return the p-th percentile, interpolated between neighbours */
    static double percentile(double[] values, double p) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        double at = p / 100 * (sorted.length - 1);
        int low = (int) Math.floor(at);
        int high = (int) Math.ceil(at);
        return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
    }

    static double min(double[] values) {
        return Arrays.stream(values).min().orElse(Double.NaN);
    }

    static double max(double[] values) {
        return Arrays.stream(values).max().orElse(Double.NaN);
    }

    static String number(double value) {
        return String.format(Locale.ROOT, "%.0f", value);
    }

    static String numbers(double[] values) {
        List<String> texts = new ArrayList<>();
        for (double value : values) {
            texts.add(number(value));
        }
        return String.join(" ", texts);
    }

    static String text(double[] ratios) {
        List<String> texts = new ArrayList<>();
        for (double ratio : ratios) {
            texts.add(String.format(Locale.ROOT, "%.2f", ratio));
        }
        return String.join(" ", texts);
    }

    static String loadAverage() {
        try {
            String[] fields = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return fields[0] + " " + fields[1] + " " + fields[2];
        } catch (IOException e) {
            return "unknown";
        }
    }
}
