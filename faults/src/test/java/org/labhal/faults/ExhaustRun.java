package org.labhal.faults;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.api.lock.LockPolicy;
import org.labhal.faults.ConnectionStorm.Link;
import org.labhal.faults.ConnectionStorm.Role;
import org.labhal.faults.ConnectionStorm.State;
import org.labhal.faults.ConnectionStorm.Target;
import org.labhal.faults.RuntimeProcess.Served;
import org.labhal.faults.RuntimeProcess.Usage;
import org.labhal.transport.hislip.internal.HislipTransportFactory;
import org.labhal.transport.socket.internal.SocketTransportFactory;
import org.labhal.transport.vxi11.internal.Vxi11TransportFactory;

/**
 * The exhaustion run against the executable jar (not part of {@code ./lab test}; {@code faults/exhaust.sh}):
 * starts {@code labhal.jar} serving its simulated instruments (raw SCPI, HiSLIP, VXI-11 with its portmapper)
 * on loopback, opens N connections (default 4,000) to all of their ports with a connection storm of one
 * thread (idle ones, endless messages, floods that never read), keeps them open for a while and meanwhile
 * checks that the runtime still serves: a client connected before the storm (one per served instrument)
 * gets {@code *IDN?} answered, a fresh client is answered or turned away with the protocol's words, a fresh
 * client is answered once a slot is freed, the Gogo shell answers {@code instr:list}. Then it closes
 * everything and checks that the runtime's threads and descriptors come back. It prints a report (also
 * written to {@code faults/target/exhaust-report.txt}) and exits 1 when the runtime stopped serving or
 * leaked.
 */
public final class ExhaustRun {
    private static final Pattern SOCKET_PORT = Pattern.compile("::(\\d+)::SOCKET");
    private static final Pattern HISLIP_PORT = Pattern.compile("hislip0,(\\d+)::");
    private static final Pattern PORTMAPPER_PORT = Pattern.compile("portmapper=(\\d+)");
    private static final int PORTMAPPER_PROGRAM = 100000;
    private static final int CORE_PROGRAM = 0x0607AF;
    private static final int ABORT_PROGRAM = 0x0607B0;
    private static final SessionOptions OPTIONS = SessionOptions.defaults()
            .withLockPolicy(LockPolicy.INDEPENDENT_SESSIONS).withIoTimeout(Duration.ofSeconds(5))
            .withOpenTimeout(Duration.ofSeconds(5)).withLockTimeout(Duration.ofSeconds(5)).withErrorChecking(false);

    private record Outcome(boolean ok, long millis, String text) {
        @Override
        public String toString() {
            return (ok ? "ok " : "FAILED ") + millis + " ms: " + text;
        }
    }

    private final Path jar;
    private final int connections;
    private final Duration hold;
    private final boolean jarPorts;
    private final List<Role> roles;
    private final int endlessRate;
    private final int floodBuffer;
    private final StringBuilder report = new StringBuilder();
    private final List<String> broken = new ArrayList<>();
    private final DefaultSessionFactory sessions = new DefaultSessionFactory(new DefaultLockService());

    private ExhaustRun(Path jar, int connections, Duration hold, boolean jarPorts, List<Role> roles, int endlessRate,
            int floodBuffer) {
        this.jar = jar;
        this.connections = connections;
        this.hold = hold;
        this.jarPorts = jarPorts;
        this.roles = roles;
        this.endlessRate = endlessRate;
        this.floodBuffer = floodBuffer;
        sessions.addTransport(new SocketTransportFactory());
        sessions.addTransport(new HislipTransportFactory());
        sessions.addTransport(new Vxi11TransportFactory());
    }

