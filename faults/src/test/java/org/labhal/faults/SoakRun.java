package org.labhal.faults;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Pattern;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.LabHalException;
import org.labhal.api.Session;
import org.labhal.api.SessionClosedException;
import org.labhal.api.SessionOptions;
import org.labhal.api.lock.LockPolicy;
import org.labhal.faults.FaultProxy.Action;
import org.labhal.faults.FaultProxy.Direction;
import org.labhal.faults.FaultProxy.Rule;
import org.labhal.faults.Rig.Transport;

/**
 * The soak: 16 threads x 10 instruments (every transport, every lock policy) x N steps in all, with
 * a wire fault injected through a fault proxy every K steps (each lasting until the next, or
 * {@link #FAULT_LIFETIME} at most). Every step asks a question whose
 * answer names it; at the end it prints the wrong answers (another question's answer: must be 0),
 * the answers garbled by a corrupt fault, the errors by kind, and the threads, descriptors and heap
 * before and after. Not part of {@code ./lab test}: run it with {@code faults/soak.sh [steps] [every]}.
 * Exits 1 when an answer went to the wrong question or resources leaked.
 */
public final class SoakRun {
    private static final int THREADS = 16;
    private static final Duration IO = Duration.ofMillis(500);
    private static final Pattern TOKEN_PARTS = Pattern.compile("t(\\d{1,3})s(\\d+)");

    private record Instrument(String name, Rig rig, SessionOptions options) {
    }

    private final List<Instrument> instruments = new ArrayList<>();
    private final LongAdder passed = new LongAdder();
    private final LongAdder wrong = new LongAdder();
    private final LongAdder garbled = new LongAdder();
    private final LongAdder reopened = new LongAdder();
    private final LongAdder openButLost = new LongAdder();
    private final AtomicLong steps = new AtomicLong();
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> injected = new ConcurrentHashMap<>();
    private final List<String> wrongSamples = new ArrayList<>(); // guarded by itself
    /**
     * How long an injected fault lasts at most: until the next one, or this long. A fault that slows
     * every step (a serial line flooding at every open) would otherwise last until the steps it slows
     * reach the next injection, which took the soak 13 minutes at one step a second.
     */
    private static final Duration FAULT_LIFETIME = Duration.ofSeconds(5);
    /**
     * The serial line's late_ms: a stall holds answers for up to {@link #FAULT_LIFETIME} and lets them
     * all go at once when healed, so they can come that late (a late_ms of 1 s gave a stalled answer to a
     * later question within a minute).
     */
    private static final Duration SERIAL_LATE = FAULT_LIFETIME.multipliedBy(2);

