package org.labhal.transport.vxi11.internal;

import static org.labhal.transport.vxi11.internal.Vxi11Protocol.*;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.transport.vxi11.Vxi11AbortedException;
import org.labhal.transport.vxi11.Vxi11Error;
import org.labhal.transport.vxi11.Vxi11Exception;
import org.labhal.transport.vxi11.Vxi11Link;

/**
 * One VXI-11 link: a TCP connection to the instrument's core channel carrying one link made by
 * create_link. Each operation is one RPC, serialised by a lock; the instrument enforces the I/O
 * timeout sent with it (io_timeout) and the socket waits a little longer for the reply
 * ({@link #GRACE}), so that a silent instrument still gives an {@link IoTimeoutException} in time.
 * A reply that arrives after its call gave up is recognised by its xid and dropped.
 *
 * <p>Threads: see {@link Vxi11Link}. {@link #close()} with a call in progress first sends
 * device_abort on the {@link AbortChannel} and gives the call {@link #ABORT_WAIT} to end; it then
 * sends destroy_link when no call is in progress any more (bounded by {@link #DESTROY_WAIT}) and
 * closes the socket, which wakes a call still blocked. An interrupted caller does the same itself.
 */
final class Vxi11Connection implements Vxi11Link {
    /** How much longer than the instrument's own timeout the client waits for a reply. */
    static final Duration GRACE = Duration.ofSeconds(2);
    /** How long close() waits for destroy_link's reply. */
    static final Duration DESTROY_WAIT = Duration.ofMillis(500);
    /**
     * How long closing waits for device_abort's answer (connect included), and then for the aborted
     * call to end: short, so that a dead abort channel cannot hold up a close.
     */
    static final Duration ABORT_WAIT = Duration.ofMillis(500);
    /** Reply overhead beyond device_read data: RPC header, error, reason, opaque length. */
    private static final int REPLY_OVERHEAD = 1024;

    private final ResourceAddress address;
    private final String resource;
    private final String device;
    private final Vxi11Settings settings;
    private final Consumer<Vxi11Connection> onClosed;
    private final ReentrantLock calls = new ReentrantLock();

    private final Object state = new Object();
    private Socket socket; // guarded by state: the socket being connected, so close() can abort it
    private String closedBecause; // guarded by state; set once
    private volatile LabHalException abortFailure; // why closing could not abort the call in progress

    // Set by connect(), before the connection is handed out
    private volatile RpcClient rpc;
    private volatile AbortChannel abortChannel; // null when the instrument offers none
    private volatile int lid;
    private int maxRecvSize;
    private String remote = "";

    Vxi11Connection(ResourceAddress address, Vxi11Settings settings, Consumer<Vxi11Connection> onClosed) {
        this.address = address;
        this.resource = address.canonical();
        this.device = address.lanDevice().orElse("inst0");
        this.settings = settings;
        this.onClosed = onClosed;
    }

    // ---------------------------------------------------------------- opening

