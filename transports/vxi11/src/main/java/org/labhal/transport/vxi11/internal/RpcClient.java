package org.labhal.transport.vxi11.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.labhal.api.transport.Deadline;

/**
 * An ONC RPC client over one TCP connection: one call at a time, matched to its reply by xid.
 * A reply that comes after its call timed out is recognised by its old xid and dropped, so it never
 * answers a later call. Blocking sockets: {@link #close()} from another thread wakes a blocked
 * call with an {@link IOException}.
 *
 * <p>Deadlines: each call (its record going out, and its reply coming in however many reads, late
 * replies to drop and fragments that takes) ends by one {@link Deadline}, so a peer that trickles a
 * reply one byte at a time cannot stretch it.
 *
 * <p>Interrupts: a blocking socket does not notice them, so every wait for reply bytes looks at the
 * caller's interrupt status every {@link #INTERRUPT_POLL} and ends with an
 * {@link InterruptedIOException} (the status stays set). When no reply had begun, the call is still
 * outstanding and the stream in step: the caller decides whether to abort it and wait for its reply
 * with {@link #reply}, or to close. A reply cut off in the middle (by the deadline or an interrupt)
 * leaves the stream out of step: every later call fails with an {@link XdrException}.
 *
 * <p>Threads: {@link #call} is not reentrant; callers serialise it. {@link #close()} from any thread.
 */
public final class RpcClient implements AutoCloseable {
    /** How often a wait for a reply looks at the caller's interrupt status. */
    static final Duration INTERRUPT_POLL = Duration.ofMillis(50);

    /** How often the watchdog looks for a record that has not gone out by its deadline. */
    static final Duration WATCH_PERIOD = Duration.ofMillis(10);

    private static final ScheduledThreadPoolExecutor WATCHDOG = watchdog();
    /** The open connections, which the watchdog looks at while there are any. */
    private static final Set<RpcClient> OPEN = ConcurrentHashMap.newKeySet();
    private static ScheduledFuture<?> watching; // guarded by OPEN

    private final Socket socket;
    private final TimedInput in;
    private final OutputStream out;
    private final RecordStream records;
    private int xid = ThreadLocalRandom.current().nextInt();
    private String outOfStep; // why the stream cannot be framed any more, or null
    /** When the record being sent must be out (System.nanoTime), valid while {@link #sending}. */
    private volatile long sendUntil;
    private volatile boolean sending;
    private volatile boolean sendExpired; // the watchdog closed the connection during a send

    private RpcClient(Socket socket, int maxReply) throws IOException {
        this.socket = socket;
        this.in = new TimedInput(socket);
        this.out = socket.getOutputStream();
        this.records = new RecordStream(in, maxReply);
    }