    private FaultProxy faulted; // guarded by this
    private volatile long faultNumber; // written under this
    private volatile String lastFault = "none"; // the last fault injected, for the first error of a kind
    private final ScheduledExecutorService healer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "soak-healer");
        t.setDaemon(true);
        return t;
    });

    public static void main(String[] args) throws Exception {
        long total = args.length > 0 ? Long.parseLong(args[0]) : 1_000_000;
        long every = args.length > 1 ? Long.parseLong(args[1]) : 1_000;
        if (total < 1 || every < 1) {
            throw new IllegalArgumentException("usage: SoakRun [steps >= 1] [fault every K >= 1 steps]");
        }
        System.exit(new SoakRun().run(total, every) ? 0 : 1);
    }

    private static SessionOptions options(LockPolicy policy, boolean instrumentLock) {
        return SessionOptions.defaults().withLockPolicy(policy).withIoTimeout(IO).withLockTimeout(Duration.ofSeconds(5))
                .withErrorChecking(false).withMaxAnswerSize(1 << 20).withInstrumentLock(instrumentLock);
    }

    private boolean run(long total, long every) throws Exception {
        Path dir = Files.createTempDirectory("labhal-soak");
        add("sim-smw", Transport.SIM, "SMW200A", LockPolicy.INDEPENDENT_SESSIONS, false, dir);
        add("sim-shared", Transport.SIM, "SHARED", LockPolicy.SHARED_BUFFER, false, dir);
        add("socket-smw", Transport.SOCKET, "SMW200A", LockPolicy.INDEPENDENT_SESSIONS, false, dir);
        add("socket-single", Transport.SOCKET, "SMW200A", LockPolicy.SINGLE_CONNECTION, false, dir);
        add("socket-shared", Transport.SOCKET, "SHARED", LockPolicy.SHARED_BUFFER, false, dir);
        add("serial-smw", Transport.SERIAL, "SMW200A", LockPolicy.SINGLE_CONNECTION, false, dir);
        add("vxi11-smw", Transport.VXI11, "SMW200A", LockPolicy.INDEPENDENT_SESSIONS, false, dir);
        add("vxi11-shared", Transport.VXI11, "SHARED", LockPolicy.SHARED_BUFFER, true, dir);
        add("hislip-smw", Transport.HISLIP, "SMW200A", LockPolicy.INDEPENDENT_SESSIONS, false, dir);
        add("hislip-shared", Transport.HISLIP, "SHARED", LockPolicy.SHARED_BUFFER, true, dir);
        // One question to each instrument first, so that classes and jars are loaded before the count.
        for (Instrument i : instruments) {
            try (Session warm = i.rig().open(i.options())) {
                warm.query(Case.echo("warm"));
            }
        }
        Resources before = Resources.now(true);
        System.out.printf("soak: %d threads x %d instruments, %d steps, a fault every %d steps%n", THREADS,
                instruments.size(), total, every);
        long started = System.nanoTime();
        CountDownLatch done = new CountDownLatch(THREADS);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int number = t;
            Thread worker = new Thread(() -> {
                try {
                    work(number, total, every);
                } finally {
                    done.countDown();
                }
            }, "soak-" + t);
            workers.add(worker);
            worker.start();
        }
        long lastReport = 0;
        while (!done.await(5, TimeUnit.SECONDS)) {
            long now = steps.get();
            System.out.printf("  %,d steps (%,.0f/s), %d wrong, errors %s%n", now,
                    (now - lastReport) / 5.0, wrong.sum(), errorCounts());
            lastReport = now;
        }
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        healer.shutdownNow();
        synchronized (this) {
            if (faulted != null) {
                faulted.heal();
            }
        }
        for (Instrument i : instruments) {
            i.rig().close();
        }
        List<String> leaks = Resources.settledTo(before, Duration.ofSeconds(10));
        Resources after = Resources.now(true);
        System.out.printf("%nsoak done: %,d steps in %d s (%,.0f steps/s)%n", steps.get(), took.toSeconds(),
                steps.get() / Math.max(0.001, took.toNanos() / 1e9));
        System.out.printf("  own answers:           %,d%n", passed.sum());
        System.out.printf("  WRONG answers:         %,d (another question's answer; must be 0)%n", wrong.sum());
        System.out.printf("  garbled answers:       %,d (a corrupt or flood fault changed bytes of the answer)%n",
                garbled.sum());
        System.out.printf("  errors by kind:        %s%n", errorCounts());
        System.out.printf("  faults injected:       %s%n", new TreeMap<>(count(injected)));
        System.out.printf("  sessions reopened:     %,d, of which %,d after a lost link while isOpen() said true%n",
                reopened.sum(), openButLost.sum());
        System.out.printf("  threads before/after:  %d / %d (before: after one question to each instrument)%n",
                before.threads.size(), after.threads.size());
        System.out.printf("  fds before/after:      %d / %d%n", before.fds.size(), after.fds.size());
        System.out.printf("  heap before/after GC:  %d MiB / %d MiB%n", before.heapUsed >> 20, after.heapUsed >> 20);
        System.out.printf("  leaks after close:     %s%n", leaks.isEmpty() ? "none" : leaks);
        synchronized (wrongSamples) {
            for (String sample : wrongSamples) {
                System.out.println("  wrong: " + sample);
            }
        }
        return wrong.sum() == 0 && leaks.isEmpty();
    }

    private void add(String name, Transport transport, String model, LockPolicy policy, boolean instrumentLock,
            Path dir) throws Exception {
        instruments.add(new Instrument(name, Rig.start(transport, model, dir, SERIAL_LATE), options(policy, instrumentLock)));
    }

    private void work(int thread, long total, long every) {
        Session[] sessions = new Session[instruments.size()];
        try {
            long n;
            while ((n = steps.incrementAndGet()) <= total) {
                if (n % every == 0) {
                    injectFault();
                }
                int i = (int) ((n + thread) % instruments.size());
                step(thread, n, sessions, i);
            }
        } finally {
            for (Session s : sessions) {
                if (s != null) {
                    s.close();
                }
            }
        }
    }

    private void step(int thread, long n, Session[] sessions, int i) {
        Instrument instrument = instruments.get(i);
        String token = "t" + thread + "s" + n;
        try {
            if (sessions[i] == null) {
                sessions[i] = instrument.rig().open(instrument.options());
            }
            String answer = sessions[i].query(Case.echo(token));
            if (answer.equals(token)) {
                passed.increment();
            } else if (askedHere(answer, i)) {
                wrong.increment();
                synchronized (wrongSamples) {
                    if (wrongSamples.size() < 20) {
                        String sample = instrument.name() + ": asked " + token + ", got " + visible(answer)
                                + " (after fault #" + faultNumber + ", " + lastFault + ")";
                        wrongSamples.add(sample);
                        System.out.println("  WRONG " + sample); // at once: a long run may not end
                    }
                }
            } else {
                garbled.increment();
            }
        } catch (LabHalException | RuntimeException | OutOfMemoryError e) {
            // An OutOfMemoryError is a finding too (an unbounded buffer): count it and go on.
            String kind = instrument.name() + ":" + e.getClass().getSimpleName();
            errors.computeIfAbsent(kind, k -> {
                // the first of each kind, with the step and the last fault, for diagnosis
                System.out.printf("  first %s at step %,d (after fault #%d, %s): %s%n", k, passed.sum(),
                        faultNumber, lastFault, e.getMessage());
                return new LongAdder();
            }).increment();
            Session broken = sessions[i];
            boolean lost = e instanceof ConnectionLostException || e instanceof SessionClosedException;
            if (broken != null && (!broken.isOpen() || lost || e instanceof OutOfMemoryError)) {
                if (lost && broken.isOpen()) {
                    openButLost.increment(); // isOpen() should have said false: a finding, not the soak's problem
                }
                broken.close();
                sessions[i] = null;
                reopened.increment();
            }
        }
    }

    /**
     * Whether {@code answer} is the token of a question really asked of instrument {@code i}: thread t's
     * step n goes to instrument (n + t) mod instruments, n was handed out already and has no leading
     * zero. A flood fault that overwrites the tail of an answer's payload with digits ("t1s4" + "012345")
     * makes a token-shaped answer nobody asked: garbled, not another question's answer.
     */
    private boolean askedHere(String answer, int i) {
        java.util.regex.Matcher m = TOKEN_PARTS.matcher(answer);
        if (!m.matches() || m.group(2).startsWith("0") && m.group(2).length() > 1 || m.group(2).length() > 12) {
            return false;
        }
        long thread = Long.parseLong(m.group(1));
        long n = Long.parseLong(m.group(2));
        return thread < THREADS && n <= steps.get() && (n + thread) % instruments.size() == i;
    }

    /** Heals the last fault and arms a new one on a random instrument with a wire. */
    private synchronized void injectFault() {
        if (faulted != null) {
            faulted.heal();
        }
        List<Instrument> wired = instruments.stream().filter(i -> i.rig().proxy() != null).toList();
        Instrument target = wired.get(ThreadLocalRandom.current().nextInt(wired.size()));
        Action[] faults = target.rig().wireFaults();
        Action action = faults[ThreadLocalRandom.current().nextInt(faults.length)];
        faulted = target.rig().proxy();
        faulted.arm(new Rule(Direction.TO_CLIENT, ThreadLocalRandom.current().nextInt(40), action,
                action == Action.TRICKLE ? Duration.ofMillis(50) : IO.multipliedBy(2)));
        injected.computeIfAbsent(target.name() + ":" + action, k -> new LongAdder()).increment();
        long number = ++faultNumber;
        lastFault = target.name() + ":" + action;
        healer.schedule(() -> healIfStill(number), FAULT_LIFETIME.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Ends fault {@code number} when no later fault replaced it. */
    private synchronized void healIfStill(long number) {
        if (number == faultNumber && faulted != null) {
            faulted.heal();
            faulted = null;
        }
    }

    /** The text with every byte outside printable ASCII as \xNN, at most 120 characters of it. */
    private static String visible(String text) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < Math.min(text.length(), 120); i++) {
            char c = text.charAt(i);
            out.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\x%02X", (int) c));
        }
        return text.length() > 120 ? out + "... (" + text.length() + " chars)" : out.toString();
    }

    private String errorCounts() {
        return new TreeMap<>(count(errors)).toString();
    }

    private static Map<String, Long> count(Map<String, LongAdder> adders) {
        Map<String, Long> counts = new TreeMap<>();
        adders.forEach((k, v) -> counts.put(k, v.sum()));
        return counts;
    }
}
