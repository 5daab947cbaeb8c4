package org.labhal.benchmarks;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;

import org.labhal.api.Session;
import org.labhal.benchmarks.InterleavedComparison.Client;
import org.labhal.benchmarks.InterleavedComparison.Ratio;
import org.labhal.benchmarks.isolated.HislipSessionStack;
import org.labhal.transport.hislip.internal.HislipTransportFactory;
import org.labhal.transport.hislip.server.HislipServer;
import org.labhal.transport.sim.SimServer;
import org.labhal.transport.socket.internal.SocketTransportFactory;

/**
 * Issue 11's HiSLIP aim: {@code *IDN?} round trips of a LabHAL HiSLIP session against a LabHAL socket
 * session, each against a server that is not ours: {@code benchmarks/c/hislip_responder.c} and
 * {@code benchmarks/c/scpi_responder.c}, both C, both one poll() thread serving every client, both
 * answering the same identity. Beside them the least clients of each protocol ({@link RawHislipClient},
 * {@link RawLineClient}, both {@link Socket}s with SO_TIMEOUT 5 s), which tell the servers' and the
 * framing's share from LabHAL's, and optionally the HiSLIP session of another build ({@code --before},
 * loaded by {@link IsolatedStack}). All clients run in interleaved windows ({@link InterleavedComparison});
 * the verdicts rest on the medians of per-round ratios.
 * <p>
 * Servers ({@code --servers}, comma-separated): {@code c} the two C responders; {@code java}
 * {@link HislipServer} and {@link SimServer} (SMW200A), the pair of the LAN transport benchmarks.
 * <p>
 * {@code --profile SECONDS --client NAME --server NAME} runs one client alone instead (after a
 * warm-up), for a profiler attached to this JVM (JFR) or to the machine (perf).
 * <p>
 * Usage: see {@code benchmarks/run-hislip-vs-c.sh}, which builds the responders and the old jars.
 */
public final class HislipWireComparison {
    private static final String QUERY = "*IDN?";
    private static final Duration IO = Duration.ofSeconds(5);

    private final Map<String, String> options;
    private final List<AutoCloseable> resources = new ArrayList<>();

