package org.labhal.transport.serial.internal;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.SessionClosedException;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.Deadline;
import org.labhal.api.transport.Uninterruptibly;

import com.fazecast.jSerialComm.SerialPort;

/**
 * One open serial port. Reads are semi-blocking in slices of {@link #SLICE_MILLIS}: the kernel
 * returns as soon as a byte arrives or after one slice of silence (termios VTIME), so a waiting
 * reader sleeps in the kernel, never spins, and notices {@link #close()} within one slice. Input
 * is buffered; a read hands out bytes up to and including the read termination and keeps the rest
 * for the next read.
 *
 * <p>Closing the port while a read is inside the kernel would free its file descriptor under the
 * reader, so a close that finds a read in progress leaves the closing to that reader, which does it
 * on its way out. A write blocked in the kernel (peer not reading, flow control holding it) cannot
 * be woken any other way than by closing the port, so {@code close()} does that at once, and so
 * does the write's own timeout: after a write timeout the port is given up.
 *
 * <p>A serial line has no device clear and no reconnect that empties the instrument's parser, so a
 * link out of step is closed, never reused: a write of which part went out when its timeout passed
 * or an interrupt came (also after an earlier chunk without END), a {@code clear} after such a chunk,
 * a read interrupted half way through a message, a drain that does not reach quiet within its
 * timeout. The call says so ({@link ConnectionLostException}, or {@link StepInterruptedException} for
 * an interrupt) and {@link #isOpen()} turns false. An interrupt ends a read within one slice and a
 * blocked write within one slice too: the write's watchdog closes the port, the only way to abort it.
 *
 * <p>A step woken by {@code close()}, by a hang-up or by a failed write ends with
 * {@link ConnectionLostException}; a step started after {@code close()} with
 * {@link SessionClosedException}; a step on a connection that failed earlier with
 * {@link ConnectionLostException} again.
 */
final class SerialConnection implements Connection {
    /** termios VTIME counts tenths of a second: the finest read timeout POSIX offers. */
    static final int SLICE_MILLIS = 100;
    /** How long a failed write waits for the watchdog to finish closing the port. */
    static final Duration RELEASE_WAIT = Duration.ofSeconds(2);
    private static final int BUFFER = 8192;
    /** Most bytes per write call. */
    private static final int CHUNK = 4096;
    /** Most stale input a write drops before it goes out. */
    private static final int STALE_LIMIT = 1 << 16;
    /** Fewest bytes per write call, however slow the line. */
    private static final int MIN_CHUNK = 16;

    private final ResourceAddress address;
    private final String device;
    private final SerialPort port;
    private final LineSettings settings;
    private final ScheduledExecutorService watchdog;
    private final Consumer<SerialConnection> onRelease;
    private final LineDebt line;
    /** Bytes per write call: what the line sends in about one slice, so a stalled line shows soon. */
    private final int chunk;
    private final CompletableFuture<Void> released = new CompletableFuture<>();

    /** Held by the one step using the port; {@link #close()} never takes it. */
    private final ReentrantLock io = new ReentrantLock();
    // Input bytes received and not yet handed out; guarded by io.
    private final byte[] input = new byte[BUFFER];
    private int inputStart;
    private int inputEnd;
    // Bytes on their way out (jSerialComm writes from arrays); guarded by io.
    private final byte[] output = new byte[CHUNK];
    // Bytes of a message that went out without its end (writes with end=false); guarded by io.
    private long unfinished;
    // Whether the unfinished bytes, or the chunks of the write in progress, held a '?'; guarded by io.
    private boolean asks;
    // Whether the last read handed out part of a message without its end; guarded by io.
    private boolean midMessage;
    // Whether the bytes a drain discarded last ended inside a message; guarded by io.
    private boolean partial;
    // A write ended a message since the last read (a question, maybe); guarded by io.
    private boolean asked;
    // The reads since that write wait for its answer, before which owed answers are discarded; guarded by io.
    private boolean waiting;

