package org.labhal.benchmarks;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;

import org.labhal.benchmarks.InterleavedComparison.Client;
import org.labhal.benchmarks.InterleavedComparison.Ratio;
import org.labhal.benchmarks.isolated.SocketSessionStack;
import org.labhal.transport.sim.SimServer;

/**
 * Issue 11: {@code *IDN?} round trips of one LabHAL socket session against the raw blocking
 * {@link java.net.Socket} client ({@link RawLineClient}, same JVM; {@code raw} with SO_TIMEOUT 5 s as
 * the transport benchmarks open it, {@code rawBlocking} with no timeout) and PyVISA-py (a child Python
 * process), against a SCPI server that is not ours (the C responder, {@code benchmarks/c}) and against
 * {@link SimServer}. Optionally the socket session of another build runs beside them
 * ({@code --before}, loaded by {@link IsolatedStack}), so that a change is measured before and after
 * in the same run. All clients run in interleaved windows ({@link InterleavedComparison}), and the
 * verdicts rest on the medians of per-round ratios.
 * <p>
 * Servers ({@code --servers}, comma-separated): {@code c} one poll()-based responder serving every
 * client's connection; {@code c-single} one responder per client, each serving one client at a time
 * with blocking reads and writes; {@code c-crlf} like {@code c} with CR LF endings; {@code sim} one
 * {@link SimServer} (SMW200A) per client.
 * <p>
 * {@code --profile SECONDS --client NAME --server NAME} runs one client alone instead (after a
 * warm-up), for a profiler attached to this JVM (JFR) or to the machine (perf).
 * <p>
 * Usage: see {@code benchmarks/run-socket-vs-c.sh}, which builds the responder and the old jars.
 */
public final class SocketWireComparison {
    private static final String QUERY = "*IDN?";

    private final Map<String, String> options;
    private final List<AutoCloseable> resources = new ArrayList<>();