    /**
     * Finds the core port (portmapper unless {@code port=} was given), connects and creates the link.
     * Name resolution is not bounded by {@code timeout}: the JDK offers no timeout for it.
     */
    void connect(Duration timeout) throws LabHalException {
        long deadline = System.nanoTime() + nanos(timeout);
        String host = address.host().orElseThrow();
        String literal = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        InetAddress ip;
        try {
            ip = InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new LabHalException("Cannot open " + resource + ": unknown host '" + literal + "'", e);
        }
        int port = settings.corePort();
        if (port == 0) {
            InetSocketAddress portmapper = new InetSocketAddress(ip, settings.portmapperPort());
            try {
                port = Portmapper.getPort(portmapper, CORE_PROGRAM, CORE_VERSION, left(deadline));
            } catch (SocketTimeoutException e) {
                throw new IoTimeoutException("Cannot open " + resource + ": the portmapper at " + portmapper
                        + " did not answer within " + timeout.toMillis() + " ms", timeout);
            } catch (ConnectException e) {
                throw new LabHalException("Cannot open " + resource + ": no portmapper at " + portmapper + " ("
                        + e.getMessage() + "); give the core channel's port with the option port=<port>", e);
            } catch (Portmapper.NotRegisteredException e) {
                throw new LabHalException("Cannot open " + resource + ": " + e.getMessage()
                        + ", so it serves no VXI-11 instrument", e);
            } catch (InterruptedIOException e) {
                throw interruptedBefore("the portmapper at " + portmapper + " answered");
            } catch (IOException | RpcRejectedException e) {
                throw new LabHalException("Cannot open " + resource + ": the portmapper lookup at " + portmapper
                        + " failed: " + e.getMessage(), e);
            }
        }
        InetSocketAddress target = new InetSocketAddress(ip, port);
        try {
            rpc = RpcClient.connect(target, left(deadline), settings.maxRead() + REPLY_OVERHEAD, s -> {
                synchronized (state) {
                    socket = s;
                }
            });
        } catch (SocketTimeoutException e) {
            throw new IoTimeoutException("Cannot open " + resource + ": " + target + " did not accept the connection "
                    + "within " + timeout.toMillis() + " ms", timeout);
        } catch (IOException e) {
            throw closedOr(new LabHalException("Cannot open " + resource + ": cannot connect to the VXI-11 core "
                    + "channel at " + target + " (" + e.getMessage() + ")", e));
        }
        remote = target.toString();
        synchronized (state) {
            if (closedBecause != null) {
                rpc.close();
                throw closedFailure(null);
            }
        }
        enter(CREATE_LINK);
        try {
            RpcClient.Request request = rpc.request(CORE_PROGRAM, CORE_VERSION, CREATE_LINK, 16 + device.length());
            request.args().putInt(System.identityHashCode(this)).putBool(false).putInt(0).putString(device);
            Duration wait = left(deadline);
            XdrDecoder reply = call(CREATE_LINK, request, wait);
            int error = reply.getInt();
            int id = reply.getInt();
            long abortPort = reply.getUnsignedInt();
            long max = reply.getUnsignedInt();
            check(CREATE_LINK, error, wait, " for device '" + device + "'");
            if (max < 1) {
                throw lose("create_link answered a maxRecvSize of 0", null);
            }
            lid = id;
            maxRecvSize = (int) Math.min(max, 1 << 24);
            // 0 means no abort channel; a value beyond 16 bits is no port either, and not worth
            // refusing an otherwise working link for.
            if (abortPort > 0 && abortPort <= 65535) {
                abortChannel = new AbortChannel(new InetSocketAddress(ip, (int) abortPort), id);
            }
        } catch (XdrException e) {
            throw lose("sent a malformed create_link reply: " + e.getMessage(), e);
        } finally {
            calls.unlock();
        }
    }

    // ---------------------------------------------------------------- the Connection operations

    @Override
    public void write(ByteBuffer data, boolean end, Duration timeout) throws LabHalException {
        long deadline = System.nanoTime() + nanos(timeout);
        enter(DEVICE_WRITE);
        try {
            do {
                int chunk = Math.min(data.remaining(), maxRecvSize);
                boolean last = chunk == data.remaining();
                Duration io = left(deadline);
                RpcClient.Request request = rpc.request(CORE_PROGRAM, CORE_VERSION, DEVICE_WRITE, 24 + chunk);
                ByteBuffer slice = data.duplicate();
                slice.limit(slice.position() + chunk);
                request.args().putInt(lid).putUnsignedInt(millis(io)).putUnsignedInt(millis(settings.lockWait()))
                        .putInt(lockFlags() | (end && last ? FLAG_END : 0)).putOpaque(slice);
                XdrDecoder reply = call(DEVICE_WRITE, request, io.plus(settings.lockWait()).plus(GRACE));
                int error = reply.getInt();
                long size = reply.getUnsignedInt();
                check(DEVICE_WRITE, error, io, "");
                if (size > chunk) {
                    throw lose("device_write answered that it took " + size + " of " + chunk + " bytes", null);
                }
                if (size == 0 && chunk > 0) {
                    throw new Vxi11Exception(resource + ": device_write took none of " + chunk + " bytes",
                            "device_write", ERR_IO);
                }
                data.position(data.position() + (int) size);
            } while (data.hasRemaining());
        } catch (XdrException e) {
            throw lose("sent a malformed device_write reply: " + e.getMessage(), e);
        } finally {
            calls.unlock();
        }
    }

