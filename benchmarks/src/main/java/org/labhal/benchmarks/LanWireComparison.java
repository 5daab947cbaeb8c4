package org.labhal.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.labhal.api.LabHalException;
import org.labhal.api.Session;
import org.labhal.benchmarks.InterleavedComparison.Client;
import org.labhal.benchmarks.InterleavedComparison.Ratio;
import org.labhal.transport.hislip.internal.HislipTransportFactory;
import org.labhal.transport.hislip.server.HislipServer;
import org.labhal.transport.sim.SimServer;
import org.labhal.transport.socket.internal.SocketTransportFactory;
import org.labhal.transport.vxi11.internal.Vxi11TransportFactory;
import org.labhal.transport.vxi11.sim.Vxi11SimServer;

/**
 * Issue 11: {@code *IDN?} round trips over VXI-11 and HiSLIP against the socket transport, and
 * LabHAL's VXI-11 against lxi-tools' {@code lxi benchmark} (C) on the same VXI-11 server, in
 * interleaved windows ({@link InterleavedComparison}); the verdicts rest on the medians of per-round
 * ratios.
 * <p>
 * Clients: {@code vxi11} (LabHAL, a query's device_read sent with its device_write),
 * {@code vxi11Serial} (LabHAL with {@code read_ahead=off}: device_write, its reply, then
 * device_read, as before issue 11 and as lxi does), {@code lxi} (a child process per window),
 * {@code hislip}, {@code socket} and {@code raw} (the blocking raw socket client, no timeout). The
 * three VXI-11 clients share one {@link Vxi11SimServer} with its portmapper on port 111 (lxi's only
 * port: needs root and no rpcbind); socket and raw each have a {@link SimServer}, HiSLIP a
 * {@link HislipServer}; all serve the SMW200A model, which keeps sessions apart.
 * <p>
 * Usage: {@code benchmarks/run-lan-vs-lxi.sh [--rounds N] [--warmup N] [--no-lxi]}, or
 * {@code --profile CLIENT [--seconds N]} to run one client alone under a profiler; {@code --clients
 * a,b,c} compares a subset.
 */
public final class LanWireComparison {
    private static final String QUERY = "*IDN?";
    private static final Duration IO = Duration.ofSeconds(5);

