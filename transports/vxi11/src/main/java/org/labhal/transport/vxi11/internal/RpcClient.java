package org.labhal.transport.vxi11.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * An ONC RPC client over one TCP connection: one call at a time, matched to its reply by xid.
 * A reply that comes after its call timed out is recognised by its old xid and dropped, so it never
 * answers a later call. Blocking sockets: {@link #close()} from another thread wakes a blocked
 * call with an {@link IOException}.
 *
 * <p>Threads: {@link #call} is not reentrant; callers serialise it. {@link #close()} from any thread.
 */
public final class RpcClient implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final RecordStream records;
    private int xid = ThreadLocalRandom.current().nextInt();

    private RpcClient(Socket socket, int maxReply) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
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
     * @throws XdrException when the reply is malformed or over the limit, or a reply stopped mid-record
     *         at the timeout: the stream is out of step, the caller must close
     * @throws RpcRejectedException when the server refused the call
     * @throws IOException when the connection failed or was closed
     */
    public XdrDecoder call(Request request, Duration timeout) throws IOException, RpcRejectedException {
        RecordStream.write(out, request.args());
        long deadline = System.nanoTime() + Math.max(1, Math.min(timeout.toNanos(), Long.MAX_VALUE / 4));
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new SocketTimeoutException("no RPC reply within " + timeout.toMillis() + " ms");
            }
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
