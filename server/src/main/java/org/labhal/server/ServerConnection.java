package org.labhal.server;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One connection a {@link TcpServer} accepted and serves. Thread-safe: the thread serving it, its
 * companions and the server (when it stops or drops connections) may all use it.
 */
public final class ServerConnection {
    private final long id;
    private final SocketChannel channel;
    private final SocketAddress remote;
    private final TcpServer server;
    private final AtomicBoolean closed = new AtomicBoolean();

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

    /** @return the accepted channel, in blocking mode unless the handler changed that */
    public SocketChannel channel() {
        return channel;
    }

    /** @return the client's address, or {@code null} when the connection had already ended on accept */
    public InetSocketAddress remoteAddress() {
        return remote instanceof InetSocketAddress address ? address : null;
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

    /** @return whether neither the server nor the handler closed the connection yet */
    public boolean isOpen() {
        return !closed.get() && channel.isOpen();
    }

    /**
     * Closes the connection with an orderly FIN; the client sees the end of the stream. Blocked reads
     * and writes on it end with an exception. Idempotent.
     */
    public void close() {
        if (closed.compareAndSet(false, true)) {
            closeQuietly(channel);
        }
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
}