    @Override
    public boolean read(ByteBuffer into, Duration timeout) throws LabHalException {
        long deadline = System.nanoTime() + nanos(timeout);
        enter(DEVICE_READ);
        try {
            while (true) {
                int requestSize = Math.min(into.remaining(), settings.maxRead());
                Duration io = left(deadline);
                RpcClient.Request request = rpc.request(CORE_PROGRAM, CORE_VERSION, DEVICE_READ, 24);
                request.args().putInt(lid).putUnsignedInt(requestSize).putUnsignedInt(millis(io))
                        .putUnsignedInt(millis(settings.lockWait()))
                        .putInt(lockFlags() | (settings.termChar() >= 0 ? FLAG_TERMCHRSET : 0))
                        .putInt(Math.max(0, settings.termChar()));
                XdrDecoder reply = call(DEVICE_READ, request, io.plus(settings.lockWait()).plus(GRACE));
                int error = reply.getInt();
                int reason = reply.getInt();
                check(DEVICE_READ, error, io, "");
                ByteBuffer window = into.duplicate();
                window.limit(window.position() + requestSize);
                int n = reply.getOpaqueInto(window);
                into.position(into.position() + n);
                boolean ended = (reason & REASON_END) != 0 || settings.termChar() >= 0 && (reason & REASON_CHR) != 0;
                if (n > 0 || ended) {
                    return ended;
                }
                if (System.nanoTime() - deadline >= 0) { // nothing and no end: the instrument's way of waiting
                    throw new IoTimeoutException(resource + ": device_read delivered no data within "
                            + timeout.toMillis() + " ms", timeout);
                }
            }
        } catch (XdrException e) {
            throw lose("sent a malformed device_read reply: " + e.getMessage(), e);
        } finally {
            calls.unlock();
        }
    }

    /** device_clear: the instrument empties its input and output buffers. */
    @Override
    public void clear(Duration timeout) throws LabHalException {
        generic(DEVICE_CLEAR, timeout);
    }

    // ---------------------------------------------------------------- the Vxi11Link operations

    @Override
    public void lock(Duration wait) throws LabHalException {
        enter(DEVICE_LOCK);
        try {
            RpcClient.Request request = rpc.request(CORE_PROGRAM, CORE_VERSION, DEVICE_LOCK, 12);
            request.args().putInt(lid).putInt(wait.isZero() || wait.isNegative() ? 0 : FLAG_WAITLOCK)
                    .putUnsignedInt(millis(wait));
            XdrDecoder reply = call(DEVICE_LOCK, request, wait.plus(GRACE));
            check(DEVICE_LOCK, reply.getInt(), wait, " after waiting " + Math.max(0, wait.toMillis()) + " ms");
        } catch (XdrException e) {
            throw lose("sent a malformed device_lock reply: " + e.getMessage(), e);
        } finally {
            calls.unlock();
        }
    }

    /** VXI-11 has no shared locks: a key is refused before anything is sent. */
    @Override
    public void lockInstrument(Duration timeout, String sharedKey) throws LabHalException {
        if (sharedKey != null) {
            throw new IllegalArgumentException(resource + ": VXI-11 device_lock is exclusive only; cannot take the "
                    + "shared lock '" + sharedKey + "' (use an exclusive lock, or HiSLIP for shared locks)");
        }
        lock(timeout);
    }

    /** device_unlock answers at once; the timeout is not needed. */
    @Override
    public void unlockInstrument(Duration timeout) throws LabHalException {
        unlock();
    }

    @Override
    public void unlock() throws LabHalException {
        enter(DEVICE_UNLOCK);
        try {
            RpcClient.Request request = rpc.request(CORE_PROGRAM, CORE_VERSION, DEVICE_UNLOCK, 4);
            request.args().putInt(lid);
            XdrDecoder reply = call(DEVICE_UNLOCK, request, GRACE);
            check(DEVICE_UNLOCK, reply.getInt(), GRACE, "");
        } catch (XdrException e) {
            throw lose("sent a malformed device_unlock reply: " + e.getMessage(), e);
        } finally {
            calls.unlock();
        }
    }