    private SocketWireComparison(Map<String, String> options) {
        this.options = options;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected an option, got " + args[i]);
            }
            String key = args[i].substring(2);
            options.put(key, key.equals("no-pyvisa") ? "true" : args[++i]);
        }
        new SocketWireComparison(options).run();
    }

    private String option(String key, String fallback) {
        return options.getOrDefault(key, fallback);
    }

    private void run() throws Exception {
        System.out.printf(Locale.ROOT, "# Socket query rate against a C SCPI responder and SimServer: %d CPUs, %s, "
                + "load average %s%n", Runtime.getRuntime().availableProcessors(), cpuModel(),
                InterleavedComparison.loadAverage());
        if (options.containsKey("profile")) {
            profile();
            return;
        }
        int warmup = Integer.parseInt(option("warmup", "8"));
        int rounds = Integer.parseInt(option("rounds", "40"));
        List<String> summary = new ArrayList<>();
        for (String server : option("servers", "c,c-single,sim").split(",")) {
            try {
                List<Client> clients = clients(server, clientNames());
                List<String> names = clients.stream().map(Client::name).toList();
                List<Ratio> ratios = InterleavedComparison.ratios(names, new String[][] {{"labhal", "raw"},
                        {"labhal", "rawBlocking"}, {"labhal", "pyvisa"}, {"before", "raw"}, {"before", "rawBlocking"},
                        {"before", "pyvisa"}, {"labhal", "before"}, {"raw", "rawBlocking"}, {"pyvisa", "raw"}});
                double[][] rates = InterleavedComparison.compare("*IDN? round trips, server " + server
                        + ", queries/s", warmup, rounds, 1, clients, ratios);
                summary.add(InterleavedComparison.summary(String.format(Locale.ROOT, "  %-9s", server), names,
                        rates, ratios));
            } finally {
                closeAll();
            }
        }
        System.out.printf(Locale.ROOT, "%n## Summary: median queries/s | per-round ratio median (middle half); load "
                + "average %s%n", InterleavedComparison.loadAverage());
        summary.forEach(System.out::println);
    }

    /** One client alone against one server for {@code --profile} seconds, after a 5 s warm-up. */
    private void profile() throws Exception {
        String server = option("server", "c");
        String name = option("client", "labhal");
        try {
            Client client = clients(server, List.of(name)).get(0);
            InterleavedComparison.alone(client, Long.parseLong(option("profile", "20")), name + " against " + server);
        } finally {
            closeAll();
        }
    }

    /** labhal, before (with {@code --before}), raw, rawBlocking, pyvisa (unless {@code --no-pyvisa}). */
    private List<String> clientNames() {
        List<String> names = new ArrayList<>(List.of("labhal"));
        if (options.containsKey("before")) {
            names.add("before");
        }
        names.add("raw");
        names.add("rawBlocking");
        if (!options.containsKey("no-pyvisa")) {
            names.add("pyvisa");
        }
        return names;
    }

    /** Starts the server(s) of one configuration and connects the named clients to them. */
    private List<Client> clients(String server, List<String> names) throws Exception {
        boolean crlf = server.equals("c-crlf");
        String shared = null;
        if (server.equals("c") || server.equals("c-crlf")) {
            shared = keep(new ScpiResponder(responder(), crlf, false)).resource();
        } else if (!server.equals("c-single") && !server.equals("sim")) {
            throw new IllegalArgumentException("unknown server " + server + ": expected c, c-single, c-crlf or sim");
        }
        String expected = null;
        List<Client> clients = new ArrayList<>();
        for (String name : names) {
            String resource = shared;
            if (resource == null && server.equals("c-single")) {
                resource = keep(new ScpiResponder(responder(), false, true)).resource();
            } else if (resource == null) {
                SimServer sim = SimServer.builder("SMW200A").start();
                keep(sim);
                resource = sim.resource();
            }
            if (expected == null) {
                expected = rawAnswer(resource);
            }
            clients.add(client(name, resource, expected, crlf));
        }
        return clients;
    }

    private Client client(String name, String resource, String expected, boolean crlf) throws Exception {
        switch (name) {
            case "labhal" -> {
                SocketSessionStack stack = keep(new SocketSessionStack(resource));
                return new Client(name, () -> checked(stack.apply(QUERY), expected));
            }
            case "before" -> {
                UnaryOperator<String> stack = IsolatedStack.open(Path.of(options.get("before")), resource);
                keep((AutoCloseable) stack);
                return new Client(name, () -> checked(stack.apply(QUERY), expected));
            }
            case "raw" -> {
                Socket socket = keep(rawSocket(resource));
                RawLineClient raw = new RawLineClient(socket.getInputStream(), socket.getOutputStream());
                byte[] message = (QUERY + "\n").getBytes(StandardCharsets.US_ASCII);
                return new Client(name, () -> checked(stripCr(raw.query(message)), expected));
            }
            case "rawBlocking" -> {
                // The 20-line client of the issue: no timeout at all, so each read is one blocking read()
                // (with SO_TIMEOUT the JDK reads without blocking and waits in poll() when nothing is there)
                Socket socket = keep(rawSocket(resource));
                socket.setSoTimeout(0);
                RawLineClient raw = new RawLineClient(socket.getInputStream(), socket.getOutputStream());
                byte[] message = (QUERY + "\n").getBytes(StandardCharsets.US_ASCII);
                return new Client(name, () -> checked(stripCr(raw.query(message)), expected));
            }
            case "pyvisa" -> {
                PyvisaClient pyvisa = keep(new PyvisaClient(option("python", "/usr/bin/python3"),
                        Path.of(option("pyvisa-script", "benchmarks/python/pyvisa_window.py")), resource, QUERY,
                        expected, crlf));
                return new Client(name, pyvisa::window);
            }
            default -> throw new IllegalArgumentException("unknown client " + name);
        }
    }

    /** A plain socket as {@code SocketQueryBenchmark.Raw} opens it: TCP_NODELAY, SO_TIMEOUT 5 s. */
    private static Socket rawSocket(String resource) throws IOException {
        String[] parts = resource.split("::");
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(parts[1], Integer.parseInt(parts[2])), 5000);
            socket.setSoTimeout(5000);
        } catch (IOException e) {
            socket.close();
            throw e;
        }
        return socket;
    }

    /** The answer to {@code *IDN?}, asked once on a connection of its own. */
    private static String rawAnswer(String resource) throws IOException {
        try (Socket socket = rawSocket(resource)) {
            RawLineClient raw = new RawLineClient(socket.getInputStream(), socket.getOutputStream());
            return stripCr(raw.query((QUERY + "\n").getBytes(StandardCharsets.US_ASCII)));
        }
    }

    private static String stripCr(String line) {
        return line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
    }

    private static void checked(String answer, String expected) {
        if (!expected.equals(answer)) {
            throw new IllegalStateException("expected the answer \"" + expected + "\", got \"" + answer + "\"");
        }
    }

    private Path responder() {
        Path binary = Path.of(option("responder", "benchmarks/target/scpi_responder"));
        if (!Files.isExecutable(binary)) {
            throw new IllegalArgumentException(binary + " is not built: run benchmarks/run-socket-vs-c.sh");
        }
        return binary;
    }

    private <T extends AutoCloseable> T keep(T resource) {
        resources.add(resource);
        return resource;
    }

    /** Clients first (they close their connections), then the servers, in reverse order of opening. */
    private void closeAll() throws Exception {
        Exception failure = null;
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = e;
                }
            }
        }
        resources.clear();
        if (failure != null) {
            throw failure;
        }
    }

    private static String cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown CPU");
        } catch (IOException e) {
            return "unknown CPU";
        }
    }
}