    private LanWireComparison() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String key = args[i].substring(2);
            options.put(key, key.equals("no-lxi") ? "true" : args[++i]);
        }
        int warmup = Integer.parseInt(options.getOrDefault("warmup", "8"));
        int rounds = Integer.parseInt(options.getOrDefault("rounds", "40"));
        boolean lxi = !options.containsKey("no-lxi");
        System.out.printf(Locale.ROOT, "# VXI-11 and HiSLIP against the socket transport and lxi benchmark: %d CPUs, "
                + "load average %s%n", Runtime.getRuntime().availableProcessors(), InterleavedComparison.loadAverage());

        List<AutoCloseable> resources = new ArrayList<>();
        try {
            Vxi11SimServer vxi11Server = Vxi11SimServer.builder("SMW200A").portmapperPort(lxi ? 111 : 0).start();
            resources.add(vxi11Server);
            SimServer socketServer = SimServer.builder("SMW200A").start();
            resources.add(socketServer);
            SimServer rawServer = SimServer.builder("SMW200A").start();
            resources.add(rawServer);
            HislipServer hislipServer = HislipServer.builder("SMW200A").start();
            resources.add(hislipServer);

            Vxi11TransportFactory vxi11Transport = new Vxi11TransportFactory();
            StandaloneSessions vxi11Sessions = new StandaloneSessions(vxi11Transport, vxi11Transport::deactivate);
            resources.add(vxi11Sessions);
            SocketTransportFactory socketTransport = new SocketTransportFactory();
            StandaloneSessions socketSessions = new StandaloneSessions(socketTransport, socketTransport::deactivate);
            resources.add(socketSessions);
            HislipTransportFactory hislipTransport = new HislipTransportFactory();
            StandaloneSessions hislipSessions = new StandaloneSessions(hislipTransport, hislipTransport::deactivate);
            resources.add(hislipSessions);

            Session vxi11 = vxi11Sessions.open(vxi11Server.resource(), IO);
            String expected = vxi11.query(QUERY);
            Session vxi11Serial = vxi11Sessions.open(vxi11Server.resource() + "&read_ahead=off", IO);
            Session socket = socketSessions.open(socketServer.resource(), IO);
            Session hislip = hislipSessions.open(hislipServer.resource(), IO);
            java.net.Socket rawSocket = new java.net.Socket();
            resources.add(rawSocket);
            String[] parts = rawServer.resource().split("::");
            rawSocket.setTcpNoDelay(true);
            rawSocket.connect(new java.net.InetSocketAddress(parts[1], Integer.parseInt(parts[2])), 5000);
            RawLineClient raw = new RawLineClient(rawSocket.getInputStream(), rawSocket.getOutputStream());
            byte[] rawQuery = (QUERY + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII);

            List<Client> all = new ArrayList<>(List.of(
                    new Client("vxi11", () -> checked(vxi11, expected)),
                    new Client("vxi11Serial", () -> checked(vxi11Serial, expected)),
                    new Client("hislip", () -> checked(hislip, expected)),
                    new Client("socket", () -> checked(socket, expected)),
                    new Client("raw", () -> same(raw.query(rawQuery), expected))));
            List<Ratio> allRatios = new ArrayList<>(List.of(new Ratio(0, 3), new Ratio(1, 3), new Ratio(0, 1),
                    new Ratio(2, 3), new Ratio(3, 4)));
            if (lxi) {
                LxiClient client = new LxiClient(options.getOrDefault("lxi", "lxi"), "127.0.0.1");
                all.add(new Client("lxi", client::window));
                allRatios.add(new Ratio(0, 5));
                allRatios.add(new Ratio(1, 5));
                allRatios.add(new Ratio(5, 3));
            }
            List<Client> clients = all;
            List<Ratio> ratios = allRatios;
            if (options.containsKey("clients")) { // a subset, e.g. --clients vxi11,vxi11Serial,socket
                List<String> kept = List.of(options.get("clients").split(","));
                List<String> names = clients.stream().map(Client::name).toList();
                List<Ratio> subset = new ArrayList<>();
                for (Ratio ratio : ratios) {
                    if (kept.contains(names.get(ratio.over())) && kept.contains(names.get(ratio.under()))) {
                        subset.add(new Ratio(kept.indexOf(names.get(ratio.over())),
                                kept.indexOf(names.get(ratio.under()))));
                    }
                }
                clients = kept.stream().map(name -> all.stream().filter(c -> c.name().equals(name)).findFirst()
                        .orElseThrow(() -> new IllegalArgumentException("no client " + name))).toList();
                ratios = subset;
            }
            String only = options.get("profile");
            if (only != null) {
                profile(clients.stream().filter(c -> c.name().equals(only)).findFirst()
                        .orElseThrow(() -> new IllegalArgumentException("no client " + only)),
                        Integer.parseInt(options.getOrDefault("seconds", "20")));
                return;
            }
            double[][] rates = InterleavedComparison.compare("*IDN? round trips over loopback, queries/s", warmup,
                    rounds, 1, clients, ratios);
            StringBuilder line = new StringBuilder("  medians:");
            for (int c = 0; c < clients.size(); c++) {
                line.append(String.format(Locale.ROOT, " %s %s", clients.get(c).name(),
                        InterleavedComparison.number(InterleavedComparison.percentile(rates[c], 50))));
            }
            for (Ratio ratio : ratios) {
                double[] perRound = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    perRound[r] = rates[ratio.over()][r] / rates[ratio.under()][r];
                }
                line.append(String.format(Locale.ROOT, "%n  %s/%s %.2f (%.2f-%.2f)", clients.get(ratio.over()).name(),
                        clients.get(ratio.under()).name(), InterleavedComparison.percentile(perRound, 50),
                        InterleavedComparison.percentile(perRound, 25), InterleavedComparison.percentile(perRound, 75)));
            }
            System.out.printf(Locale.ROOT, "%n## Summary: median queries/s, per-round ratio median (middle half); load "
                    + "average %s%n%s%n", InterleavedComparison.loadAverage(), line);
        } finally {
            for (int i = resources.size() - 1; i >= 0; i--) {
                resources.get(i).close();
            }
        }
    }

    /**
     * {@code --profile NAME [--seconds N]}: one client alone, after a 5 s warm-up, for a profiler
     * attached to this JVM (e.g. {@code -XX:StartFlightRecording}; {@link JfrTop} reads it).
     */
    private static void profile(Client client, int seconds) throws Exception {
        long warm = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < warm) {
            client.window().run(InterleavedComparison.WINDOW_NANOS);
        }
        System.out.println("profiling now");
        double[] rates = new double[seconds * 4];
        for (int i = 0; i < rates.length; i++) {
            rates[i] = client.window().run(InterleavedComparison.WINDOW_NANOS);
        }
        System.out.printf(Locale.ROOT, "  %s alone: median %s queries/s over %d windows, load average %s%n",
                client.name(), InterleavedComparison.number(InterleavedComparison.percentile(rates, 50)), rates.length,
                InterleavedComparison.loadAverage());
    }

    private static void checked(Session session, String expected) throws LabHalException {
        same(session.query(QUERY), expected);
    }

    private static void same(String answer, String expected) {
        if (!expected.equals(answer)) {
            throw new IllegalStateException("expected the answer \"" + expected + "\", got \"" + answer + "\"");
        }
    }
}