    @Override
    public int readStatusByte(Duration timeout) throws LabHalException {
        return generic(DEVICE_READSTB, timeout) & 0xFF;
    }

    @Override
    public void trigger(Duration timeout) throws LabHalException {
        generic(DEVICE_TRIGGER, timeout);
    }

    @Override
    public void remote(Duration timeout) throws LabHalException {
        generic(DEVICE_REMOTE, timeout);
    }

    @Override
    public void local(Duration timeout) throws LabHalException {
        generic(DEVICE_LOCAL, timeout);
    }

    /**
     * A call with Device_GenericParms; returns the status byte for device_readstb, else 0.
     */
    private int generic(int procedure, Duration timeout) throws LabHalException {
        enter(procedure);
        try {
            RpcClient.Request request = rpc.request(CORE_PROGRAM, CORE_VERSION, procedure, 16);
            request.args().putInt(lid).putInt(lockFlags()).putUnsignedInt(millis(settings.lockWait()))
                    .putUnsignedInt(millis(timeout));
            XdrDecoder reply = call(procedure, request, timeout.plus(settings.lockWait()).plus(GRACE));
            check(procedure, reply.getInt(), timeout, "");
            return procedure == DEVICE_READSTB ? reply.getInt() : 0;
        } catch (XdrException e) {
            throw lose("sent a malformed " + name(procedure) + " reply: " + e.getMessage(), e);
        } finally {
            calls.unlock();
        }
    }

    @Override
    public void abort(Duration timeout) throws LabHalException {
        synchronized (state) {
            if (closedBecause != null) {
                throw closedFailure(null);
            }
        }
        sendAbort(timeout);
    }

    /** device_abort on the abort channel; does not take {@code calls}, which the aborted call holds. */
    private void sendAbort(Duration timeout) throws LabHalException {
        AbortChannel channel = abortChannel;
        if (channel == null) {
            throw new LabHalException(resource + ": cannot send device_abort: the instrument offers no abort "
                    + "channel (create_link answered abortPort 0)");
        }
        int error;
        try {
            error = channel.abort(timeout);
        } catch (SocketTimeoutException e) {
            throw new IoTimeoutException(resource + ": the abort channel at " + channel.target() + " did not "
                    + "connect and answer device_abort within " + timeout.toMillis() + " ms", timeout);
        } catch (InterruptedIOException e) {
            throw interruptedBefore("device_abort was answered");
        } catch (IOException e) {
            throw new LabHalException(resource + ": device_abort failed on the abort channel at "
                    + channel.target() + ": " + e.getMessage(), e);
        } catch (RpcRejectedException e) {
            throw new LabHalException(resource + ": the instrument refused device_abort on the abort channel at "
                    + channel.target() + ": " + e.getMessage(), e);
        }
        if (error != ERR_NONE) {
            throw failure(DEVICE_ABORT, error, timeout, "");
        }
    }

    /**
     * Aborts the call another thread has in progress, for closing: never throws, never waits longer
     * than {@link #ABORT_WAIT}.
     *
     * @return whether the instrument accepted the abort, so the call will end soon
     */
    private boolean abortForClose() {
        try {
            sendAbort(ABORT_WAIT);
            return true;
        } catch (LabHalException | RuntimeException e) {
            abortFailure = e instanceof LabHalException known ? known
                    : new LabHalException(resource + ": device_abort failed: " + e, e);
            return false;
        }
    }

    @Override
    public String device() {
        return device;
    }

    @Override
    public int maxReceiveSize() {
        return maxRecvSize;
    }

    // ---------------------------------------------------------------- RPC plumbing

    private int lockFlags() {
        return settings.lockWait().isZero() ? 0 : FLAG_WAITLOCK;
    }

    /** Waits for the call before this one to finish; an interrupt ends the wait, or prevents it. */
    private void enter(int procedure) throws LabHalException {
        if (Thread.currentThread().isInterrupted()) {
            throw interruptedBefore(name(procedure) + " was sent; the link stays open");
        }
        try {
            calls.lockInterruptibly();
        } catch (InterruptedException e) {
            throw interruptedBefore(name(procedure) + " was sent, waiting for another call on the link to end; "
                    + "the link stays open");
        }
    }

