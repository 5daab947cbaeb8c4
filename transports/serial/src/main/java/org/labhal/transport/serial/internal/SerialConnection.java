package org.labhal.transport.serial.internal;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.SessionClosedException;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.transport.Connection;

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
 * <p>A step woken by {@code close()}, by a hang-up or by a failed write ends with
 * {@link ConnectionLostException}; a step started after {@code close()} with
 * {@link SessionClosedException}; a step on a connection that failed earlier with
 * {@link ConnectionLostException} again.
 */
final class SerialConnection implements Connection {
    /** termios VTIME counts tenths of a second: the finest read timeout POSIX offers. */
    static final int SLICE_MILLIS = 100;
    private static final int BUFFER = 8192;
    /** Bytes per write call: small enough for per-chunk deadlines, large enough for few system calls. */
    private static final int CHUNK = 4096;

    private final ResourceAddress address;
    private final String device;
    private final SerialPort port;
    private final LineSettings settings;
    private final ScheduledExecutorService watchdog;
    private final Consumer<SerialConnection> onRelease;
    private final CompletableFuture<Void> released = new CompletableFuture<>();

    /** Held by the one step using the port; {@link #close()} never takes it. */
    private final ReentrantLock io = new ReentrantLock();
    // Input bytes received and not yet handed out; guarded by io.
    private final byte[] input = new byte[BUFFER];
    private int inputStart;
    private int inputEnd;
    // Bytes on their way out (jSerialComm writes from arrays); guarded by io.
    private final byte[] output = new byte[CHUNK];

    private final Object state = new Object();
    // Guarded by state.
    private boolean busy;
    private boolean writing;
    private boolean portReleased;
    private String closedBecause;
    private Kind closedKind;

    /** Why the connection ended, which decides what later calls throw. */
    private enum Kind { CLOSED, LOST, WRITE_TIMED_OUT }

    SerialConnection(ResourceAddress address, String device, SerialPort port, LineSettings settings,
            ScheduledExecutorService watchdog, Consumer<SerialConnection> onRelease) {
        this.address = address;
        this.device = device;
        this.port = port;
        this.settings = settings;
        this.watchdog = watchdog;
        this.onRelease = onRelease;
    }

    /**
     * Writes in chunks of at most {@link #CHUNK} bytes, each with its own deadline: the I/O timeout
     * plus the time the line needs to send that chunk at its baud rate, so that a long message on a
     * slow line is not mistaken for a stuck one.
     */
    @Override
    public void write(ByteBuffer data, boolean end, Duration timeout) throws LabHalException {
        byte[] termination = end ? settings.writeTermination() : new byte[0];
        enter(true);
        try {
            int length = data.remaining();
            int total = length + termination.length;
            for (int sent = 0; sent < total; ) {
                int n = Math.min(CHUNK, total - sent);
                int fromData = Math.max(0, Math.min(n, length - sent));
                data.get(output, 0, fromData);
                System.arraycopy(termination, Math.max(0, sent - length), output, fromData, n - fromData);
                writeChunk(n, timeout.plus(settings.lineTime(n)));
                sent += n;
            }
        } finally {
            exit();
        }
    }

    private void writeChunk(int n, Duration timeout) throws LabHalException {
        ScheduledFuture<?> guard;
        try {
            guard = watchdog.schedule(() -> end(Kind.WRITE_TIMED_OUT, "a write of " + n + " bytes did not complete "
                    + "within " + timeout.toMillis() + " ms, so the port was given up"), nanos(timeout),
                    TimeUnit.NANOSECONDS);
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
            synchronized (state) {
                if (closedKind == Kind.WRITE_TIMED_OUT) {
                    throw new IoTimeoutException(describe() + " did not accept " + n + " bytes within "
                            + timeout.toMillis() + " ms (peer not reading or flow control holding); the port "
                            + "was closed because a blocked serial write cannot be aborted otherwise", timeout);
                }
            }
            throwIfEnded(); // closed under us
            throw failed("write", errno);
        }
    }

    @Override
    public boolean read(ByteBuffer into, Duration timeout) throws LabHalException {
        if (!into.hasRemaining()) {
            throw new IllegalArgumentException("read needs room for at least one byte");
        }
        enter(false);
        try {
            long deadline = System.nanoTime() + nanos(timeout);
            while (inputStart == inputEnd) {
                fill("read");
                if (inputStart == inputEnd && System.nanoTime() - deadline >= 0) {
                    throw new IoTimeoutException(describe() + " sent no answer within " + timeout.toMillis() + " ms",
                            timeout);
                }
            }
            return take(into);
        } finally {
            exit();
        }
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
            throw new StepInterruptedException("Interrupted during " + step + " on " + describe(),
                    new InterruptedException());
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
    }

    /**
     * Discards everything pending: the kernel's input and output queues, this connection's buffer,
     * and whatever the instrument still sends until the line has been silent for the resource's
     * {@code drain_ms} (default 100 ms). Serial lines have no device clear, so a late answer that
     * starts after the drain ends can still arrive; set {@code drain_ms} above the instrument's
     * longest answer time. Fails with {@link IoTimeoutException} when the instrument talks for longer
     * than {@code timeout} without such a pause.
     */
    @Override
    public void clear(Duration timeout) throws LabHalException {
        enter(false);
        try {
            if (!port.flushIOBuffers()) {
                int errno = port.getLastErrorCode();
                throwIfEnded();
                throw failed("flush", errno);
            }
            inputStart = inputEnd = 0;
            long quiet = settings.drainQuiet().toNanos();
            long quietUntil = System.nanoTime() + quiet;
            long firstByte = 0;
            boolean talking = false;
            while (System.nanoTime() - quietUntil < 0) {
                fill("clear");
                if (inputEnd > 0) {
                    long now = System.nanoTime();
                    if (!talking) {
                        talking = true;
                        firstByte = now;
                    }
                    // A silence of drain_ms ends the loop, so everything since the first byte is one burst.
                    if (now - firstByte > nanos(timeout)) {
                        throw new IoTimeoutException(describe() + " kept sending for " + timeout.toMillis()
                                + " ms without a " + settings.drainQuiet().toMillis() + " ms pause; its input could "
                                + "not be drained", timeout);
                    }
                    quietUntil = now + quiet;
                    inputStart = inputEnd = 0;
                }
            }
        } finally {
            exit();
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
        try {
            io.lockInterruptibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StepInterruptedException("Interrupted waiting to use " + describe(), e);
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

    /** Nanoseconds of a timeout, saturated so that huge durations mean "very long", not overflow. */
    private static long nanos(Duration timeout) {
        return timeout.compareTo(Duration.ofDays(365)) > 0 ? Duration.ofDays(365).toNanos()
                : Math.max(0, timeout.toNanos());
    }
}
