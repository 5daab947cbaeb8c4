package org.labhal.transport.vxi11.sim;

import java.io.IOException;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import org.labhal.server.ServerLog;
import org.labhal.transport.vxi11.internal.XdrEncoder;

/**
 * The portmapper's UDP side, which the classic VXI-11 search broadcasts GETPORT to: one socket, one thread
 * ({@code labhal-vxi11-sim-portmapper-udp-<port>}) that answers each datagram at once, since a portmapper
 * call never blocks. A datagram longer than {@value #MAX_DATAGRAM} bytes is cut there (and so malformed);
 * one that is not an RPC call gets no answer, as from a real portmapper.
 */
final class UdpPortmapper implements AutoCloseable {
    /** Portmapper calls are a few dozen bytes. */
    static final int MAX_DATAGRAM = 1024;

    private final DatagramSocket socket;
    private final Thread thread;
    private final Function<byte[], XdrEncoder> answer;
    private final ServerLog log;
    private final AtomicLong answered = new AtomicLong();
    private volatile boolean closed;

    /**
     * Binds and starts answering.
     *
     * @param bind the local address
     * @param port the port, that of the TCP portmapper
     * @param answer the reply to a datagram, {@code null} for none (not an RPC call)
     * @param log where trouble is reported
     * @throws BindException when the port is taken
     */
    UdpPortmapper(InetAddress bind, int port, Function<byte[], XdrEncoder> answer, ServerLog log) throws IOException {
        try {
            this.socket = new DatagramSocket(new InetSocketAddress(bind, port));
        } catch (SocketException e) {
            throw new BindException("cannot listen for the portmapper over UDP on " + bind.getHostAddress() + ":"
                    + port + ": " + e.getMessage());
        }
        this.answer = answer;
        this.log = log;
        this.thread = new Thread(this::serve, "labhal-vxi11-sim-portmapper-udp-" + socket.getLocalPort());
        thread.setDaemon(true);
        thread.start();
    }

    private void serve() {
        byte[] buffer = new byte[MAX_DATAGRAM];
        while (!closed) {
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            try {
                socket.receive(packet);
            } catch (IOException e) {
                if (!closed) {
                    log.warn("The simulator's UDP portmapper on port " + socket.getLocalPort() + " stopped: " + e);
                }
                return;
            }
            byte[] call = Arrays.copyOf(packet.getData(), packet.getLength());
            XdrEncoder reply = answer.apply(call);
            if (reply == null) {
                continue;
            }
            byte[] bytes = reply.toByteArray(); // UDP carries no record mark
            answered.incrementAndGet(); // before the send: whoever gets the reply sees it counted
            try {
                socket.send(new DatagramPacket(bytes, bytes.length, packet.getSocketAddress()));
            } catch (IOException e) {
                // an unreachable asker is its own problem
            }
        }
    }

    /** @return the port */
    int port() {
        return socket.getLocalPort();
    }

    /** @return the calls answered (a reply made and handed to the socket) */
    long answered() {
        return answered.get();
    }

    /** Closes the socket and joins the thread; idempotent. */
    @Override
    public void close() {
        closed = true;
        socket.close();
        boolean interrupted = Thread.interrupted();
        try {
            thread.join(5_000); // ends as soon as the closed socket fails its receive
        } catch (InterruptedException e) {
            interrupted = true;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
