package org.labhal.faults;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import org.labhal.api.AnswerTooLargeException;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.MalformedResponseException;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.LockPolicy;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.InstrumentLocking;
import org.labhal.faults.FaultProxy.Action;
import org.labhal.faults.FaultProxy.Direction;
import org.labhal.faults.FaultProxy.Rule;
import org.labhal.faults.Rig.Transport;
import org.labhal.transport.usbtmc.SimulatedUsb488Device;

/**
 * One cell of the matrix: a fresh instrument behind {@code transport}, one injection into one step,
 * then every promise checked. {@link #run()} returns the promises broken, each with what happened;
 * an empty list is a pass. It never stops at the first broken promise, so a cell tells everything
 * that went wrong in it.
 */
final class Case {
    /** The I/O and lock timeout of a faulted step: short, so the matrix stays fast. */
    static final Duration IO = Duration.ofMillis(300);
    /** How long past its timeout (or past the interrupt) a step may take to end. */
    static final Duration GRACE = Duration.ofSeconds(2);
    /** Timeouts of steps that an interrupt, not a timeout, must end. */
    static final Duration LONG = Duration.ofSeconds(10);
    /** How long a second client may take to get the instrument lock that must be free. */
    static final Duration LOCK_CHECK = Duration.ofSeconds(1);
    /** The I/O timeout of the steps after the fault, which must simply work. */
    static final Duration NEXT_IO = Duration.ofSeconds(2);
    /**
     * The serial line's late_ms: longer than the delay cell's answer is late (3 x {@link #IO}), short
     * enough that a line that lost an answer's end (truncate, cut-write) is back in step within the next
     * steps' {@link #NEXT_IO}.
     */
    static final Duration SERIAL_LATE = Duration.ofSeconds(1);
    /** How long closed connections may take to give back their threads and descriptors. */
    static final Duration SETTLE = Duration.ofSeconds(5);
    /** The answer limit of the sessions under test. */
    static final long MAX_ANSWER = 1 << 20;
    /** How much more heap than before a case may retain (after GC). */
    static final long HEAP_BOUND = 64L << 20;
    /** Big enough to fill every buffer between client and instrument (sockets, pty, socat). */
    static final int BIG = 16 << 20;
    /** The biggest GPIB message the matrix writes: under the 1 MiB host line with command and termination. */
    static final int GPIB_BIG = (1 << 20) - 64;
    /** The most GPIB messages a write step sends before the link must have blocked (64 MiB: beyond any buffer). */
    static final int GPIB_MESSAGES = 64;
    private static final int FAULT_AT = 3;
    private static final int CUT_AT = 64 << 10;

    private final Transport transport;
    private final Injection injection;
    private final Path dir;
    private final List<String> broken = new ArrayList<>();
    private final List<Session> opened = new ArrayList<>();
    private Rig rig;
    private Session victim;

    Case(Transport transport, Injection injection, Path dir) {
        this.transport = transport;
        this.injection = injection;
        this.dir = dir;
    }

    static SessionOptions options() {
        return SessionOptions.defaults().withLockPolicy(LockPolicy.INDEPENDENT_SESSIONS).withIoTimeout(IO)
                .withLockTimeout(IO).withOpenTimeout(Duration.ofSeconds(3)).withErrorChecking(false)
                .withMaxAnswerSize(MAX_ANSWER);
    }