    private final Object state = new Object();
    // Guarded by state.
    private boolean busy;
    private boolean writing;
    private boolean portReleased;
    private String closedBecause;
    private Kind closedKind;

    /** Why the connection ended, which decides what later calls throw. */
    private enum Kind { CLOSED, LOST, WRITE_TIMED_OUT, WRITE_INTERRUPTED }

    SerialConnection(ResourceAddress address, String device, SerialPort port, LineSettings settings,
            ScheduledExecutorService watchdog, LineDebt line, Consumer<SerialConnection> onRelease) {
        this.address = address;
        this.device = device;
        this.port = port;
        this.settings = settings;
        this.watchdog = watchdog;
        this.onRelease = onRelease;
        this.line = line;
        long perSlice = (long) settings.baud() * SLICE_MILLIS / 12_000; // 12 bit times per byte at most
        this.chunk = (int) Math.max(MIN_CHUNK, Math.min(CHUNK, perSlice));
    }

    /**
     * Writes in chunks of what the line sends in about one slice at its baud rate (16 to 4096 bytes).
     * Each chunk must go out within the I/O timeout plus the time the line needs to send it, so that
     * a long message on a slow line is not mistaken for a stuck one while a stuck line is noticed
     * within the timeout and a slice, and the whole call within the timeout plus the line time of
     * the whole message. A watchdog checks the chunk in flight every slice: past its deadline, or
     * when the writing thread is interrupted, it closes the port, the only way to abort a blocked
     * write. A fragment an earlier connection left in the instrument is ended first (see
     * {@link LineDebt}); a fragment this call leaves is recorded there.
     */
    @Override
    public void write(ByteBuffer data, boolean end, Duration timeout) throws LabHalException {
        byte[] termination = end ? settings.writeTermination() : new byte[0];
        long start = System.nanoTime();
        enter(true);
        int first = data.position();
        int length = data.remaining();
        int total = length + termination.length;
        long deadline = start + saturatedSum(Deadline.nanos(timeout), Deadline.nanos(settings.lineTime(total)));
        int sent = 0;
        boolean tried = false; // a chunk went to the kernel: part of it may be out whatever happens next
        try {
            if (Thread.currentThread().isInterrupted()) {
                throw interruptedWrite(0, total);
            }
            if (unfinished == 0 && !asked) {
                dropStale();
            }
            endFragment(deadline, timeout);
            if (line.isOutOfStep() && (asks || asks(data))) {
                awaitSilence(deadline, timeout, total);
            }
            while (sent < total) {
                int n = Math.min(chunk, total - sent);
                if (Thread.currentThread().isInterrupted()) {
                    throw interruptedWrite(sent, total);
                }
                int fromData = Math.max(0, Math.min(n, length - sent));
                data.get(output, 0, fromData);
                System.arraycopy(termination, Math.max(0, sent - length), output, fromData, n - fromData);
                asks |= holdsQuestionMark(n);
                long chunkDeadline = System.nanoTime()
                        + saturatedSum(Deadline.nanos(timeout), Deadline.nanos(settings.lineTime(n)));
                tried = true;
                writeChunk(n, chunkDeadline - deadline < 0 ? chunkDeadline : deadline, timeout, sent, total);
                sent += n;
            }
        } finally {
            data.position(first + Math.min(sent, length)); // tells the caller how much went out
            if (sent == total) {
                unfinished = end ? 0 : unfinished + total;
                asked |= end;
                asks &= !end;
            } else if (tried || unfinished > 0) {
                // Every failure after a chunk went out closed the port: the instrument keeps the fragment
                line.fragment(asks);
                unfinished = 0;
                asks = false;
            }
            exit();
        }
    }

