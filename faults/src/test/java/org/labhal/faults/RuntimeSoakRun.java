package org.labhal.faults;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.labhal.faults.FaultProxy.Action;
import org.labhal.faults.FaultProxy.Direction;
import org.labhal.faults.FaultProxy.Rule;
import org.labhal.faults.Rig.Transport;
import org.labhal.faults.RuntimeProcess.Usage;

/**
 * The soak through the runtime's own sessions: {@code labhal.jar} runs as a child process with ten
 * configured instruments (SIM, raw socket, serial over a pty, VXI-11 and HiSLIP; SMW200A-style
 * independent sessions, shared-buffer meters and a one-connection instrument, so every lock policy
 * the runtime picks), each wired one reaching its simulator through a fault proxy in this process.
 * The runtime's shell runs {@code instr:stress <all ten> 16 <steps> 2} in rounds of 100,000 steps, each
 * reported as it ends: 16 threads visit every
 * instrument in turn, every step a question whose answer names it, a session whose link is lost
 * is opened again. Meanwhile a wire fault is injected every few seconds on a random wired
 * instrument (delay, stall, trickle, FIN, RST, flood, truncate, corrupt) and healed after a while.
 * It reports the stress run's figures (answers to another step must be 0; a corrupt fault may garble
 * an answer), the faults injected, and the
 * runtime's threads, descriptors and heap before and after. Not part of {@code ./lab test}: run it
 * with {@code faults/soak.sh --runtime [steps] [seconds between faults]}. Exits 1 on another step's answer,
 * a stress run that did not report, or threads or descriptors that stayed.
 */
public final class RuntimeSoakRun {
    private static final int THREADS = 16;
    private static final int SESSIONS = 2;
    /** How long a fault lasts at most before it is healed (half the time between faults when that is less). */
    private static final Duration FAULT_LIFETIME = Duration.ofSeconds(2);
    /**
     * The serial line's late_ms: well past {@link #FAULT_LIFETIME}, the longest a stall holds an answer.
     * Not much more: after a lost answer's end every thread waits for that much silence on the line.
     */
    private static final Duration SERIAL_LATE = FAULT_LIFETIME.multipliedBy(2).plusSeconds(1);
    /** Steps per instr:stress run unless {@code --round} says otherwise: each is reported as it ends. */
    private static final long ROUND = 100_000;
    /** How often a round tries to start (open its sessions, ask its first questions), and the pause between. */
    private static final int STARTS = 5;
    private static final Duration START_PAUSE = Duration.ofSeconds(3);
    /** When a round's first fault comes: after instr:stress has opened its sessions (a failed open ends it). */
    private static final Duration FIRST_FAULT = Duration.ofSeconds(5);
    private static final Pattern ONLINE = Pattern.compile("(?m)^\\s*(\\S+)\\s.*\\bONLINE\\b");

    private record Wired(String id, Rig rig) {
    }

    private final long steps;
    private final Duration every;
    private final Path jar;
    private final List<Wired> wired = new ArrayList<>();
    private final Map<String, Integer> injected = new TreeMap<>(); // guarded by itself
    private final Duration budget;
    private long roundSteps = ROUND;
    private volatile boolean stopping;
    private final Object faultLock = new Object();
    private long roundStart; // guarded by faultLock: System.nanoTime() when the current round began

    private RuntimeSoakRun(long steps, Duration every, Duration budget, Path jar) {
        this.steps = steps;
        this.budget = budget;
        this.every = every;
        this.jar = jar;
    }

