package org.labhal.server;

import java.io.IOException;
import java.nio.channels.SocketChannel;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * What a {@link TcpServer} does with each connection: the protocol of one kind of server. Must be
 * thread-safe: the server calls it for many connections at once, each on a thread of its own.
 */
@ConsumerType
@FunctionalInterface
public interface ConnectionHandler {

    /**
     * Serves one connection until it ends, on a thread the server owns. When this returns or throws,
     * the server closes the connection and frees its slot; an {@link IOException} is the ordinary end
     * (the client went away) and is not reported. The channel is in blocking mode; the handler may make
     * it non-blocking or use its socket's streams.
     *
     * <p>Must return soon after the connection is {@link ServerConnection#close() closed} or the thread
     * is interrupted: that is how the server stops it. Reads must be bounded by the handler (see
     * {@link LineReader}): the server has no view of the bytes. It sees that bytes move, which tells
     * an idle connection from a busy one and puts a deadline on writes the client does not read, when the
     * handler uses {@link ServerConnection#input()} and {@link ServerConnection#output()} (or calls
     * {@link ServerConnection#noteActivity()} itself).
     *
     * @param connection the accepted connection
     * @throws Exception when serving ends because of a failure; logged only when it is not an
     *         {@code IOException} or {@code InterruptedException}
     */
    void serve(ServerConnection connection) throws Exception;

    /**
     * Tells a client beyond the cap why it is turned away, in the protocol's words (HiSLIP: a
     * FatalError), before the server closes the connection with an orderly FIN. Runs on the accepting
     * thread, so it must write no more than a small message (which fits in the empty send buffer of a
     * new connection) and never read. The default says nothing.
     *
     * @param channel the refused connection, in blocking mode
     * @throws IOException when writing fails; the server closes the connection either way
     */
    default void refuse(SocketChannel channel) throws IOException {
        // nothing to say: the close tells it
    }
}