    /**
     * Drops the input that arrived before a message goes out while no question waits for its
     * answer: it cannot answer this message, so it belongs to questions given up on, whose debts it
     * pays (an answer that has begun to arrive leaves its rest owed). This keeps answers that a
     * stalled line releases all at once, later than {@code late_ms}, from the next questions. At most
     * {@link #STALE_LIMIT} bytes, so that a talking instrument cannot hold a write here.
     */
    private void dropStale() throws LabHalException {
        if (midMessage) { // a message read in part and left: its rest is not the next question's
            line.owe();
            midMessage = false;
        }
        waiting = false;
        long dropped = 0;
        while (true) {
            dropped += inputEnd - inputStart;
            discardCounting();
            inputStart = inputEnd = 0;
            if (dropped >= STALE_LIMIT || port.bytesAvailable() <= 0) {
                break;
            }
            fill("write"); // returns at once: bytes are there
        }
        if (partial) {
            if (line.owed(settings.late()) == 0) {
                line.owe();
            }
            partial = false;
        }
    }

    /**
     * The line is out of step ({@link LineDebt}) and a message that may draw an answer is about to go
     * out: throws away whatever comes until the line has been silent for {@code late_ms}, so that
     * nothing the instrument still owes can be taken for its answer. Fails at the write's deadline
     * with nothing sent. A command goes out at once: it draws no answer.
     */
    private void awaitSilence(long deadline, Duration timeout, int total) throws LabHalException {
        try {
            awaitSilence(deadline, timeout);
        } catch (IoTimeoutException | StepInterruptedException e) {
            if (unfinished == 0) {
                throw e; // nothing of the message went out
            }
            // the first part of the message went out before: the instrument holds it
            String why = cutShort(0, total, e instanceof IoTimeoutException ? "the line was out of step and did not "
                    + "fall silent for late_ms within the timeout; the port was closed"
                    : "the writing thread was interrupted while the line was out of step; the port was closed");
            end(Kind.LOST, why);
            throw new ConnectionLostException(describe() + ": " + why, e);
        }
    }

    private void awaitSilence(long deadline, Duration timeout) throws LabHalException {
        while (true) {
            // What the kernel holds arrived at some time since the last read: heard now (fill), so that
            // it restarts the silence instead of reaching the next question's read
            while (port.bytesAvailable() > 0 && System.nanoTime() - deadline < 0) { // a flood: until the deadline
                fill("write");
                inputStart = inputEnd = 0;
            }
            inputStart = inputEnd = 0; // what fill brought was heard (LineDebt.heard) and is dropped
            long needed = line.silenceNeeded(settings.late());
            if (needed == 0) {
                midMessage = false;
                partial = false;
                return;
            }
            if (System.nanoTime() - deadline >= 0) {
                long late = settings.late().toMillis();
                throw new IoTimeoutException(describe() + " is out of step (an answer lost its end or came late, "
                        + "or a cut query may draw an answer): nothing is sent until the line has been silent for "
                        + "late_ms (" + late + " ms), and it was silent for only "
                        + (late - TimeUnit.NANOSECONDS.toMillis(needed)) + " ms within " + Deadline.millis(timeout)
                        + " ms", timeout);
            }
            fill("write");
        }
    }

    /** Ends a fragment an earlier write left in the instrument with the write termination. */
    private void endFragment(long deadline, Duration timeout) throws LabHalException {
        byte[] termination = settings.writeTermination();
        if (termination.length == 0 || !line.hasFragment()) {
            return; // without a termination only the instrument's own timeout can end it
        }
        System.arraycopy(termination, 0, output, 0, termination.length);
        writeChunk(termination.length, deadline, timeout, 0, termination.length);
        line.fragmentEnded();
    }

    /** Whether the message may draw an answer: it holds a {@code ?}. */
    private static boolean asks(ByteBuffer data) {
        for (int i = data.position(); i < data.limit(); i++) {
            if (data.get(i) == '?') {
                return true;
            }
        }
        return false;
    }