    /**
     * Connects.
     *
     * @param target where the server listens
     * @param deadline when the TCP connect must be done
     * @param maxReply the largest reply record accepted, in bytes; a longer one is an {@link XdrException}
     * @param beforeConnect receives the socket before it connects, so that a close from another thread can abort the connect
     * @throws SocketTimeoutException when the deadline passed first
     * @throws IOException when the connection could not be made
     */
    public static RpcClient connect(InetSocketAddress target, Deadline deadline, int maxReply,
            java.util.function.Consumer<Socket> beforeConnect) throws IOException {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.setKeepAlive(true);
            beforeConnect.accept(socket);
            int ms = deadline.remainingMillis();
            if (ms == 0) { // 0 would wait forever
                throw new SocketTimeoutException("no time left to connect to " + target);
            }
            socket.connect(target, ms);
            RpcClient client = new RpcClient(socket, maxReply);
            client.watch();
            return client;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /** Starts a call: the header is written, the caller appends the arguments. */
    public Request request(int program, int version, int procedure, int argumentBytes) {
        int id = ++xid;
        return new Request(id, Rpc.call(id, program, version, procedure, argumentBytes));
    }

    /** A call being built: its xid and its encoder, to which the arguments are appended. */
    public record Request(int xid, XdrEncoder args) {
    }

    /**
     * Sends a call and waits for its reply, both by one deadline.
     *
     * @param deadline when the call must be done
     * @return a decoder positioned at the results
     * @throws SocketTimeoutException when no reply came in time and the stream is still in step (a
     *         late reply will be dropped by its xid)
     * @throws InterruptedIOException (not a {@link SocketTimeoutException}) when the calling thread
     *         was interrupted before a reply began; the call is outstanding, the stream in step
     * @throws XdrException when the reply is malformed or over the limit, or a reply stopped mid-record
     *         at the deadline or by an interrupt: the stream is out of step, the caller must close
     * @throws RpcRejectedException when the server refused the call
     * @throws IOException when the connection failed or was closed
     */
    public XdrDecoder call(Request request, Deadline deadline) throws IOException, RpcRejectedException {
        checkInStep();
        send(deadline, request);
        return reply(request, deadline);
    }

    /**
     * Sends a call with a second one right behind it, in one write, and waits for the first one's
     * reply; the second one's reply is the next to come, for {@link #reply}. ONC RPC over TCP lets a
     * client send calls without waiting for replies; the server answers them in order.
     *
     * @param request the call whose reply is awaited
     * @param follower the call sent behind it
     * @param deadline when the first call must be done (the records going out, and its reply)
     * @return a decoder positioned at the first call's results
     * @throws IOException as {@link #call}
     * @throws RpcRejectedException when the server refused the first call
     */
    public XdrDecoder call(Request request, Request follower, Deadline deadline) throws IOException,
            RpcRejectedException {
        checkInStep();
        send(deadline, request, follower);
        return reply(request, deadline);
    }

    /**
     * Writes the calls' records, in one write. A blocking socket write has no timeout of its own, so
     * the watchdog ({@link #watch}) closes the connection when the instrument has not taken the
     * whole record by the deadline (it stopped reading): the record is cut, and the stream cannot be
     * framed after it anyway.
     *
     * @throws WriteTimeoutException when the watchdog closed the connection
     */
    private void send(Deadline deadline, Request... requests) throws IOException {
        if (deadline.expired()) {
            throw new SocketTimeoutException("no time left to send the call");
        }
        sendUntil = System.nanoTime() + deadline.remainingNanos();
        sending = true; // after sendUntil: the watchdog reads them in the other order
        try {
            if (requests.length == 1) {
                RecordStream.write(out, requests[0].args());
            } else {
                RecordStream.write(out, requests[0].args(), requests[1].args());
            }
        } catch (IOException e) {
            if (sendExpired) {
                throw new WriteTimeoutException("the instrument took no more of the call for "
                        + Deadline.millis(deadline.timeout()) + " ms, so the connection was closed", e);
            }
            throw e;
        } finally {
            sending = false;
        }
    }

    /** The instrument did not take a call's record in time; the connection is closed. */
    public static final class WriteTimeoutException extends IOException {
        private static final long serialVersionUID = 1L;

        WriteTimeoutException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Has the watchdog look at this connection until it closes. A blocking socket write has no
     * timeout, so the watchdog, every {@link #WATCH_PERIOD} while any connection is open, closes a
     * connection whose record is not out by its deadline. Sending costs two volatile writes, not a
     * scheduled task (whose queueing and wake-up cost more than a small record's round trip).
     */
    private void watch() {
        synchronized (OPEN) {
            OPEN.add(this);
            if (watching == null) {
                long period = WATCH_PERIOD.toNanos();
                watching = WATCHDOG.scheduleAtFixedRate(RpcClient::closeExpired, period, period, TimeUnit.NANOSECONDS);
            }
        }
    }

    private void unwatch() {
        synchronized (OPEN) {
            if (OPEN.remove(this) && OPEN.isEmpty() && watching != null) {
                watching.cancel(false);
                watching = null;
            }
        }
    }

    /** The watchdog's round: closes every connection whose record is late. */
    private static void closeExpired() {
        long now = System.nanoTime();
        for (RpcClient client : OPEN) {
            if (client.sending && now - client.sendUntil > 0) {
                client.sendExpired = true;
                client.close();
            }
        }
    }

    /** One daemon thread for all connections, there only while some connection is open. */
    private static ScheduledThreadPoolExecutor watchdog() {
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, task -> {
            Thread thread = new Thread(task, "labhal-vxi11-write-watchdog");
            thread.setDaemon(true);
            return thread;
        });
        executor.setKeepAliveTime(1, TimeUnit.SECONDS);
        executor.allowCoreThreadTimeOut(true);
        executor.setRemoveOnCancelPolicy(true);
        return executor;
    }

    /**
     * Waits for the reply to a request already sent (by {@link #call} that ended without one),
     * dropping replies to other requests.
     *
     * @param deadline when the reply must be in, whole
     * @return a decoder positioned at the results
     * @throws IOException as {@link #call}
     * @throws RpcRejectedException when the server refused the call
     */
    public XdrDecoder reply(Request request, Deadline deadline) throws IOException, RpcRejectedException {
        checkInStep();
        in.deadline = deadline;
        while (true) {
            byte[] record;
            try {
                record = records.read();
            } catch (InterruptedIOException e) { // a SocketTimeoutException too
                if (!records.midRecord()) {
                    throw e; // in step: nothing of a reply was read
                }
                String why = e instanceof SocketTimeoutException
                        ? "the peer stopped sending in the middle of an RPC reply; it was not complete within "
                                + Deadline.millis(deadline.timeout()) + " ms"
                        : "interrupted in the middle of an RPC reply";
                outOfStep = why;
                if (e instanceof SocketTimeoutException) {
                    throw new XdrException(why);
                }
                throw e;
            } catch (IOException e) {
                outOfStep = "reading a reply failed: " + e.getMessage();
                throw e;
            }
            XdrDecoder reply = new XdrDecoder(record);
            if (reply.getInt() != request.xid()) {
                continue; // the late reply to a call that timed out
            }
            Rpc.readReply(reply);
            return reply;
        }
    }

    private void checkInStep() throws XdrException {
        if (outOfStep != null) {
            throw new XdrException("the RPC stream is out of step (" + outOfStep + ")");
        }
    }

    /**
     * The socket's input, every read bounded by the deadline of the reply being read and sliced by
     * {@link #INTERRUPT_POLL} so that an interrupt of the caller is noticed.
     */
    private static final class TimedInput extends InputStream {
        private final Socket socket;
        private final InputStream in;
        volatile Deadline deadline = Deadline.after(Duration.ZERO);
        private int soTimeout = -1; // the socket's read timeout as last set, ms

        TimedInput(Socket socket) throws IOException {
            this.socket = socket;
            this.in = socket.getInputStream();
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            while (true) {
                if (Thread.currentThread().isInterrupted()) {
                    throw new InterruptedIOException("interrupted while waiting for an RPC reply");
                }
                long left = deadline.remainingNanos();
                if (left == 0) {
                    throw new SocketTimeoutException("no RPC reply within " + Deadline.millis(deadline.timeout())
                            + " ms");
                }
                long slice = Math.min(left, INTERRUPT_POLL.toNanos());
                int ms = (int) Math.max(1, (slice + 999_999) / 1_000_000);
                if (ms != soTimeout) { // mostly INTERRUPT_POLL: set once, not per read
                    socket.setSoTimeout(ms);
                    soTimeout = ms;
                }
                try {
                    return in.read(b, off, len);
                } catch (SocketTimeoutException e) {
                    // nothing yet: look at the interrupt status and the deadline again
                }
            }
        }
    }

    /** Whether the connection was closed (by {@link #close()}). */
    public boolean isClosed() {
        return socket.isClosed();
    }

    /** The remote end, for messages. */
    public String remote() {
        return String.valueOf(socket.getRemoteSocketAddress());
    }

    /** Closes the connection; a thread blocked in {@link #call} wakes with an {@link IOException}. */
    @Override
    public void close() {
        unwatch();
        try {
            socket.close();
        } catch (IOException ignored) {
            // the descriptor is released either way
        }
    }
}