    /** The caller was interrupted before anything was sent: the link is untouched. */
    private StepInterruptedException interruptedBefore(String what) {
        Thread.currentThread().interrupt();
        return new StepInterruptedException(resource + ": interrupted before " + what,
                new InterruptedException("interrupted before " + what));
    }

    /** Sends one call and maps every failure to the exception callers expect; the caller holds {@code calls}. */
    private XdrDecoder call(int procedure, RpcClient.Request request, Duration replyWait) throws LabHalException {
        synchronized (state) {
            if (closedBecause != null) {
                throw closedFailure(null);
            }
        }
        if (Thread.currentThread().isInterrupted()) {
            throw interruptedBefore(name(procedure) + " was sent; the link stays open");
        }
        try {
            return rpc.call(request, replyWait);
        } catch (RpcClient.WriteTimeoutException e) {
            lose(e.getMessage(), e);
            throw new IoTimeoutException(resource + ": " + name(procedure) + ": " + e.getMessage()
                    + "; the link was closed", replyWait);
        } catch (SocketTimeoutException e) {
            throw closedOr(new IoTimeoutException(resource + ": no reply to " + name(procedure) + " within "
                    + replyWait.toMillis() + " ms", replyWait));
        } catch (InterruptedIOException e) {
            throw interrupted(procedure, request);
        } catch (XdrException e) {
            throw lose("sent a malformed reply to " + name(procedure) + ": " + e.getMessage(), e);
        } catch (EOFException e) {
            throw lose(e.getMessage() + " during " + name(procedure), e);
        } catch (IOException e) {
            throw lose("the link failed during " + name(procedure) + ": " + e, e);
        } catch (RpcRejectedException e) {
            throw new LabHalException(resource + ": the instrument refused " + name(procedure) + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * The caller was interrupted while its call was outstanding on the instrument: aborts the call,
     * waits briefly for its (error 23) reply so that the instrument has let go of it, then destroys
     * the link and closes the connection, as an interruptible channel would.
     */
    private StepInterruptedException interrupted(int procedure, RpcClient.Request request) {
        Thread.interrupted(); // cleared for the bounded waits below; set again before returning
        String what = name(procedure);
        StepInterruptedException failure = new StepInterruptedException(resource + ": interrupted during " + what
                + "; the call was aborted and the link closed", new InterruptedException("interrupted during " + what));
        try {
            boolean aborted;
            try {
                sendAbort(ABORT_WAIT);
                aborted = true;
            } catch (LabHalException e) {
                failure.addSuppressed(e);
                aborted = false;
            }
            if (aborted) {
                try {
                    int error = rpc.reply(request, ABORT_WAIT).getInt();
                    if (error == ERR_ABORT) {
                        failure.addSuppressed(abortedException(procedure, resource + ": " + what
                                + " was ended by device_abort (VXI-11 error 23)"));
                    }
                } catch (IOException | RpcRejectedException e) {
                    // no reply in time, or none at all: destroy_link or the close below ends the call
                }
            }
            shutDown("closed because the caller was interrupted during " + what, true);
        } finally {
            Thread.currentThread().interrupt();
        }
        return failure;
    }

    /**
     * Turns a non-zero VXI-11 error code into its exception. On a link closed meanwhile it is a
     * {@link ConnectionLostException} with that exception as its cause: e.g. error 23 from the abort
     * that closing sent.
     */
    private void check(int procedure, int error, Duration timeout, String detail) throws LabHalException {
        if (error != ERR_NONE) {
            throw closedOr(failure(procedure, error, timeout, detail));
        }
    }

    private LabHalException failure(int procedure, int error, Duration timeout, String detail) {
        Vxi11Error known = Vxi11Error.of(error);
        String meaning = known == Vxi11Error.UNKNOWN ? "an error code VXI-11 does not define" : known.meaning();
        String message = resource + ": " + name(procedure) + " failed with VXI-11 error " + error + " (" + meaning
                + ")" + detail;
        if (error == ERR_IO_TIMEOUT) {
            return new IoTimeoutException(message + " after " + timeout.toMillis() + " ms", timeout);
        }
        if (error == ERR_ABORT) {
            return abortedException(procedure, message);
        }
        return new Vxi11Exception(message, name(procedure), error);
    }

    private static Vxi11AbortedException abortedException(int procedure, String message) {
        return new Vxi11AbortedException(message, name(procedure));
    }

    // ---------------------------------------------------------------- closing

    /** The link is unusable (broken, or out of step): closes it for good. */
    private ConnectionLostException lose(String why, Throwable cause) {
        synchronized (state) {
            if (closedBecause != null) {
                return closedFailure(cause);
            }
        }
        shutDown("lost: " + why, false);
        return new ConnectionLostException(resource + ": " + why + "; the link was closed", cause);
    }

    private LabHalException closedOr(LabHalException failure) {
        synchronized (state) {
            return closedBecause == null ? failure : closedFailure(failure);
        }
    }

    private ConnectionLostException closedFailure(Throwable cause) {
        ConnectionLostException lost;
        synchronized (state) {
            lost = new ConnectionLostException(resource + ": the connection was " + closedBecause, cause);
        }
        LabHalException abortFailed = abortFailure;
        if (abortFailed != null) {
            lost.addSuppressed(abortFailed); // why the call was cut off rather than aborted
        }
        return lost;
    }

    @Override
    public String describe() {
        return "VXI-11 link to " + device + " at " + (remote.isEmpty() ? address.host().orElseThrow() : remote)
                + " (" + resource + ")";
    }

    /** Destroys the link (when no call is in progress) and closes the connection; idempotent. */
    @Override
    public void close() {
        shutDown("closed by its owner", true);
    }

    /**
     * Closes for good because the transport goes away.
     *
     * @param reason completes "the connection was ..."
     */
    void kill(String reason) {
        shutDown(reason, true);
    }

    private void shutDown(String reason, boolean destroyLink) {
        Socket connecting;
        synchronized (state) {
            if (closedBecause != null) {
                return;
            }
            closedBecause = reason;
            connecting = socket;
        }
        // A call in progress on another thread: have the instrument end it, and let it finish, so that
        // the instrument frees what the call holds and destroy_link can follow on the same channel.
        boolean inProgress = destroyLink && rpc != null && abortChannel != null && calls.isLocked()
                && !calls.isHeldByCurrentThread();
        boolean aborted = inProgress && abortForClose();
        if (destroyLink && rpc != null && tryEnter(aborted ? ABORT_WAIT : Duration.ZERO)) {
            try {
                RpcClient.Request request = rpc.request(CORE_PROGRAM, CORE_VERSION, DESTROY_LINK, 4);
                request.args().putInt(lid);
                rpc.call(request, DESTROY_WAIT);
            } catch (IOException | RpcRejectedException | RuntimeException ignored) {
                // the instrument destroys the link anyway when the connection closes
            } finally {
                calls.unlock();
            }
        }
        if (rpc != null) {
            rpc.close();
        }
        AbortChannel channel = abortChannel;
        if (channel != null) {
            channel.close();
        }
        if (connecting != null) {
            try {
                connecting.close(); // aborts a connect in progress
            } catch (IOException ignored) {
                // released either way
            }
        }
        onClosed.accept(this);
    }

    /**
     * Takes {@code calls} for closing, waiting up to {@code wait}; an interrupt ends that wait (and
     * stays set). Without a wait an interrupted thread still gets it, to send destroy_link.
     */
    private boolean tryEnter(Duration wait) {
        if (wait.isZero()) {
            return calls.tryLock();
        }
        try {
            return calls.tryLock(wait.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static long nanos(Duration d) {
        try {
            return Math.max(0, Math.min(d.toNanos(), Long.MAX_VALUE / 4));
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE / 4;
        }
    }

    private static Duration left(long deadline) {
        return Duration.ofNanos(Math.max(1_000_000, deadline - System.nanoTime()));
    }

    /** A duration as VXI-11's unsigned milliseconds. */
    private static long millis(Duration d) {
        if (d.isNegative()) {
            return 0;
        }
        return Math.min(0xFFFF_FFFFL, nanos(d) / 1_000_000);
    }

    @Override
    public String toString() {
        return "Vxi11Connection[" + describe() + "]";
    }
}