    private boolean holdsQuestionMark(int n) {
        for (int i = 0; i < n; i++) {
            if (output[i] == '?') {
                return true;
            }
        }
        return false;
    }

    private void writeChunk(int n, long deadline, Duration timeout, int sent, int total) throws LabHalException {
        Thread writer = Thread.currentThread();
        ScheduledFuture<?> guard;
        try {
            guard = watchdog.scheduleWithFixedDelay(() -> {
                if (System.nanoTime() - deadline >= 0) {
                    end(Kind.WRITE_TIMED_OUT, cutShort(sent, total, lineRefused(timeout)));
                } else if (writer.isInterrupted()) {
                    end(Kind.WRITE_INTERRUPTED, cutShort(sent, total, "the writing thread was interrupted; the port "
                            + "was closed because a blocked serial write cannot be aborted otherwise"));
                }
            }, SLICE_MILLIS, SLICE_MILLIS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException stopping) {
            throwIfEnded(); // the transport is being deactivated
            throw new ConnectionLostException(describe() + ": the serial transport is stopping", null);
        }
        int written;
        try {
            written = port.writeBytes(output, n);
        } finally {
            guard.cancel(false);
        }
        if (written != n) {
            int errno = port.getLastErrorCode();
            awaitRelease(); // the watchdog may still be closing it: the step reports a port really closed
            synchronized (state) {
                if (closedKind == Kind.WRITE_TIMED_OUT) {
                    // counted here, not when the watchdog fired: the chunk then in flight may have gone out
                    throw new ConnectionLostException(describe() + " did not accept the rest of a message: "
                            + cutShort(sent, total, lineRefused(timeout)), null);
                }
                if (closedKind == Kind.WRITE_INTERRUPTED) {
                    throw new StepInterruptedException("Interrupted writing to " + describe() + ": " + closedBecause,
                            new InterruptedException("interrupt status was set"));
                }
            }
            throwIfEnded(); // closed under us
            throw failed("write", errno);
        }
    }

    private static String lineRefused(Duration timeout) {
        return "the line did not accept it within " + Deadline.millis(timeout) + " ms plus its line time; the port "
                + "was closed because a blocked serial write cannot be aborted otherwise";
    }

    /** Why a port on which a message went out in part is closed; {@code sent} counts this call's bytes. */
    private String cutShort(int sent, int total, String why) {
        return "a write was cut short after " + (unfinished + sent) + " of " + (unfinished + total) + " bytes ("
                + why + "), so the instrument does not join the next command to the fragment";
    }

    /** An interrupt between chunks: nothing of this message went out yet, or the port is out of step. */
    private StepInterruptedException interruptedWrite(int sent, int total) {
        String message = "Interrupted writing to " + describe();
        if (unfinished + sent > 0) {
            String why = cutShort(sent, total, "the writing thread was interrupted; the port was closed");
            end(Kind.LOST, why);
            message += ": " + why;
        }
        return new StepInterruptedException(message, new InterruptedException("interrupt status was set"));
    }

    private static long saturatedSum(long a, long b) {
        long sum = a + b;
        return sum < 0 ? Long.MAX_VALUE / 2 : Math.min(sum, Long.MAX_VALUE / 2);
    }

    @Override
    public boolean read(ByteBuffer into, Duration timeout) throws LabHalException {
        if (!into.hasRemaining()) {
            throw new IllegalArgumentException("read needs room for at least one byte");
        }
        long deadline = System.nanoTime() + Deadline.nanos(timeout);
        enter(false);
        try {
            if (asked) {
                asked = false;
                waiting = true;
            }
            while (waiting && line.owed(settings.late()) > 0) {
                discardOwed(deadline, timeout);
            }
            while (inputStart == inputEnd) {
                fill("read");
                if (inputStart == inputEnd && System.nanoTime() - deadline >= 0) {
                    throw new IoTimeoutException(describe() + (midMessage ? " sent part of an answer but not its end"
                            : " sent no answer") + " within " + Deadline.millis(timeout) + " ms", timeout);
                }
            }
            boolean ended = take(into);
            midMessage = !ended;
            if (ended) {
                if (waiting) {
                    waiting = false;
                    line.inStep();
                } else {
                    line.paid(); // a read with no question before it took a late answer, if one was owed
                }
            }
            return ended;
        } catch (IoTimeoutException e) {
            gaveUp(true);
            throw e;
        } catch (StepInterruptedException e) {
            gaveUp(false);
            throw e;
        } finally {
            exit();
        }
    }

    /**
     * A read gave up: its answer, or the rest of it, may still come and is discarded then. Only a
     * timeout while waiting for its own answer is a miss that can tell the line is out of step.
     */
    private void gaveUp(boolean timedOut) {
        if (waiting && timedOut) {
            line.missed(midMessage);
        } else if (waiting || midMessage) {
            line.owe();
        }
        waiting = false;
        midMessage = false;
    }

    /** Reads and throws away one whole message that an earlier read gave up on. */
    private void discardOwed(long deadline, Duration timeout) throws LabHalException {
        while (true) {
            while (inputStart == inputEnd) {
                fill("read");
                if (inputStart == inputEnd && System.nanoTime() - deadline >= 0) {
                    throw new IoTimeoutException(describe() + " sent neither the late answer to an earlier query nor "
                            + "this one's within " + Deadline.millis(timeout) + " ms", timeout);
                }
            }
            int end = indexOfTermination(inputStart, inputEnd);
            if (end >= 0) {
                inputStart = end + 1;
                line.paid();
                return;
            }
            inputStart = inputEnd;
        }
    }

    private int indexOfTermination(int from, int to) {
        byte termination = settings.readTermination();
        for (int i = from; i < to; i++) {
            if (input[i] == termination) {
                return i;
            }
        }
        return -1;
    }

    /** Moves buffered bytes up to and including the read termination into {@code into}. */
    private boolean take(ByteBuffer into) {
        int limit = Math.min(inputEnd, inputStart + into.remaining());
        byte termination = settings.readTermination();
        int end = inputStart;
        boolean ended = false;
        while (end < limit) {
            if (input[end++] == termination) {
                ended = true;
                break;
            }
        }
        into.put(input, inputStart, end - inputStart);
        inputStart = end;
        return ended;
    }

    /**
     * Waits at most one slice for input into the empty buffer.
     *
     * @throws ConnectionLostException when the connection ended or the device hung up
     * @throws StepInterruptedException when the calling thread is interrupted; its interrupt stays set
     */
    private void fill(String step) throws LabHalException {
        if (Thread.currentThread().isInterrupted()) {
            // Interruption stays set: the caller's code above us should see it too.
            String message = "Interrupted during " + step + " on " + describe();
            if (midMessage) {
                String why = "the reading thread was interrupted half way through a message; the port was closed "
                        + "because the rest would reach a later read";
                end(Kind.LOST, why);
                message += ": " + why;
            }
            throw new StepInterruptedException(message, new InterruptedException("interrupt status was set"));
        }
        throwIfEnded();
        int n = port.readBytes(input, input.length);
        if (n < 0) {
            int errno = port.getLastErrorCode();
            throwIfEnded();
            throw failed(step, errno);
        }
        inputStart = 0;
        inputEnd = n;
        if (n > 0 && line.isOutOfStep()) {
            line.heard();
        }
    }

    /**
     * Discards what is pending: this connection's buffer, the kernel's input queue, and whatever
     * the instrument still sends until the line has been silent for the resource's {@code drain_ms}
     * (default 100 ms). A serial line has no device clear. Every message end in what is discarded
     * pays an answer owed to a read that gave up on it; answers still owed when the line falls quiet
     * are discarded by later reads when they come, and an answer of which part arrived before the
     * quiet leaves its rest owed (see {@link LineDebt}). The kernel's output queue is left alone: a
     * write returns when the kernel has its bytes, and throwing away the ones not yet on the line
     * would cut a message short. {@code timeout} bounds the talking: an instrument still sending
     * {@code timeout} after its first byte here cannot be put in step, nor can a message of which
     * part was sent; the port is then closed and {@link ConnectionLostException} says why. The whole
     * call therefore ends within {@code timeout} plus twice {@code drain_ms}.
     */
    @Override
    public void clear(Duration timeout) throws LabHalException {
        enter(false);
        try {
            if (unfinished > 0) {
                String why = "a message was left unfinished after " + unfinished + " bytes went out; a serial line "
                        + "cannot take them back, so the port was closed and the next connection ends the fragment "
                        + "before its first command";
                line.fragment(asks);
                unfinished = 0;
                asks = false;
                end(Kind.LOST, why);
                throw new ConnectionLostException(describe() + ": " + why, null);
            }
            asked = false;
            if (waiting || midMessage) { // gave up on an answer without a timeout (a malformed one, say)
                line.owe();
                waiting = false;
                midMessage = false;
            }
            drainToQuiet(timeout, true);
        } catch (StepInterruptedException e) {
            if (partial) {
                line.owe();
                partial = false;
            }
            throw e;
        } finally {
            exit();
        }
    }

    /**
     * Settles a freshly opened port: throws away stale input when nothing is owed; drains to quiet
     * when the last connection on the device ended while the instrument kept sending.
     *
     * @throws LabHalException when the port cannot be flushed or the instrument is still sending
     */
    void settle(Duration timeout) throws LabHalException {
        enter(false);
        try {
            if (line.isClean()) {
                // A new conversation starts clean: bytes that arrived while nobody listened are stale.
                port.flushIOBuffers();
            } else if (line.isUnsettled()) {
                drainToQuiet(timeout, false);
                line.settled();
            }
        } finally {
            exit();
        }
    }

    /**
     * Reads and discards until the line has been silent for {@code drain_ms}, counting message ends
     * against the debt when {@code count}; closes the port when the instrument talks for longer than
     * {@code timeout} without a pause.
     */
    private void drainToQuiet(Duration timeout, boolean count) throws LabHalException {
        long talk = Deadline.nanos(timeout);
        long quiet = settings.drainQuiet().toNanos();
        long quietUntil = System.nanoTime() + quiet;
        long firstByte = 0;
        long drained = inputEnd - inputStart;
        if (count) {
            discardCounting();
        }
        inputStart = inputEnd = 0;
        while (System.nanoTime() - quietUntil < 0) {
            fill("clear");
            if (inputEnd > 0) {
                long now = System.nanoTime();
                if (firstByte == 0) {
                    firstByte = now;
                }
                drained += inputEnd;
                if (count) {
                    discardCounting();
                }
                inputStart = inputEnd = 0;
                // A silence of drain_ms ends the loop, so everything since the first byte is one burst
                if (now - firstByte > talk) {
                    line.unsettled();
                    partial = false;
                    String why = "still sending after " + drained + " bytes drained (it talked for "
                            + Deadline.millis(timeout) + " ms without a " + settings.drainQuiet().toMillis()
                            + " ms pause); the port was closed because its input cannot be put in step";
                    end(Kind.LOST, why);
                    throw new ConnectionLostException(describe() + ": " + why, null);
                }
                quietUntil = now + quiet;
            }
        }
        if (partial) {
            if (line.owed(settings.late()) == 0) {
                line.owe(); // a message began and its end did not come before the quiet: the rest will
            }
            partial = false;
        }
    }

    /** Discards the buffered input; each message end in it pays an owed answer. */
    private void discardCounting() {
        int from = inputStart;
        int end;
        while ((end = indexOfTermination(from, inputEnd)) >= 0) {
            line.paid();
            from = end + 1;
        }
        partial = from < inputEnd;
    }

    /** @return false once closed, or once the port failed or was closed out of step */
    @Override
    public boolean isOpen() {
        synchronized (state) {
            return closedBecause == null;
        }
    }

    @Override
    public String describe() {
        return address.canonical() + " (serial " + device + ", " + settings.summary() + ")";
    }

    /** Closes the port, at once or, while a read is inside the kernel, when that read returns. */
    @Override
    public void close() {
        end(Kind.CLOSED, "it was closed");
    }

    /** Completes when the port is really closed. */
    CompletableFuture<Void> released() {
        return released;
    }

    /** Whether {@link #close()} was called or the connection failed. */
    boolean ended() {
        synchronized (state) {
            return closedBecause != null;
        }
    }

    private void enter(boolean write) throws LabHalException {
        // A free lock is taken whatever the interrupt flag says: the step itself checks the flag where
        // it knows whether a message is half done (and the port out of step)
        if (!io.tryLock()) {
            try {
                io.lockInterruptibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StepInterruptedException("Interrupted waiting to use " + describe(), e);
            }
        }
        synchronized (state) {
            if (closedBecause == null) {
                busy = true;
                writing = write;
                return;
            }
        }
        io.unlock();
        throw closedException();
    }

    private void exit() {
        boolean release;
        synchronized (state) {
            busy = false;
            writing = false;
            release = closedBecause != null && !portReleased;
            portReleased |= release;
        }
        io.unlock();
        if (release) {
            release();
        }
    }

    /**
     * Waits, whatever the interrupt flag says, until a port closed by another thread (the write
     * watchdog) is really released, so that a failed step leaves the device free for the next opener.
     * Bounded: a close that hangs in the driver is not waited for longer than {@link #RELEASE_WAIT}.
     */
    private void awaitRelease() {
        synchronized (state) {
            if (closedBecause == null) {
                return;
            }
        }
        Uninterruptibly.run(() -> {
            try {
                released.get(RELEASE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException | ExecutionException | TimeoutException ignored) {
                // reported by the step; the port closes when the driver lets it
            }
        });
    }

    /** Ends the connection once; the first reason wins. */
    private void end(Kind kind, String reason) {
        boolean release;
        synchronized (state) {
            if (closedBecause != null) {
                return;
            }
            closedBecause = reason;
            closedKind = kind;
            // A reader leaves within one slice and releases the port itself; a writer may never leave.
            release = (!busy || writing) && !portReleased;
            portReleased |= release;
        }
        if (release) {
            release();
        }
    }

    private void release() {
        try {
            port.closePort();
        } finally {
            released.complete(null);
            onRelease.accept(this);
        }
    }

    /** Fails a step that finds the connection ended while it was running. */
    private void throwIfEnded() throws ConnectionLostException {
        synchronized (state) {
            if (closedBecause != null) {
                // Lost, not SessionClosed: the session layer knows why it closed us and says so itself.
                throw new ConnectionLostException(describe() + " ended during the step: " + closedBecause, null);
            }
        }
    }

    /** Fails a step started after the connection ended. */
    private LabHalException closedException() {
        synchronized (state) {
            String message = describe() + " is closed: " + closedBecause;
            return closedKind == Kind.CLOSED ? new SessionClosedException(message)
                    : new ConnectionLostException(message, null);
        }
    }

    /** A failed native call: the device went away (hang-up, unplugged) or refused the operation. */
    private ConnectionLostException failed(String step, int errno) {
        String why = switch (errno) {
            case 5 -> "the device hung up (EIO): unplugged, or the other side of the pseudo-terminal closed";
            case 9 -> "the port is no longer open (EBADF)";
            case 6, 19 -> "the device is gone (ENXIO/ENODEV)";
            default -> "error " + errno;
        };
        end(Kind.LOST, step + " failed: " + why);
        return new ConnectionLostException(describe() + ": " + step + " failed: " + why, null);
    }

}
