package org.labhal.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One connection a {@link TcpServer} accepted and serves. Thread-safe: the thread serving it, its
 * companions and the server (when it stops, drops connections, gives an idle one's slot to a newcomer
 * or ends a stalled write) may all use it.
 *
 * <p>The server sees traffic only where the handler lets it: through {@link #input()} and
 * {@link #output()}, or {@link #noteActivity()} for a handler that uses the {@link #channel()} itself.
 * That is what tells an idle connection (which may lose its slot to a newcomer when every slot is
 * taken, see {@link TcpServer.Builder#evictIdleAfter}) from a busy one, and what puts a deadline on a
 * write the client does not read ({@link TcpServer.Builder#writeStallTimeout}).
 */
public final class ServerConnection {
    /**
     * The most a write through {@link #output()} hands to the socket at once: the stall clock starts
     * again with each part, so a long answer that a slow client does take is not mistaken for a stall.
     */
    static final int WRITE_PART = 16 * 1024;

    private final long id;
    private final SocketChannel channel;
    private final SocketAddress remote;
    private final TcpServer server;
    private final AtomicBoolean closed = new AtomicBoolean();
    /**
     * When this connection (and those that share its activity, {@link #shareActivityWith}) was last
     * busy; replaced, never changed in place except for its time.
     */
    private volatile Activity activity = new Activity();
    /** Whether a write through {@link #output()} is in progress (set after {@link #partStarted}). */
    private volatile boolean writing;
    /** {@link System#nanoTime()} when the part being written was handed to the socket. */
    private volatile long partStarted;
    private InputStream input; // guarded by this
    private OutputStream output; // guarded by this
    private List<Runnable> onClose = new ArrayList<>(0); // guarded by this; null once the close actions ran

    ServerConnection(long id, SocketChannel channel, SocketAddress remote, TcpServer server) {
        this.id = id;
        this.channel = channel;
        this.remote = remote;
        this.server = server;
    }

    /** @return the connection's number, 1 for the first the server accepted */
    public long id() {
        return id;
    }

    /**
     * @return the accepted channel, in blocking mode unless the handler changed that. A handler that reads
     *         or writes it directly, not through {@link #input()} and {@link #output()}, calls
     *         {@link #noteActivity()} when bytes move.
     */
    public SocketChannel channel() {
        return channel;
    }

    /** @return the client's address, or {@code null} when the connection had already ended on accept */
    public InetSocketAddress remoteAddress() {
        return remote instanceof InetSocketAddress address ? address : null;
    }

    /**
     * The client's bytes: the socket's input stream (blocking, with the socket's read timeout), which
     * notes each read that returns bytes as {@linkplain #noteActivity() activity}. The same stream for
     * every call; one reader at a time. Closing it closes the connection.
     *
     * @return the stream
     * @throws IOException when the connection is closed already
     */
    public synchronized InputStream input() throws IOException {
        if (input == null) {
            input = new ActivityInput(channel.socket().getInputStream());
        }
        return input;
    }

    /**
     * Where answers go: the socket's output stream, which notes each part (of up to 16 KiB) it hands to the socket as
     * {@linkplain #noteActivity() activity} and carries the server's
     * {@linkplain TcpServer.Builder#writeStallTimeout write deadline}: a write that makes no progress
     * for that long (the client does not take its answers) makes the server close the connection, which
     * ends the write with an {@link IOException}. A long write that goes on making progress is never cut.
     * The same stream for every call; one writer at a time. Closing it closes the connection.
     *
     * @return the stream
     * @throws IOException when the connection is closed already
     */
    public synchronized OutputStream output() throws IOException {
        if (output == null) {
            output = new WatchedOutput(channel.socket().getOutputStream());
        }
        return output;
    }

    /**
     * Notes that bytes were read from the client or written to it now: the connection is not idle. The
     * streams of {@link #input()} and {@link #output()} call it themselves. Cheap: one clock read and
     * one volatile write.
     */
    public void noteActivity() {
        activity.last = System.nanoTime();
    }

    /**
     * Makes this connection and {@code other} one for idleness from now on: traffic on either is
     * activity of both. For the connections of one session of a protocol that uses two (HiSLIP's
     * synchronous and asynchronous channels): a session busy on one channel must not lose the idle
     * other one to a newcomer, which would break the session.
     *
     * @param other a connection of the same server, typically the session's first
     */
    public void shareActivityWith(ServerConnection other) {
        Activity shared = other.activity;
        shared.last = Math.max(shared.last, activity.last);
        activity = shared;
    }

    /** The time of the last activity, shared by connections that are one for idleness. */
    private static final class Activity {
        /** {@link System#nanoTime()} of the last read that brought bytes, the last part of an answer handed
         *  to the socket, or the accept. */
        volatile long last = System.nanoTime();
    }

    /** @return how long ago a byte was last read from the client or written to it (or it was accepted) */
    public Duration idleTime() {
        return Duration.ofNanos(idleNanos(System.nanoTime()));
    }

    long idleNanos(long now) {
        return Math.max(0, now - activity.last);
    }

    /**
     * @param now a {@link System#nanoTime()} value
     * @return how long the part of a write through {@link #output()} now in progress has waited for the
     *         socket to take it; 0 when no write is in progress
     */
    long writeStalledNanos(long now) {
        if (!writing) { // read before partStarted: a write that began after this read set partStarted first
            return 0;
        }
        return Math.max(0, now - partStarted);
    }

    /**
     * Runs a second task for this connection on a thread of the server (counted and joined at stop
     * like the first), e.g. a reader that notices the client going away while the first thread blocks
     * in a call. The task must end when the connection is closed or its thread is interrupted. The
     * connection's slot is freed when the {@link ConnectionHandler#serve serving} thread returns, not
     * when companions do.
     *
     * @param task what to run
     * @throws IOException when the server is stopping and runs nothing new; the connection is closed
     */
    public void startCompanion(Runnable task) throws IOException {
        server.startCompanion(this, task);
    }

    /**
     * Adds something to do when the connection is closed ({@link #close()}, {@link #abort()}, or the
     * server: when it stops, drops connections, gives the slot to a newcomer, ends a stalled write, or the
     * handler returns): e.g. wake a thread that waits for the channel in a selector of its own, which
     * closing the channel alone does not wake. Runs on the
     * closing thread (the server's acceptor when it gives the slot to a newcomer), so it must not block;
     * at once when the connection is closed already.
     *
     * @param action what to do, once
     */
    public void onClose(Runnable action) {
        Objects.requireNonNull(action, "action");
        synchronized (this) {
            if (onClose != null) {
                onClose.add(action);
                return;
            }
        }
        runQuietly(action);
    }

    /** @return whether neither the server nor the handler closed the connection yet */
    public boolean isOpen() {
        return !closed.get() && channel.isOpen();
    }

    /**
     * Closes the connection with an orderly FIN; the client sees the end of the stream. Blocked reads
     * and writes on it end with an exception. Idempotent.
     */
    public void close() {
        closeNow();
    }

    /** @return whether this call closed the connection, {@code false} when it was closed already */
    boolean closeNow() {
        if (!closed.compareAndSet(false, true)) {
            return false;
        }
        closeQuietly(channel);
        runCloseActions();
        return true;
    }

    /**
     * Closes the connection with a TCP reset (RST), as a pulled cable or a crashing instrument does:
     * unsent data is discarded. Idempotent; after {@link #close()} it does nothing.
     */
    public void abort() {
        if (closed.compareAndSet(false, true)) {
            try {
                channel.setOption(StandardSocketOptions.SO_LINGER, 0); // close() then sends RST
            } catch (IOException | UnsupportedOperationException alreadyClosed) {
                // nothing to reset
            }
            closeQuietly(channel);
            runCloseActions();
        }
    }

    private void runCloseActions() {
        List<Runnable> actions;
        synchronized (this) {
            actions = onClose;
            onClose = null;
        }
        for (Runnable action : actions) {
            runQuietly(action);
        }
    }

    private void runQuietly(Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            server.warnCloseActionFailed(this, e);
        }
    }

    static void closeQuietly(AutoCloseable closeable) {
        try {
            closeable.close();
        } catch (VirtualMachineError e) {
            throw e;
        } catch (Exception | Error ignored) {
            // closing is best effort: the channel is unusable either way (a JDK class that failed to
            // initialise for lack of descriptors throws an Error here, and must not kill the caller)
        }
    }

    @Override
    public String toString() {
        return "connection " + id + " from " + remote;
    }

    /** The socket's input stream, noting reads that bring bytes. */
    private final class ActivityInput extends InputStream {
        private final InputStream in;

        ActivityInput(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                noteActivity();
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                noteActivity();
            }
            return n;
        }

        @Override
        public int available() throws IOException {
            return in.available();
        }

        @Override
        public void close() {
            ServerConnection.this.close();
        }
    }

    /** The socket's output stream, in parts, each noted as progress for the write deadline. */
    private final class WatchedOutput extends OutputStream {
        private final OutputStream out;

        WatchedOutput(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            try {
                while (len > 0) {
                    int n = Math.min(len, WRITE_PART);
                    // Noted before the part goes out, not after: the client cannot have the answer before the
                    // connection counts as busy, so a client that asks after another's answer is busier.
                    long now = System.nanoTime();
                    activity.last = now;
                    partStarted = now;
                    writing = true; // after partStarted: the watchdog reads them in the other order
                    out.write(b, off, n);
                    off += n;
                    len -= n;
                }
            } finally {
                writing = false;
            }
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }

        @Override
        public void close() {
            ServerConnection.this.close();
        }
    }
}