    /** A question whose answer says which question it was. */
    static String token(String tag) {
        return tag + "x" + Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE)
                + Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE);
    }

    /** The question that {@code token} answers, as quoted string data (a mnemonic is limited to 12 characters). */
    static String echo(String token) {
        return "SIM:ECHO? \"" + token + "\"";
    }

    static String excerpt(String text) {
        return text.length() <= 160 ? text : text.substring(0, 160) + "... (" + text.length() + " chars)";
    }

    /** Runs the case; returns the promises broken, empty when all held. */
    List<String> run() throws Exception {
        Resources.warmUpJdk();
        try (Rig started = Rig.start(transport, "SMW200A", dir, SERIAL_LATE)) {
            rig = started;
            Resources before = Resources.now(true);
            try {
                victim = open(options().withInstrumentLock(injection == Injection.INT_LOCKED_STEP));
                victim.setIoTimeout(NEXT_IO); // the rig's own check is not what is tested: give it time
                String warm = token("warm");
                String answer = victim.query(echo(warm));
                victim.setIoTimeout(IO);
                if (!warm.equals(answer)) {
                    throw new AssertionError(rig + " does not work before any fault: asked for " + warm + ", got "
                            + answer);
                }
                inject();
                sessionLockFree();
                if (transport.instrumentLock) {
                    instrumentLockFree();
                }
                if (rig.proxy() != null) {
                    rig.proxy().heal();
                }
                nextSteps();
            } finally {
                for (Session s : opened) {
                    s.close();
                }
                rig.releaseShared();
            }
            broken.addAll(Resources.settledTo(before, SETTLE));
            Resources after = Resources.now(true);
            if (after.heapUsed > before.heapUsed + HEAP_BOUND) {
                broken.add("memory: " + (after.heapUsed - before.heapUsed >> 20) + " MiB more heap retained after GC "
                        + "than before the case (bound " + (HEAP_BOUND >> 20) + " MiB)");
            }
        }
        return broken;
    }

    private Session open(SessionOptions options) throws LabHalException {
        Session s = rig.open(options);
        opened.add(s);
        return s;
    }

    private void inject() throws Exception {
        String expected = token("fault");
        String question = echo(expected);
        int skip = transport.answerOffset; // bytes before the answer's first
        switch (injection) {
            // VXI-11 waits a documented reply margin (1 s) beyond the instrument's io_timeout for the
            // instrument's own reply; an answer delayed within it is its own answer, late but whole.
            case DELAY_ANSWER -> wire(new Rule(Direction.TO_CLIENT, skip, Action.DELAY, IO.multipliedBy(3)),
                    () -> victim.query(question), transport == Transport.VXI11 ? expected::equals : null,
                    IoTimeoutException.class);
            case STALL_ANSWER -> wire(Rule.at(Direction.TO_CLIENT, skip + FAULT_AT, Action.STALL),
                    () -> victim.query(question), null, IoTimeoutException.class, ConnectionLostException.class);
            case TRICKLE_ANSWER -> wire(new Rule(Direction.TO_CLIENT, skip, Action.TRICKLE, Duration.ofMillis(100)),
                    () -> victim.query(question), null, IoTimeoutException.class, ConnectionLostException.class);
            case FIN_ANSWER -> wire(Rule.at(Direction.TO_CLIENT, skip + FAULT_AT, Action.FIN),
                    () -> victim.query(question), null, ConnectionLostException.class);
            case RST_ANSWER -> wire(Rule.at(Direction.TO_CLIENT, skip + FAULT_AT, Action.RST),
                    () -> victim.query(question), null, ConnectionLostException.class);
            case FLOOD_ANSWER -> wire(Rule.at(Direction.TO_CLIENT, skip, Action.FLOOD),
                    () -> victim.query(question), null, AnswerTooLargeException.class, ConnectionLostException.class);
            case TRUNCATE_ANSWER -> wire(Rule.at(Direction.TO_CLIENT, skip + FAULT_AT, Action.TRUNCATE),
                    () -> victim.query(question), null, IoTimeoutException.class, ConnectionLostException.class,
                    MalformedResponseException.class);
            case CORRUPT_ANSWER -> wire(Rule.at(Direction.TO_CLIENT, skip, Action.CORRUPT),
                    () -> victim.query(question), answer -> differsInAtMostOneByte(expected, answer),
                    IoTimeoutException.class, ConnectionLostException.class, MalformedResponseException.class);
            case CUT_WRITE -> wire(Rule.at(Direction.TO_INSTRUMENT, CUT_AT, Action.STALL), this::writeBig, null,
                    ConnectionLostException.class, IoTimeoutException.class);
            case RST_WRITE -> wire(Rule.at(Direction.TO_INSTRUMENT, CUT_AT, Action.RST), this::writeBig, null,
                    ConnectionLostException.class);
            case INT_LOCK_WAIT -> interruptLockWait(question);
            case INT_BEFORE_WRITE -> interruptBeforeWrite(question);
            case INT_MID_WRITE -> {
                if (transport == Transport.USBTMC) {
                    rig.usbDevice().inject(SimulatedUsb488Device.Fault.BLOCK_BULK_OUT); // NAKs until given up
                }
                interruptInside(Rule.at(Direction.TO_INSTRUMENT, 1, Action.STALL), this::writeBig, "write");
            }
            // The in-memory simulator answers within the write that carries the question: there the
            // wait for the answer is inside write. The simulated USB device answers *OPC? when the 3 s
            // operation INIT started ends, so the host's read waits.
            case INT_MID_READ -> interruptInside(Rule.at(Direction.TO_CLIENT, skip + FAULT_AT, Action.STALL),
                    transport.wire ? () -> victim.query(question) : () -> victim.query("INIT;*OPC?"),
                    transport.wire || transport == Transport.USBTMC ? new String[] {"read"}
                            : new String[] {"read", "write"});
            case INT_CLEAR -> interruptClear();
            case INT_INSTR_ACQUIRE -> interruptInstrumentLockWait();
            case INT_INSTR_RELEASE -> interruptedRelease();
            // mid-read, after the step took the instrument lock: its release is what must not leak
            case INT_LOCKED_STEP -> interruptInside(Rule.at(Direction.TO_CLIENT,
                    transport.lockReply + skip + FAULT_AT, Action.STALL), () -> victim.query(question), "read");
            default -> throw new IllegalArgumentException("unknown injection " + injection);
        }
    }

    private Object writeBig() throws LabHalException {
        if (transport == Transport.GPIB) {
            return writeGpibUntilBlocked();
        }
        byte[] message = ("SIM:ECHO? " + "x".repeat(BIG)).getBytes(StandardCharsets.ISO_8859_1);
        victim.writeBytes(message);
        return "written";
    }

    /**
     * A GPIB message is one Prologix host line of at most 1 MiB (GpibConnection.MAX_MESSAGE), which
     * loopback's TCP buffers take whole: the step writes such messages, each a step of its own as a
     * caller would, until the buffers between it and the faulted proxy are full and one cannot go out
     * (the first stops at the proxy's fault). At most {@link #GPIB_MESSAGES}, beyond any buffer.
     */
    private Object writeGpibUntilBlocked() throws LabHalException {
        byte[] message = ("SIM:ECHO? " + "x".repeat(GPIB_BIG)).getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < GPIB_MESSAGES; i++) {
            victim.writeBytes(message);
        }
        return "written " + GPIB_MESSAGES + " messages of 1 MiB";
    }

    private static boolean differsInAtMostOneByte(String expected, String answer) {
        if (answer.length() != expected.length()) {
            return false;
        }
        int differences = 0;
        for (int i = 0; i < answer.length(); i++) {
            differences += answer.charAt(i) == expected.charAt(i) ? 0 : 1;
        }
        return differences <= 1;
    }

    /** A fault on the wire during one step bounded by {@link #IO}. */
    @SafeVarargs
    private void wire(Rule rule, Callable<?> step, Predicate<String> acceptable,
            Class<? extends Throwable>... expected) throws InterruptedException {
        rig.proxy().arm(rule);
        Stepper stepper = Stepper.start(injection.column, step);
        Duration bound = IO.plus(GRACE);
        if (!stepper.await(bound)) {
            broken.add("bounded wait: the step did not end within its " + IO.toMillis() + " ms timeout + "
                    + GRACE.toSeconds() + " s grace (" + rule + ")");
            stopHung(stepper);
            return;
        }
        if (!rig.proxy().awaitReached(Duration.ZERO)) {
            broken.add("injector: the step ended before the proxy reached its fault (" + rule + "): "
                    + stepper.outcome());
        }
        judge(stepper, acceptable, expected);
    }

    /**
     * Interrupts the step once the proxy holds it at {@code rule} (when there is a proxy; null when
     * the caller armed it already) and it is inside one of {@code methods} of its {@link Connection}.
     */
    private void interruptInside(Rule rule, Callable<?> step, String... methods) throws Exception {
        victim.setIoTimeout(LONG);
        victim.setLockTimeout(LONG);
        if (rig.proxy() != null && rule != null) {
            rig.proxy().arm(rule);
        }
        Stepper stepper = Stepper.start(injection.column, step);
        boolean reached = rig.proxy() == null || rig.proxy().awaitReached(LONG);
        boolean inside = reached && insideOneOf(stepper, methods);
        if (!inside) {
            broken.add("injector: the step never got inside Connection." + String.join("/", methods)
                    + (rig.proxy() == null ? "" : reached ? " with the proxy at " + rule
                            : " (the proxy never reached its fault)") + "; " + stepper.outcome());
        }
        cancelAndJudge(stepper);
    }

    private static boolean insideOneOf(Stepper stepper, String... methods) {
        long end = System.nanoTime() + LONG.toNanos();
        while (!stepper.finished() && System.nanoTime() < end) {
            for (String method : methods) {
                if (stepper.awaitInside(Connection.class, method, Duration.ZERO)) {
                    return true;
                }
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1)); // poll, bounded by LONG
        }
        return false;
    }

    /**
     * Interrupts a device clear while it waits: where the clear asks the instrument (VXI-11, HiSLIP)
     * its reply is stalled; where it drains pending input (socket, serial) an answer trickles in
     * slower than the drain's quiet period, so the drain goes on until interrupted.
     */
    private void interruptClear() throws Exception {
        Rule rule = Rule.at(Direction.TO_CLIENT, 0, Action.STALL);
        if (transport == Transport.GPIB) {
            gpibClearMustResynchronise();
            rule = null; // armed
        } else if (transport.drainClear) {
            victim.setIoTimeout(LONG);
            rig.proxy().arm(new Rule(Direction.TO_CLIENT, 0, Action.TRICKLE, Duration.ofMillis(40)));
            victim.write(echo(token("pending")));
            rule = null; // armed
        }
        interruptInside(rule, () -> {
                    victim.clear();
                    return "cleared";
                }, "clear");
    }

    /**
     * Leaves the GPIB board owing a resynchronisation, so that the victim's clear first sends
     * {@code ++ver} and waits for its answer, which the proxy holds: a session on another address of the
     * same board asks a question whose answer is stalled; its read times out, and so does the
     * resynchronisation the session then tries (that session closes; the board stays marked). The ++clr
     * itself has no answer: without this the clear would not wait for anything on the wire.
     */
    private void gpibClearMustResynchronise() throws Exception {
        rig.proxy().arm(Rule.at(Direction.TO_CLIENT, 0, Action.STALL));
        Session neighbour = rig.open("GPIB0::" + (Rig.GPIB_ADDRESS + 1) + "::INSTR", options());
        opened.add(neighbour);
        try {
            String answer = neighbour.query(echo(token("neighbour")));
            throw new AssertionError("the neighbour's answer came through a stalled proxy: " + answer);
        } catch (IoTimeoutException expected) {
            // the board now owes a ++ver answer
        }
    }

    private void interruptLockWait(String question) throws Exception {
        victim.setLockTimeout(LONG);
        victim.setIoTimeout(LONG);
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Stepper holder = Stepper.start("holder", () -> {
            try (Lease lease = victim.lock().acquire(LONG)) {
                held.countDown();
                release.await();
            }
            return null;
        });
        try {
            if (!held.await(LONG.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("the holder never got the session lock: " + holder.outcome());
            }
            Stepper stepper = Stepper.start(injection.column, () -> victim.query(question));
            long end = System.nanoTime() + LONG.toNanos();
            while (victim.lock().info().waiters().isEmpty() && !stepper.finished() && System.nanoTime() < end) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1)); // poll, bounded by LONG
            }
            if (victim.lock().info().waiters().isEmpty()) {
                broken.add("injector: the step never waited for the session lock; " + stepper.outcome());
            }
            cancelAndJudge(stepper);
        } finally {
            release.countDown();
            holder.await(GRACE);
        }
    }

    private void interruptBeforeWrite(String question) throws Exception {
        victim.setIoTimeout(LONG);
        Stepper stepper = Stepper.start(injection.column, () -> {
            try (Lease lease = victim.lock().acquire(LONG)) {
                Thread.currentThread().interrupt();
                return victim.query(question);
            }
        });
        if (!stepper.await(GRACE)) {
            broken.add("bounded wait: with the interrupt flag set the step did not end within " + GRACE.toSeconds()
                    + " s");
            stopHung(stepper);
            return;
        }
        judgeInterrupted(stepper);
    }

    private void interruptInstrumentLockWait() throws Exception {
        Session other = rig.openBystander(options());
        opened.add(other);
        Lease otherLock = other.lockInstrument(LONG);
        try {
            rig.proxy().arm(Rule.at(Direction.TO_INSTRUMENT, 0, Action.MARK));
            Stepper stepper = Stepper.start(injection.column, () -> {
                try (Lease lease = victim.lockInstrument(LONG)) {
                    return "locked while another client held the lock";
                }
            });
            boolean inside = rig.proxy().awaitReached(LONG)
                    && stepper.awaitInside(InstrumentLocking.class, "lockInstrument", LONG);
            if (!inside) {
                broken.add("injector: the step never waited inside lockInstrument; " + stepper.outcome());
            }
            cancelAndJudge(stepper);
        } finally {
            otherLock.close(); // the instrument may now grant the lock to the request given up on
        }
    }

    private void interruptedRelease() throws Exception {
        Stepper stepper = Stepper.start(injection.column, () -> {
            Lease lease = victim.lockInstrument(LONG);
            Thread.currentThread().interrupt();
            lease.close();
            return "released";
        });
        if (!stepper.await(IO.plus(GRACE))) {
            broken.add("bounded wait: releasing the instrument lock with the interrupt flag set did not end within "
                    + IO.toMillis() + " ms + " + GRACE.toSeconds() + " s");
            stopHung(stepper);
            return;
        }
        if (stepper.failure() != null) {
            broken.add("outcome: the release must complete whatever the interrupt flag says; " + stepper.outcome());
        }
        if (!stepper.interruptedAfter()) {
            broken.add("interrupt flag: the release cleared the caller's interrupt flag");
        }
    }

    private void cancelAndJudge(Stepper stepper) throws InterruptedException {
        stepper.cancel();
        if (!stepper.await(GRACE)) {
            broken.add("bounded wait: the step did not end within " + GRACE.toSeconds() + " s of Future.cancel(true)");
            stopHung(stepper);
            return;
        }
        judgeInterrupted(stepper);
    }

    private void judgeInterrupted(Stepper stepper) {
        judge(stepper, null, StepInterruptedException.class);
        if (stepper.failure() instanceof StepInterruptedException && !stepper.interruptedAfter()) {
            broken.add("interrupt flag: StepInterruptedException was thrown but the thread's interrupt flag was "
                    + "cleared");
        }
    }

    @SafeVarargs
    private void judge(Stepper stepper, Predicate<String> acceptable, Class<? extends Throwable>... expected) {
        Throwable failure = stepper.failure();
        String wanted = Arrays.stream(expected).map(Class::getSimpleName).collect(Collectors.joining(" or "))
                + (acceptable == null ? "" : " or an acceptable answer");
        if (failure instanceof OutOfMemoryError) {
            broken.add("memory: the step ran out of heap: " + stepper.outcome());
            return;
        }
        if (failure == null) {
            boolean fine = acceptable != null && stepper.value() instanceof String answer && acceptable.test(answer);
            if (!fine) {
                broken.add("specific exception: expected " + wanted + ", but the step " + stepper.outcome());
            }
            return;
        }
        for (Class<? extends Throwable> type : expected) {
            if (type.isInstance(failure)) {
                return;
            }
        }
        broken.add("specific exception: expected " + wanted + ", but the step " + stepper.outcome());
    }

    /** A step that outlived its bound: close its session to free the thread, and say whether that did. */
    private void stopHung(Stepper stepper) throws InterruptedException {
        for (Session s : opened) {
            s.close();
        }
        if (rig.proxy() != null) {
            rig.proxy().heal();
        }
        if (!stepper.await(GRACE)) {
            stepper.cancel();
            stepper.await(GRACE);
        }
        broken.add("(the hung step then " + stepper.outcome() + ")");
    }

    private void sessionLockFree() {
        Optional<Lease> probe = victim.lock().tryAcquire("probe after the fault");
        if (probe.isEmpty()) {
            broken.add("session lock: still held after the step ended: " + victim.lock().info().holder());
        } else {
            probe.get().close();
        }
    }

    private void instrumentLockFree() {
        try {
            Session checker = rig.openBystander(options());
            opened.add(checker);
            try (Lease lease = checker.lockInstrument(LOCK_CHECK)) {
                // taken: the instrument-side lock was free
            }
        } catch (LabHalException | RuntimeException e) {
            broken.add("instrument lock: a second client could not take it within " + LOCK_CHECK.toMillis()
                    + " ms: " + e.getClass().getSimpleName() + ": " + excerpt(String.valueOf(e.getMessage())));
        }
    }

    /** Two steps after the fault, on the same session if it says it is open, else on a new one. */
    private void nextSteps() {
        boolean same = victim.isOpen();
        String where = same ? "the same session (isOpen() said true)" : "a new session";
        try {
            Session next = same ? victim : open(options());
            next.setIoTimeout(NEXT_IO);
            next.setLockTimeout(NEXT_IO);
            for (int i = 0; i < 2; i++) {
                String mine = token("next" + i);
                String answer = next.query(echo(mine));
                if (!mine.equals(answer)) {
                    broken.add("own answer: step " + (i + 1) + " after the fault on " + where + " asked for " + mine
                            + " and got " + excerpt(answer));
                    return;
                }
            }
        } catch (LabHalException | RuntimeException e) {
            broken.add("next step: on " + where + " it failed: " + e.getClass().getSimpleName() + ": "
                    + excerpt(String.valueOf(e.getMessage())));
        }
    }
}
