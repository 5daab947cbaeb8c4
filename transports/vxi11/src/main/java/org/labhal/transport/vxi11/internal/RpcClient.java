package org.labhal.transport.vxi11.internal;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.PushbackInputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An ONC RPC client over one TCP connection: one call at a time, matched to its reply by xid.
 * A reply that comes after its call timed out is recognised by its old xid and dropped, so it never
 * answers a later call. Blocking sockets: {@link #close()} from another thread wakes a blocked
 * call with an {@link IOException}.
 *
 * <p>Interrupts: a blocking socket does not notice them, so while no reply has begun the wait looks
 * at the caller's interrupt status every {@link #INTERRUPT_POLL} and ends with an
 * {@link InterruptedIOException} (the status stays set). The call is still outstanding then: the
 * caller decides whether to abort it and wait for its reply with {@link #reply}, or to close.
 *
 * <p>Threads: {@link #call} is not reentrant; callers serialise it. {@link #close()} from any thread.
 */
public final class RpcClient implements AutoCloseable {
    /** How often a wait for a reply looks at the caller's interrupt status. */
    static final Duration INTERRUPT_POLL = Duration.ofMillis(50);

    private static final ScheduledThreadPoolExecutor WATCHDOG = watchdog();

    private final Socket socket;
    private final PushbackInputStream in; // one byte back: the first byte of a reply, seen while polling
    private final OutputStream out;
    private final RecordStream records;
    private int xid = ThreadLocalRandom.current().nextInt();

    private RpcClient(Socket socket, int maxReply) throws IOException {
        this.socket = socket;
        this.in = new PushbackInputStream(socket.getInputStream(), 1);
        this.out = socket.getOutputStream();
        this.records = new RecordStream(in, maxReply);
    }

    /**
     * Connects.
     *
     * @param target where the server listens
     * @param timeout how long the TCP connect may take
     * @param maxReply the largest reply record accepted
     * @param beforeConnect receives the socket before it connects, so that a close from another thread can abort the connect
     * @throws IOException when the connection could not be made
     */
    public static RpcClient connect(InetSocketAddress target, Duration timeout, int maxReply,
            java.util.function.Consumer<Socket> beforeConnect) throws IOException {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.setKeepAlive(true);
            beforeConnect.accept(socket);
            socket.connect(target, millis(timeout));
            return new RpcClient(socket, maxReply);
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
     * Sends a call and waits for its reply.
     *
     * @param timeout how long to wait for the reply
     * @return a decoder positioned at the results
     * @throws SocketTimeoutException when no reply came in time and the stream is still in step (a
     *         late reply will be dropped by its xid)
     * @throws InterruptedIOException (not a {@link SocketTimeoutException}) when the calling thread
     *         was interrupted before a reply began; the call is outstanding, the stream in step
     * @throws XdrException when the reply is malformed or over the limit, or a reply stopped mid-record
     *         at the timeout: the stream is out of step, the caller must close
     * @throws RpcRejectedException when the server refused the call
     * @throws IOException when the connection failed or was closed
     */
    public XdrDecoder call(Request request, Duration timeout) throws IOException, RpcRejectedException {
        send(request, timeout);
        return reply(request, timeout);
    }

    /**
     * Writes the call's record. A blocking socket write has no timeout of its own, so a watchdog closes
     * the connection when the instrument has not taken the whole record by the deadline (it stopped
     * reading): the record is cut, and the stream cannot be framed after it anyway.
     *
     * @throws WriteTimeoutException when the watchdog closed the connection
     */
    private void send(Request request, Duration timeout) throws IOException {
        AtomicBoolean expired = new AtomicBoolean();
        ScheduledFuture<?> watch = WATCHDOG.schedule(() -> {
            expired.set(true);
            close();
        }, millis(timeout), TimeUnit.MILLISECONDS);
        try {
            RecordStream.write(out, request.args());
        } catch (IOException e) {
            if (expired.get()) {
                throw new WriteTimeoutException("the instrument took no more of the call for " + timeout.toMillis()
                        + " ms, so the connection was closed", e);
            }
            throw e;
        } finally {
            watch.cancel(false);
        }
    }

    /** The instrument did not take a call's record in time; the connection is closed. */
    public static final class WriteTimeoutException extends IOException {
        private static final long serialVersionUID = 1L;

        WriteTimeoutException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** One daemon thread for all connections, there only while some write is watched. */
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
     * @param timeout how long to wait for the reply
     * @return a decoder positioned at the results
     * @throws IOException as {@link #call}
     * @throws RpcRejectedException when the server refused the call
     */
    public XdrDecoder reply(Request request, Duration timeout) throws IOException, RpcRejectedException {
        long deadline = System.nanoTime() + Math.max(1, Math.min(timeout.toNanos(), Long.MAX_VALUE / 4));
        while (true) {
            awaitRecord(deadline, timeout);
            long left = deadline - System.nanoTime();
            socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, (left + 999_999) / 1_000_000)));
            byte[] record;
            try {
                record = records.read();
            } catch (SocketTimeoutException e) {
                if (records.midRecord()) {
                    throw new XdrException("the peer stopped sending in the middle of an RPC reply for "
                            + timeout.toMillis() + " ms");
                }
                throw new SocketTimeoutException("no RPC reply within " + timeout.toMillis() + " ms");
            }
            XdrDecoder reply = new XdrDecoder(record);
            if (reply.getInt() != request.xid()) {
                continue; // the late reply to a call that timed out
            }
            Rpc.readReply(reply);
            return reply;
        }
    }

    /**
     * Waits for the first byte of the next record without consuming it, in slices of
     * {@link #INTERRUPT_POLL}, so that an interrupt of the caller is noticed.
     */
    private void awaitRecord(long deadline, Duration timeout) throws IOException {
        while (true) {
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedIOException("interrupted while waiting for an RPC reply");
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new SocketTimeoutException("no RPC reply within " + timeout.toMillis() + " ms");
            }
            long slice = Math.min(left, INTERRUPT_POLL.toNanos());
            socket.setSoTimeout((int) Math.max(1, (slice + 999_999) / 1_000_000));
            try {
                int first = in.read();
                if (first < 0) {
                    throw new EOFException("the peer closed the connection");
                }
                in.unread(first);
                return;
            } catch (SocketTimeoutException e) {
                // nothing yet: look at the interrupt status and the deadline again
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
        try {
            socket.close();
        } catch (IOException ignored) {
            // the descriptor is released either way
        }
    }

    static int millis(Duration timeout) {
        long ms = Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        return (int) ms;
    }
}