    /**
     * @param args {@code [--connections 4000] [--hold 30s] [--jar runtime/target/labhal.jar] [--jar-ports]
     *        [--roles IDLE,IDLE,IDLE,ENDLESS,FLOOD] [--endless-rate 163840] [--flood-buffer 4096]}
     */
    public static void main(String[] args) throws Exception {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--jar-ports")) {
                options.put("--jar-ports", "true");
            } else if (i + 1 < args.length && args[i].startsWith("--")) {
                options.put(args[i], args[++i]);
            } else {
                System.err.println("usage: ExhaustRun [--connections 4000] [--hold 30] [--jar runtime/target/labhal.jar]"
                        + " [--jar-ports] [--roles IDLE,IDLE,IDLE,ENDLESS,FLOOD] [--endless-rate 163840]"
                        + " [--flood-buffer 4096]");
                System.exit(2);
            }
        }
        ExhaustRun run = new ExhaustRun(Path.of(options.getOrDefault("--jar", "runtime/target/labhal.jar")),
                Integer.parseInt(options.getOrDefault("--connections", "4000")),
                Duration.ofSeconds(Long.parseLong(options.getOrDefault("--hold", "30"))),
                options.containsKey("--jar-ports"),
                java.util.Arrays.stream(options.getOrDefault("--roles", "IDLE,IDLE,IDLE,ENDLESS,FLOOD").split(","))
                        .map(String::strip).map(Role::valueOf).toList(),
                Integer.parseInt(options.getOrDefault("--endless-rate", "163840")),
                Integer.parseInt(options.getOrDefault("--flood-buffer", "4096")));
        System.exit(run.run() ? 0 : 1);
    }

    private boolean run() throws Exception {
        say("LabHAL exhaustion run, %s", LocalDateTime.now().withNano(0));
        say("machine: %d cores, %s, load average %s; this process may hold %s descriptors",
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name") + " "
                        + System.getProperty("os.version"), load(), limit("Max open files"));
        List<String> jvm = jarPorts ? List.of()
                : List.of("-Dlabhal.simulators.socket=SHARED@0 SMW200A@0", "-Dlabhal.simulators.hislip=SHARED@0 SMW200A@0",
                        "-Dlabhal.simulators.vxi11=SHARED@0");
        try (RuntimeProcess runtime = RuntimeProcess.start(jar, jvm, Duration.ofSeconds(60))) {
            List<Served> served = runtime.awaitServed(5, Duration.ofSeconds(30));
            say("runtime: pid %d, %s; serving %d simulated instruments (%s):", runtime.pid(), jar,
                    served.size(), jarPorts ? "the jar's own ports" : "free ports, -Dlabhal.simulators.*=MODEL@0");
            served.forEach(s -> say("  %-8s over %-8s %s", s.model(), s.protocol(), s.resource()));
            say("runtime may hold %s descriptors", limit(runtime.pid(), "Max open files"));
            List<Target> targets = targets(runtime, served);
            say("storm targets: %s", targets);

            Usage before = runtime.usage(true, true);
            Map<String, Integer> threadsBefore = runtime.threadNames();
            say("");
            say("before:  %s", before);
            for (Served s : served) {
                check("fresh client before the storm, " + s.resource(), fresh(s));
            }
            check("shell before the storm: instr:list", shell(runtime));

            List<Session> residents = new ArrayList<>();
            for (Served s : served) {
                residents.add(sessions.open(ResourceAddress.parse(s.resource()), OPTIONS));
            }
            Usage withResidents = runtime.usage(false, false);

            say("");
            say("storm: %,d connections over %d ports, roles in turn %s, endless ones at %,d bytes/s each, floods with"
                    + " a receive buffer of %s", connections, targets.size(), roles, endlessRate,
                    floodBuffer == 0 ? "the system's default" : floodBuffer + " bytes");
            long stormStart = System.nanoTime();
            try (ConnectionStorm storm = new ConnectionStorm(targets, connections, roles, endlessRate, floodBuffer)) {
                boolean allTried = storm.awaitConnected(Duration.ofSeconds(120));
                say("all %,d connects done after %d ms%s", connections, millisSince(stormStart),
                        allTried ? "" : " (NOT all: some still connecting after 120 s)");
                Usage peak = runtime.usage(true, false);
                Map<Integer, Map<String, Integer>> peakSockets = runtime.sockets();
                long holdStart = System.nanoTime();
                long holdEnd = holdStart + hold.toNanos();
                double cpuStart = runtime.cpuSeconds();
                int round = 0;
                long nextStatus = 0;
                List<Long> residentMillis = new ArrayList<>();
                List<Long> shellMillis = new ArrayList<>();
                Map<String, List<Outcome>> freshDuring = new LinkedHashMap<>();
                int peakRunnable = 0;
                while (System.nanoTime() < holdEnd || round < 2) {
                    long roundStart = System.nanoTime();
                    round++;
                    for (int i = 0; i < served.size(); i++) {
                        Outcome o = query(residents.get(i), served.get(i));
                        residentMillis.add(o.millis);
                        quietCheck("round " + round + ": resident client of " + served.get(i).resource(), o);
                    }
                    Outcome sh = shell(runtime);
                    shellMillis.add(sh.millis);
                    quietCheck("round " + round + ": shell instr:list", sh);
                    for (Served s : served) {
                        freshDuring.computeIfAbsent(s.resource(), r -> new ArrayList<>()).add(fresh(s));
                    }
                    Usage now = runtime.usage(false, false);
                    peak = max(peak, now);
                    int runnable = runtime.runnableThreads();
                    peakRunnable = Math.max(peakRunnable, runnable);
                    Map<Integer, Map<String, Integer>> sockets = runtime.sockets();
                    if (established(sockets) > established(peakSockets)) {
                        peakSockets = sockets;
                    }
                    if (System.nanoTime() >= nextStatus) {
                        say("at %3d s of the hold: %d threads (%d runnable), %d fds, RSS %d MiB; the runtime holds %d"
                                + " established connections; load average %s", millisSince(holdStart) / 1000,
                                now.threads(), runnable, now.fds(), now.rssKiB() / 1024, established(sockets), load());
                        nextStatus = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                    }
                    long pause = Duration.ofSeconds(1).toMillis() - millisSince(roundStart);
                    if (pause > 0) {
                        Thread.sleep(pause); // about one round a second: probing, not adding to the storm
                    }
                }
                double cpu = runtime.cpuSeconds() - cpuStart;
                double holdSeconds = millisSince(holdStart) / 1000.0;
                Usage retained = runtime.usage(true, true);
                say("");
                say("under the storm (%d rounds of probes over a hold of %.0f s):", round, holdSeconds);
                say("  peak:    %s; at most %d threads runnable at once (with the %d clients, before the storm: %d"
                        + " threads, %d fds)", peak, peakRunnable, served.size(), withResidents.threads(),
                        withResidents.fds());
                say("  heap retained under the storm (after a full GC at the end of the hold): %d MiB",
                        retained.heapUsedKiB() / 1024);
                say("  runtime CPU over the hold: %.1f s in %.0f s (%.2f cores)", cpu, holdSeconds, cpu / holdSeconds);
                say("  the runtime's connections per served port at the peak: %s", describe(peakSockets, targets));
                say("  resident clients' *IDN?: %s", stats(residentMillis));
                say("  shell instr:list: %s", stats(shellMillis));
                report(storm, targets);
                freshDuring.forEach((resource, outcomes) -> say("  fresh client of %s: %s", resource,
                        summarise(outcomes)));

                say("");
                say("a slot freed: idle storm connections closed on the instrument's port(s) (two for a HiSLIP session),"
                + " then fresh clients until one is served:");
                for (Served s : served) {
                    List<Target> ports = portsOf(s, targets);
                    List<String> freed = new ArrayList<>();
                    for (Target t : ports) {
                        // a HiSLIP session takes two connections (synchronous and asynchronous channel)
                        int slots = t.speech() == ConnectionStorm.Speech.HISLIP ? 2 : 1;
                        int closed = 0;
                        for (int i = 0; i < slots; i++) {
                            closed += storm.closeOne(t, Role.IDLE) == null ? 0 : 1;
                        }
                        freed.add(t.name() + ": " + closed + " closed");
                    }
                    check("fresh client after a slot was freed, " + s.resource() + " (" + String.join(", ", freed) + ")",
                            freshUntilServed(s, Duration.ofSeconds(10)));
                }
            }
            long closedAt = System.nanoTime();
            for (Session resident : residents) {
                resident.close();
            }
            say("");
            say("storm closed; waiting for the runtime to let go");
            Usage after = settle(runtime, before, served, targets);
            say("after:   %s, %d ms after the close; the runtime's connections on served ports: %d", after,
                    millisSince(closedAt), established(runtime.sockets(), targets));
            if (after.threads() > before.threads() + 5) {
                broken.add("threads did not come back: " + before.threads() + " before, " + after.threads() + " after");
            }
            Map<String, Integer> threadsAfter = runtime.threadNamesSince(threadsBefore);
            say("threads after minus before, by name: %s", threadsAfter.isEmpty() ? "none" : threadsAfter);
            if (after.fds() > before.fds() + 5) {
                broken.add("descriptors did not come back: " + before.fds() + " before, " + after.fds() + " after");
            }
            for (Served s : served) {
                check("fresh client after the storm, " + s.resource(), fresh(s));
            }
            check("shell after the storm: instr:list", shell(runtime));
            if (!runtime.alive()) {
                broken.add("the runtime is not running any more");
            }
            List<String> warnings = runtime.log().stream().filter(l -> l.contains(" WARN ") || l.contains(" ERROR "))
                    .toList();
            say("runtime log: %d warning/error lines%s", warnings.size(), warnings.isEmpty() ? ""
                    : ", first ones:\n    " + String.join("\n    ", warnings.subList(0, Math.min(10, warnings.size()))));
            int exit = runtime.stop();
            say("runtime stopped with exit code %d (117: stopped at the end of its shell's input)", exit);
        } finally {
            sessions.deactivate();
        }
        say("");
        say(broken.isEmpty() ? "RESULT: the runtime kept serving and let go of everything"
                : "RESULT: BROKEN\n  " + String.join("\n  ", broken));
        Path out = Path.of("faults", "target", "exhaust-report.txt");
        if (Files.isDirectory(out.getParent())) {
            Files.writeString(out, report);
            System.out.println("(report written to " + out + ")");
        }
        return broken.isEmpty();
    }

    /** The ports to storm: every served one, and VXI-11's core and abort channels found through the runtime. */
    private List<Target> targets(RuntimeProcess runtime, List<Served> served) throws IOException {
        List<Target> targets = new ArrayList<>();
        Set<Integer> known = new HashSet<>();
        for (Served s : served) {
            String name = s.model().toLowerCase() + "-";
            Matcher m;
            // The shared-buffer meter shares its input and output buffers between its clients, as the real
            // one does: an endless line or a flood there garbles every client's answers by design (see
            // instr:sessiontest), which says nothing about the server. Its raw and HiSLIP ports get idle
            // connections only; VXI-11's endless records and floods of NULL calls never reach the instrument.
            boolean shared = s.model().equals("SHARED");
            if ((m = SOCKET_PORT.matcher(s.resource())).find()) {
                targets.add(Target.raw(name + "raw", port(m, known), shared));
            } else if ((m = HISLIP_PORT.matcher(s.resource())).find()) {
                targets.add(Target.hislip(name + "hislip", port(m, known), shared));
            } else if ((m = PORTMAPPER_PORT.matcher(s.resource())).find()) {
                int portmapper = port(m, known);
                int core = getPort(portmapper);
                known.add(core);
                targets.add(Target.rpc(name + "vxi11-portmapper", portmapper, PORTMAPPER_PROGRAM, 2));
                targets.add(Target.rpc(name + "vxi11-core", core, CORE_PROGRAM, 1));
                List<Integer> others = runtime.sockets().entrySet().stream()
                        .filter(e -> e.getValue().containsKey("LISTEN") && !known.contains(e.getKey()))
                        .map(Map.Entry::getKey).toList();
                if (others.size() == 1) { // the abort channel, whose port only create_link tells
                    known.add(others.get(0));
                    targets.add(Target.rpc(name + "vxi11-abort", others.get(0), ABORT_PROGRAM, 1));
                } else {
                    say("(the VXI-11 abort channel is left out: the runtime listens on %s besides the known ports)",
                            others);
                }
            }
        }
        return targets;
    }

    private static int port(Matcher m, Set<Integer> known) {
        int port = Integer.parseInt(m.group(1));
        known.add(port);
        return port;
    }

    /** Asks the portmapper for the VXI-11 core channel's port (GETPORT, ONC-RPC over TCP). */
    private static int getPort(int portmapper) throws IOException {
        try (SocketChannel channel = SocketChannel.open(new InetSocketAddress("127.0.0.1", portmapper))) {
            ByteBuffer call = ByteBuffer.allocate(60).putInt(0x80000000 | 56).putInt(1).putInt(0).putInt(2)
                    .putInt(PORTMAPPER_PROGRAM).putInt(2).putInt(3).putInt(0).putInt(0).putInt(0).putInt(0)
                    .putInt(CORE_PROGRAM).putInt(1).putInt(6).putInt(0).flip();
            while (call.hasRemaining()) {
                channel.write(call);
            }
            ByteBuffer reply = ByteBuffer.allocate(32);
            while (reply.hasRemaining() && channel.read(reply) >= 0) {
                // a reply of 28 bytes after the record mark
            }
            return reply.getInt(28);
        }
    }

    private static List<Target> portsOf(Served s, List<Target> targets) {
        String prefix = s.model().toLowerCase() + "-" + switch (s.protocol()) {
            case "raw TCP" -> "raw";
            case "HiSLIP" -> "hislip";
            default -> "vxi11-";
        };
        return targets.stream().filter(t -> t.name().startsWith(prefix) && !t.name().endsWith("abort")).toList();
    }

    /** Opens a new session, asks {@code *IDN?}, closes it. */
    private Outcome fresh(Served s) {
        long start = System.nanoTime();
        try (Session session = sessions.open(ResourceAddress.parse(s.resource()), OPTIONS)) {
            return answer(session.query("*IDN?"), s, start);
        } catch (LabHalException | RuntimeException e) {
            return new Outcome(false, millisSince(start), e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    /**
     * Fresh clients one after another until one is answered: a slot freed by a client's close is free once
     * the server's thread has seen the end of that connection, which takes a moment on a loaded machine.
     */
    private Outcome freshUntilServed(Served s, Duration within) {
        long start = System.nanoTime();
        long deadline = start + within.toNanos();
        int attempts = 0;
        Outcome last;
        do {
            attempts++;
            last = fresh(s);
        } while (!last.ok && System.nanoTime() < deadline);
        return new Outcome(last.ok, millisSince(start), (last.ok ? "" : "still refused: ") + last.text + " (attempt "
                + attempts + ", that one took " + last.millis + " ms)");
    }

    private Outcome query(Session session, Served s) {
        long start = System.nanoTime();
        try {
            return answer(session.query("*IDN?"), s, start);
        } catch (LabHalException | RuntimeException e) {
            return new Outcome(false, millisSince(start), e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    private static Outcome answer(String answer, Served s, long start) {
        boolean ok = answer.equals("LabHAL," + s.model() + "-SIM,100001,1.0");
        return new Outcome(ok, millisSince(start), answer);
    }

    private static Outcome shell(RuntimeProcess runtime) throws IOException, InterruptedException {
        long start = System.nanoTime();
        String out = runtime.shell("instr:list", Duration.ofSeconds(30));
        boolean ok = out != null && out.lines().anyMatch(l -> l.startsWith("sim-smw ") && l.contains("ONLINE"))
                && out.lines().anyMatch(l -> l.startsWith("sim-shared ") && l.contains("ONLINE"));
        return new Outcome(ok, millisSince(start), out == null ? "no prompt within 30 s" : out.lines().count() + " lines");
    }

    /** Waits (up to 60 s) until the runtime holds no connection on the served ports and its threads are back. */
    private Usage settle(RuntimeProcess runtime, Usage before, List<Served> served, List<Target> targets)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            Usage now = runtime.usage(false, false);
            if (established(runtime.sockets(), targets) == 0 && now.threads() <= before.threads() + 2
                    && now.fds() <= before.fds() + 2) {
                break;
            }
            Thread.sleep(250); // the runtime's threads end as they notice their closed sockets
        }
        return runtime.usage(true, true);
    }

    private void report(ConnectionStorm storm, List<Target> targets) {
        say("  storm connections per port, as the storm saw them: closed = closed by the server (refused at the cap,");
        say("  a HiSLIP connection that sent no Initialize within 10 s, an ONC-RPC record over its limit); held i/e/f =");
        say("  still open: idle / endless / flood:");
        say("    %-32s %7s %7s %7s %7s  %-18s %s", "port", "opened", "held", "closed", "failed",
                "held i/e/f", "connect ms (median, max)");
        for (Target t : targets) {
            int held = 0;
            int closed = 0;
            int failed = 0;
            List<String> byRole = new ArrayList<>();
            for (Role role : Role.values()) {
                byRole.add(Integer.toString(storm.count(t, role, State.OPEN)));
                held += storm.count(t, role, State.OPEN);
                closed += storm.count(t, role, State.CLOSED_BY_SERVER);
                failed += storm.count(t, role, State.FAILED);
            }
            List<Long> connect = storm.links().stream().filter(l -> l.target.equals(t)).map(Link::connectMillis)
                    .filter(ms -> ms >= 0).sorted().toList();
            say("    %-32s %7d %7d %7d %7d  %-18s %s", t, held + closed, held, closed, failed, String.join("/", byRole),
                    connect.isEmpty() ? "-" : connect.get(connect.size() / 2) + ", " + connect.get(connect.size() - 1));
        }
        storm.closingWords().forEach((t, words) -> say("    what %s said to those it closed: %s", t, words));
        storm.failures().forEach((reason, n) -> say("    connect failed %d x: %s", n, reason));
        List<Long> refusedIdle = storm.links().stream()
                .filter(l -> l.role == Role.IDLE && l.state() == State.CLOSED_BY_SERVER).map(Link::heldMillis)
                .sorted().toList();
        if (!refusedIdle.isEmpty()) {
            say("    idle connections closed by a server: %d, after %s", refusedIdle.size(), stats(refusedIdle));
        }
    }

    private static String describe(Map<Integer, Map<String, Integer>> sockets, List<Target> targets) {
        return targets.stream().map(t -> t.name() + " " + sockets.getOrDefault(t.address().getPort(), Map.of())
                .getOrDefault("ESTABLISHED", 0)).collect(Collectors.joining(", "));
    }

    private static int established(Map<Integer, Map<String, Integer>> sockets) {
        return sockets.values().stream().mapToInt(m -> m.getOrDefault("ESTABLISHED", 0)).sum();
    }

    /** Connections (any state but LISTEN) the runtime holds on the served ports. */
    private static int established(Map<Integer, Map<String, Integer>> sockets, List<Target> targets) {
        int n = 0;
        for (Target t : targets) {
            for (Map.Entry<String, Integer> e : sockets.getOrDefault(t.address().getPort(), Map.of()).entrySet()) {
                n += e.getKey().equals("LISTEN") ? 0 : e.getValue();
            }
        }
        return n;
    }

    private static Usage max(Usage a, Usage b) {
        return new Usage(Math.max(a.threads(), b.threads()), Math.max(a.fds(), b.fds()),
                Math.max(a.rssKiB(), b.rssKiB()), Math.max(a.heapUsedKiB(), b.heapUsedKiB()));
    }

    private static String stats(List<Long> millis) {
        if (millis.isEmpty()) {
            return "none";
        }
        List<Long> sorted = millis.stream().sorted().toList();
        return sorted.size() + " x, median " + sorted.get(sorted.size() / 2) + " ms, max " + sorted.get(sorted.size() - 1)
                + " ms";
    }

    private static String summarise(List<Outcome> outcomes) {
        List<Long> ok = outcomes.stream().filter(Outcome::ok).map(Outcome::millis).toList();
        Map<String, List<Long>> failures = new LinkedHashMap<>();
        outcomes.stream().filter(o -> !o.ok).forEach(o -> failures
                .computeIfAbsent(o.text.replaceAll("\\d+ ms", "N ms"), t -> new ArrayList<>()).add(o.millis));
        StringBuilder text = new StringBuilder(ok.size() + " of " + outcomes.size() + " answered"
                + (ok.isEmpty() ? "" : " (" + stats(ok) + ")"));
        failures.forEach((what, millis) -> text.append("; ").append(millis.size()).append(" x ").append(what)
                .append(" (").append(stats(millis)).append(')'));
        return text.toString();
    }

    /** Like {@link #check}, saying only a failure. */
    private void quietCheck(String what, Outcome outcome) {
        if (!outcome.ok) {
            check(what, outcome);
        }
    }

    private void check(String what, Outcome outcome) {
        say("  %s: %s", what, outcome);
        if (!outcome.ok) {
            broken.add(what + ": " + outcome);
        }
    }

    private static String load() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
        }
    }

    private static String limit(String name) {
        return limit(ProcessHandle.current().pid(), name);
    }

    private static String limit(long pid, String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "limits"))) {
                if (line.startsWith(name)) {
                    String[] f = line.substring(name.length()).strip().split("\\s+");
                    return f[0] + " (hard " + f[1] + ")";
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return "?";
    }

    private static long millisSince(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }

    private void say(String format, Object... args) {
        String line = args.length == 0 ? format : String.format(format, args);
        PrintStream out = System.out;
        out.println(line);
        out.flush();
        report.append(line).append('\n');
    }
}
