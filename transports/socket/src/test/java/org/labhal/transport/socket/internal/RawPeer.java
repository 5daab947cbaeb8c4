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

    /**
     * Sends {@code pattern} over and over from a thread of its own, as fast as the client takes it,
     * until the link breaks (the client closed it, or {@link #close()}).
     */
    void flood(String pattern) {
        byte[] bytes = pattern.repeat(Math.max(1, 8192 / pattern.length())).getBytes(StandardCharsets.ISO_8859_1);
        background("flood", () -> {
            while (true) {
                client.getOutputStream().write(bytes);
            }
        });
    }

    /** Sends one byte of {@code pattern} after another, {@code periodMillis} apart, until the link breaks. */
    void trickle(String pattern, long periodMillis) {
        byte[] bytes = pattern.getBytes(StandardCharsets.ISO_8859_1);
        background("trickle", () -> {
            for (int i = 0; ; i = (i + 1) % bytes.length) {
                client.getOutputStream().write(bytes[i]);
                client.getOutputStream().flush();
                Thread.sleep(periodMillis); // the pace is the fault being played, not a wait for a condition
            }
        });
    }

    private interface Talk {
        void run() throws IOException, InterruptedException;
    }

    private void background(String what, Talk talk) {
        Thread thread = new Thread(() -> {
            try {
                talk.run();
            } catch (IOException | InterruptedException linkGone) {
                // the client closed the link or the test ended: the fault is over
            }
        }, "raw-peer-" + what);
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public void close() throws IOException {
        if (client != null) {
            client.close();
        }
        listener.close();
    }
}