    private HislipWireComparison(Map<String, String> options) {
        this.options = options;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected an option, got " + args[i]);
            }
            options.put(args[i].substring(2), args[++i]);
        }
        new HislipWireComparison(options).run();
    }

    private String option(String key, String fallback) {
        return options.getOrDefault(key, fallback);
    }

    private void run() throws Exception {
        System.out.printf(Locale.ROOT, "# HiSLIP and socket query rates against C responders: %d CPUs, load average %s%n",
                Runtime.getRuntime().availableProcessors(), InterleavedComparison.loadAverage());
        if (options.containsKey("profile")) {
            profile();
            return;
        }
        int warmup = Integer.parseInt(option("warmup", "8"));
        int rounds = Integer.parseInt(option("rounds", "40"));
        List<String> summary = new ArrayList<>();
        for (String server : option("servers", "c").split(",")) {
            try {
                List<Client> clients = clients(server, clientNames());
                List<String> names = clients.stream().map(Client::name).toList();
                List<Ratio> ratios = InterleavedComparison.ratios(names, new String[][] {{"hislip", "socket"},
                        {"rawHislip", "raw"}, {"hislip", "rawHislip"}, {"socket", "raw"}, {"before", "socket"},
                        {"hislip", "before"}});
                double[][] rates = InterleavedComparison.compare("*IDN? round trips, servers " + server
                        + ", queries/s", warmup, rounds, 1, clients, ratios);
                summary.add(InterleavedComparison.summary(String.format(Locale.ROOT, "  %-5s", server), names,
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
        String name = option("client", "hislip");
        try {
            Client client = clients(server, List.of(name)).get(0);
            InterleavedComparison.alone(client, Long.parseLong(option("profile", "20")), name + " against " + server);
        } finally {
            closeAll();
        }
    }

    /** hislip, before (with {@code --before}), socket, rawHislip, raw; {@code --clients} picks others. */
    private List<String> clientNames() {
        if (options.containsKey("clients")) {
            return List.of(options.get("clients").split(","));
        }
        List<String> names = new ArrayList<>(List.of("hislip"));
        if (options.containsKey("before")) {
            names.add("before");
        }
        names.addAll(List.of("socket", "rawHislip", "raw"));
        return names;
    }

    /** The two servers of one configuration and the named clients, connected to them. */
    private List<Client> clients(String server, List<String> names) throws Exception {
        int hislipPort;
        String socketResource;
        switch (server) {
            case "c" -> {
                hislipPort = keep(new ScpiResponder(List.of(binary("hislip_responder").toString(), "--port", "0",
                        "--idn", ScpiResponder.IDN))).port();
                socketResource = keep(new ScpiResponder(binary("scpi_responder"), false, false)).resource();
            }
            case "java" -> {
                HislipServer hislip = keep(HislipServer.builder("SMW200A").start());
                hislipPort = hislip.port();
                socketResource = keep(SimServer.builder("SMW200A").start()).resource();
            }
            default -> throw new IllegalArgumentException("unknown servers " + server + ": expected c or java");
        }
        String hislipResource = "TCPIP::127.0.0.1::hislip0," + hislipPort + "::INSTR";
        String expected = rawAnswer(socketResource);
        List<Client> clients = new ArrayList<>();
        for (String name : names) {
            clients.add(client(name, hislipResource, hislipPort, socketResource, expected));
        }
        return clients;
    }

    private Client client(String name, String hislipResource, int hislipPort, String socketResource, String expected)
            throws Exception {
        byte[] line = (QUERY + "\n").getBytes(StandardCharsets.US_ASCII);
        switch (name) {
            case "hislip" -> {
                HislipTransportFactory transport = new HislipTransportFactory();
                StandaloneSessions sessions = keep(new StandaloneSessions(transport, transport::deactivate));
                Session session = sessions.open(hislipResource, IO);
                return new Client(name, () -> checked(session.query(QUERY), expected));
            }
            case "socket" -> {
                SocketTransportFactory transport = new SocketTransportFactory();
                StandaloneSessions sessions = keep(new StandaloneSessions(transport, transport::deactivate));
                Session session = sessions.open(socketResource, IO);
                return new Client(name, () -> checked(session.query(QUERY), expected));
            }
            case "before" -> {
                UnaryOperator<String> stack = IsolatedStack.open(Path.of(options.get("before")),
                        HislipSessionStack.class, hislipResource);
                keep((AutoCloseable) stack);
                return new Client(name, () -> checked(stack.apply(QUERY), expected));
            }
            case "rawHislip" -> {
                RawHislipClient raw = keep(new RawHislipClient("127.0.0.1", hislipPort));
                return new Client(name, () -> checked(raw.query(line), expected));
            }
            case "raw" -> {
                String[] parts = socketResource.split("::");
                Socket socket = keep(new Socket(parts[1], Integer.parseInt(parts[2])));
                socket.setTcpNoDelay(true);
                socket.setSoTimeout(5000);
                RawLineClient raw = new RawLineClient(socket.getInputStream(), socket.getOutputStream());
                return new Client(name, () -> checked(raw.query(line), expected));
            }
            default -> throw new IllegalArgumentException("unknown client " + name
                    + ": expected hislip, socket, before, rawHislip or raw");
        }
    }

    private static String rawAnswer(String socketResource) throws IOException {
        String[] parts = socketResource.split("::");
        try (Socket socket = new Socket(parts[1], Integer.parseInt(parts[2]))) {
            socket.setSoTimeout(5000);
            return new RawLineClient(socket.getInputStream(), socket.getOutputStream())
                    .query((QUERY + "\n").getBytes(StandardCharsets.US_ASCII));
        }
    }

    private static void checked(String answer, String expected) {
        if (!expected.equals(answer)) {
            throw new IllegalStateException("expected the answer \"" + expected + "\", got \"" + answer + "\"");
        }
    }

    private Path binary(String name) {
        Path binary = Path.of(option(name, "benchmarks/target/" + name));
        if (!Files.isExecutable(binary)) {
            throw new IllegalArgumentException(binary + " is not built: run benchmarks/run-hislip-vs-c.sh");
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
}
