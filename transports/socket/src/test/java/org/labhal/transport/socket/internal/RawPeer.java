package org.labhal.transport.socket.internal;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * A hand-driven instrument on a real loopback port, for byte-exact tests: the test accepts the
 * client, sends exactly the bytes it wants (in one segment or several) and reads exactly what the
 * client sent.
 */
final class RawPeer implements AutoCloseable {
    private final ServerSocket listener;
    private Socket client;

    RawPeer() throws IOException {
        this(50);
    }

    RawPeer(int backlog) throws IOException {
        listener = new ServerSocket(0, backlog, InetAddress.getLoopbackAddress());
    }

    String resource(String options) {
        return "TCPIP::127.0.0.1::" + listener.getLocalPort() + "::SOCKET" + options;
    }

    /** Accepts the client that connected (its connect already completed in the backlog). */
    RawPeer accept() throws IOException {
        listener.setSoTimeout((int) TimeUnit.SECONDS.toMillis(10));
        client = listener.accept();
        client.setTcpNoDelay(true);
        return this;
    }

    void send(String text) throws IOException {
        send(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    void send(byte[] bytes) throws IOException {
        client.getOutputStream().write(bytes);
        client.getOutputStream().flush();
    }

    /** Reads exactly {@code count} bytes the client sent. */
    String receive(int count) throws IOException {
        client.setSoTimeout((int) TimeUnit.SECONDS.toMillis(10));
        byte[] bytes = client.getInputStream().readNBytes(count);
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    /** @return whether the client sent nothing more within {@code millis} */
    boolean quietFor(int millis) throws IOException {
        client.setSoTimeout(millis);
        InputStream in = client.getInputStream();
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException quiet) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        if (client != null) {
            client.close();
        }
        listener.close();
    }
}
