package org.labhal.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
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
            if (lxi) {
                all.add(new Client("lxi", new LxiClient(options.getOrDefault("lxi", "lxi"), "127.0.0.1")::window));
            }
            List<Client> clients = all;
            if (options.containsKey("clients")) { // a subset, e.g. --clients vxi11,vxi11Serial,socket
                clients = Arrays.stream(options.get("clients").split(",")).map(name -> all.stream()
                        .filter(c -> c.name().equals(name)).findFirst()
                        .orElseThrow(() -> new IllegalArgumentException("no client " + name))).toList();
            }
            String only = options.get("profile");
            if (only != null) {
                Client client = clients.stream().filter(c -> c.name().equals(only)).findFirst()
                        .orElseThrow(() -> new IllegalArgumentException("no client " + only));
                InterleavedComparison.alone(client, Long.parseLong(options.getOrDefault("seconds", "20")), only);
                return;
            }
            List<String> names = clients.stream().map(Client::name).toList();
            List<Ratio> ratios = InterleavedComparison.ratios(names, new String[][] {{"vxi11", "socket"},
                    {"vxi11Serial", "socket"}, {"vxi11", "vxi11Serial"}, {"hislip", "socket"}, {"socket", "raw"},
                    {"vxi11", "lxi"}, {"vxi11Serial", "lxi"}, {"lxi", "socket"}});
            double[][] rates = InterleavedComparison.compare("*IDN? round trips over loopback, queries/s", warmup,
                    rounds, 1, clients, ratios);
            System.out.printf(Locale.ROOT, "%n## Summary: median queries/s | per-round ratio median (middle half); load "
                    + "average %s%n%s%n", InterleavedComparison.loadAverage(),
                    InterleavedComparison.summary(" ", names, rates, ratios));
        } finally {
            for (int i = resources.size() - 1; i >= 0; i--) {
                resources.get(i).close();
            }
        }
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