    /**
     * @param args {@code [steps, default 1000000] [seconds between faults, default 2] [--jar path]
     *        [--minutes budget]}: no round starts once the budget is spent
     */
    public static void main(String[] args) throws Exception {
        List<String> plain = new ArrayList<>();
        Path jar = Path.of("runtime/target/labhal.jar");
        Duration budget = Duration.ofDays(365);
        long round = ROUND;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--jar") && i + 1 < args.length) {
                jar = Path.of(args[++i]);
            } else if (args[i].equals("--minutes") && i + 1 < args.length) {
                budget = Duration.ofMinutes(Long.parseLong(args[++i]));
            } else if (args[i].equals("--round") && i + 1 < args.length) {
                round = Long.parseLong(args[++i]);
            } else {
                plain.add(args[i]);
            }
        }
        long steps = plain.size() > 0 ? Long.parseLong(plain.get(0)) : 1_000_000;
        long seconds = plain.size() > 1 ? Long.parseLong(plain.get(1)) : 2;
        if (steps < 1 || seconds < 1 || round < 1 || plain.size() > 2) {
            System.err.println("usage: RuntimeSoakRun [steps >= 1] [seconds between faults >= 1] [--jar path]"
                    + " [--minutes budget] [--round steps]");
            System.exit(2);
        }
        RuntimeSoakRun soak = new RuntimeSoakRun(steps, Duration.ofSeconds(seconds), budget, jar);
        soak.roundSteps = round;
        System.exit(soak.run() ? 0 : 1);
    }

    private boolean run() throws Exception {
        Path dir = Files.createTempDirectory("labhal-runtime-soak");
        Map<String, String> configs = new LinkedHashMap<>();
        try {
            wire("socket-smw", Transport.SOCKET, "SMW200A", dir, configs, "");
            wire("socket-single", Transport.SOCKET, "SMW200A", dir, configs, "lockPolicy=SINGLE_CONNECTION\n");
            wire("socket-shared", Transport.SOCKET, "SHARED", dir, configs, "");
            wire("serial-smw", Transport.SERIAL, "SMW200A", dir, configs, "");
            wire("vxi11-smw", Transport.VXI11, "SMW200A", dir, configs, "");
            wire("vxi11-shared", Transport.VXI11, "SHARED", dir, configs, "");
            wire("hislip-smw", Transport.HISLIP, "SMW200A", dir, configs, "");
            wire("hislip-shared", Transport.HISLIP, "SHARED", dir, configs, "");
            // The runtime's two built-in instruments: SIM::SMW200A::1 and SIM::SHARED::1, no wire.
            List<String> ids = new ArrayList<>(List.of("sim-smw", "sim-shared"));
            ids.addAll(configs.keySet());
            List<String> jvm = List.of("-Dlabhal.simulators.socket=SHARED@0", "-Dlabhal.simulators.hislip=SHARED@0",
                    "-Dlabhal.simulators.vxi11=SHARED@0");
            try (RuntimeProcess runtime = RuntimeProcess.start(jar, jvm, Duration.ofSeconds(60), work -> {
                Path deploy = Files.createDirectories(work.resolve("deploy"));
                for (Map.Entry<String, String> c : configs.entrySet()) {
                    Files.writeString(deploy.resolve("org.labhal.instrument-" + c.getKey() + ".cfg"), c.getValue(),
                            StandardCharsets.UTF_8);
                }
            })) {
                say("LabHAL runtime soak, %s: %s, pid %d", LocalDateTime.now().withNano(0), jar, runtime.pid());
                String list = awaitOnline(runtime, ids, Duration.ofSeconds(60));
                say("%s", list.strip());
                Usage before = runtime.usage(true, true);
                Map<String, Integer> threadsBefore = runtime.threadNames();
                say("runtime before: %s", before);
                say("soak: instr:stress over %d instruments, %d threads, %d sessions each, %,d steps; a wire fault every"
                        + " %d s, healed after %d ms", ids.size(), THREADS, SESSIONS, steps, every.toSeconds(),
                        Math.min(FAULT_LIFETIME.toMillis(), every.toMillis() / 2));
                Thread faults = new Thread(this::injectFaults, "runtime-soak-faults");
                faults.setDaemon(true);
                synchronized (faultLock) {
                    roundStart = System.nanoTime();
                }
                faults.start();
                long started = System.nanoTime();
                Totals totals = new Totals();
                for (long left = steps; left > 0; ) {
                    if (Duration.ofNanos(System.nanoTime() - started).compareTo(budget) > 0) {
                        say("time budget of %d min spent: stopping after %,d of %,d steps", budget.toMinutes(),
                                steps - left, steps);
                        break;
                    }
                    long round = Math.min(roundSteps, left);
                    synchronized (faultLock) { // no fault while the round opens its sessions, none left armed
                        roundStart = System.nanoTime();
                        wired.forEach(w -> w.rig().proxy().heal());
                    }
                    String report = null;
                    for (int start = 1; start <= STARTS; start++) {
                        report = runtime.shell("instr:stress " + String.join(",", ids) + " " + THREADS + " " + round
                                + " " + SESSIONS, Duration.ofHours(6));
                        if (report == null || report.contains("steps done") || start == STARTS) {
                            break;
                        }
                        // It could not open or ask its first questions (a step timed out on a machine under
                        // load, say): say so, and try again after a pause rather than lose the round.
                        totals.failedStarts.add(report.strip());
                        say("round %d could not start (%s); again in %d s", totals.rounds + 1, report.strip(),
                                START_PAUSE.toSeconds());
                        Thread.sleep(START_PAUSE.toMillis());
                        synchronized (faultLock) {
                            roundStart = System.nanoTime();
                            wired.forEach(w -> w.rig().proxy().heal());
                        }
                    }
                    totals.add(report, round);
                    if (System.getProperty("soak.verbose") != null) {
                        say("%s", report);
                    }
                    left -= round;
                    say("round %d: %s; so far %s, %d s", totals.rounds, totals.last,
                            totals, Duration.ofNanos(System.nanoTime() - started).toSeconds());
                    if (report == null) {
                        break; // the shell did not come back: nothing more can be asked of it
                    }
                }
                stopping = true;
                faults.interrupt();
                faults.join(10_000);
                wired.forEach(w -> w.rig().proxy().heal());
                long seconds = Duration.ofNanos(System.nanoTime() - started).toSeconds();
                say("");
                say("soak through the runtime: %s in %d s (%,.0f steps/s)", totals, seconds,
                        totals.done / Math.max(1.0, seconds));
                say("errors by kind, all rounds: %s", totals.errors);
                totals.examples.forEach(e -> say("  %s", e));
                synchronized (injected) {
                    say("faults injected: %s", injected);
                }
                String after = awaitOnline(runtime, ids, Duration.ofSeconds(60));
                // the shell's stress threads are a cached pool: idle ones end after 60 s
                Usage settled = settle(runtime, before, Duration.ofSeconds(90));
                say("runtime after: %s (after the stress run's sessions closed and the instruments were back online)",
                        settled);
                Map<String, Integer> threadsAfter = runtime.threadNamesSince(threadsBefore);
                if (!threadsAfter.isEmpty()) {
                    say("threads after minus before, by name: %s", threadsAfter);
                }
                boolean online = after != null;
                boolean leaked = settled.threads() > before.threads() + 2 || settled.fds() > before.fds() + 2;
                say("verdict: answers to another step %d (garbled by corrupt faults: %d), rounds without a report %d, "
                        + "instruments back online %s, threads %d -> %d, descriptors %d -> %d%s", totals.crossed,
                        totals.wrong - totals.crossed, totals.unreported, online ? "yes" : "NO", before.threads(),
                        settled.threads(), before.fds(), settled.fds(), leaked ? " (LEAK)" : "");
                return totals.crossed == 0 && totals.unreported == 0 && online && !leaked;
            }
        } finally {
            for (Wired w : wired) {
                w.rig().close();
            }
        }
    }

    /** What the rounds' reports add up to. */
    private static final class Totals {
        int rounds;
        int unreported;
        long attempted;
        long done;
        long wrong;
        long crossed;
        long errorCount;
        long reopened;
        String last = "";
        final Map<String, Long> errors = new TreeMap<>();
        final List<String> examples = new ArrayList<>();
        final List<String> failedStarts = new ArrayList<>();

        void add(String report, long round) {
            rounds++;
            attempted += round;
            long roundDone = report == null ? -1 : number(report, "steps done\\s+(\\d+) of");
            if (roundDone < 0) {
                unreported++;
                last = "NO REPORT: " + (report == null ? "the shell did not answer" : report.strip());
                return;
            }
            long roundWrong = number(report, "wrong answers\\s+(\\d+)");
            // a corrupt fault garbles an answer (expected); another step's answer never is
            long roundCrossed = roundWrong == 0 ? 0 : number(report, "(\\d+) of them another step's answer");
            done += roundDone;
            wrong += roundWrong;
            crossed += roundCrossed;
            errorCount += number(report, "errors\\s+(\\d+)");
            reopened += number(report, "sessions reopened\\s+(\\d+)");
            Matcher kinds = Pattern.compile("errors\\s+\\d+ \\{([^}]*)\\}").matcher(report);
            if (kinds.find()) {
                for (String kind : kinds.group(1).split(", ")) {
                    int eq = kind.lastIndexOf('=');
                    errors.merge(kind.substring(0, eq), Long.parseLong(kind.substring(eq + 1)), Long::sum);
                }
            }
            Matcher example = Pattern.compile("(?m)^example\\s+(.*(?:got|another step).*)$").matcher(report);
            while (example.find() && examples.size() < 20) {
                examples.add(example.group(1)); // the wrong answers' examples
            }
            last = roundDone + " of " + round + " steps answered, " + roundWrong + " wrong (" + roundCrossed
                    + " another step's answer)";
        }

        @Override
        public String toString() {
            return String.format("%,d of %,d steps answered, %,d wrong answers (%,d another step's answer, the rest "
                    + "garbled), %,d errors, %,d sessions reopened, %d rounds (%d without a report, %d starts tried "
                    + "again)", done, attempted, wrong, crossed, errorCount, reopened, rounds, unreported,
                    failedStarts.size());
        }
    }

    private void wire(String id, Transport transport, String model, Path dir, Map<String, String> configs,
            String extra) throws Exception {
        Rig rig = Rig.start(transport, model, dir, SERIAL_LATE);
        wired.add(new Wired(id, rig));
        // The serial line at 115200 baud, as most instruments with a serial port offer: at the default 9600
        // every step on it costs some 45 ms of line time, and every thread visits it in turn.
        String resource = transport == Transport.SERIAL ? rig.resource() + "&baud=115200" : rig.resource();
        configs.put(id, "resource=" + resource + "\nioTimeout=500\nlockTimeout=5000\n" + extra);
    }

    /** Arms a random fault on a random wired instrument every {@link #every}; heals it after a while. */
    private void injectFaults() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        try {
            long active = Math.min(FAULT_LIFETIME.toMillis(), every.toMillis() / 2);
            while (!stopping) {
                Wired target = wired.get(random.nextInt(wired.size()));
                Action[] faults = target.rig().wireFaults();
                Action action = faults[random.nextInt(faults.length)];
                FaultProxy proxy = target.rig().proxy();
                synchronized (faultLock) {
                    if (System.nanoTime() - roundStart < FIRST_FAULT.toNanos()) {
                        proxy = null; // the round is opening its sessions
                    } else {
                        proxy.arm(new Rule(Direction.TO_CLIENT, random.nextInt(40), action,
                                action == Action.TRICKLE ? Duration.ofMillis(50) : Duration.ofSeconds(1)));
                        synchronized (injected) {
                            injected.merge(target.id() + ":" + action, 1, Integer::sum);
                        }
                    }
                }
                Thread.sleep(active);
                if (proxy != null) {
                    proxy.heal();
                }
                Thread.sleep(every.toMillis() - active);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // stopping
        }
    }

    /** @return instr:list once every id is ONLINE, or null when that did not happen in time */
    private static String awaitOnline(RuntimeProcess runtime, List<String> ids, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        String list = null;
        while (System.nanoTime() - deadline < 0) {
            list = runtime.shell("instr:list", Duration.ofSeconds(30));
            if (list != null) {
                List<String> online = new ArrayList<>();
                Matcher m = ONLINE.matcher(list);
                while (m.find()) {
                    online.add(m.group(1));
                }
                if (online.containsAll(ids)) {
                    return list;
                }
            }
            Thread.sleep(500);
        }
        say("not every instrument came online within %d s:%n%s", timeout.toSeconds(), list);
        return null;
    }

    /** Waits until threads and descriptors are back to where they were, or the time is up. */
    private static Usage settle(RuntimeProcess runtime, Usage before, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Usage now = runtime.usage(true, true);
        while ((now.threads() > before.threads() || now.fds() > before.fds()) && System.nanoTime() - deadline < 0) {
            Thread.sleep(1000);
            now = runtime.usage(true, true);
        }
        return now;
    }

    private static long number(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    private static void say(String format, Object... args) {
        System.out.printf(format + "%n", args);
    }
}
