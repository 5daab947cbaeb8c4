package org.labhal.transport.sim;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A plain TCP client that sends lines and reads lines, as a socket controller does. */
final class LineClient implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;

    LineClient(SimServer server) throws IOException {
        this(server.address());
    }

    LineClient(InetSocketAddress address) throws IOException {
        socket = new Socket();
        socket.connect(address, 5000);
        socket.setSoTimeout(5000);
        socket.setTcpNoDelay(true);
        in = socket.getInputStream();
    }

    void send(String text) throws IOException {
        socket.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
        socket.getOutputStream().flush();
    }

    /** Reads up to and including {@code terminator}; returns the text before it. */
    String readUntil(char terminator) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != terminator) {
            if (b < 0) {
                throw new IOException("end of stream after '" + line + "'");
            }
            line.write(b);
        }
        return line.toString(StandardCharsets.ISO_8859_1);
    }

    String readLine() throws IOException {
        return readUntil('\n');
    }

    String query(String message) throws IOException {
        send(message + "\n");
        return readLine();
    }

    /** @return whether the server closed the connection (end of stream) within the socket timeout */
    boolean closedByServer() throws IOException {
        try {
            return in.read() < 0;
        } catch (java.net.SocketException reset) {
            return true;
        }
    }

    int localPort() {
        return socket.getLocalPort();
    }

    void timeout(int millis) throws IOException {
        socket.setSoTimeout(millis);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
