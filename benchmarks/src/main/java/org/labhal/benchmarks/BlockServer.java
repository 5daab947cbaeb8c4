package org.labhal.benchmarks;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A loopback TCP peer for the block benchmark: it answers {@value #QUERY} with one IEEE 488.2
 * definite-length block, {@code #<n><length><data>} and a LF, and ignores every other line. The data
 * is generated, never held whole: a 64 KiB pattern of every byte value sent over and over.
 * <p>
 * Threads: an acceptor and one per client, daemons of an executor this server owns; {@link #close()}
 * stops them.
 */
final class BlockServer extends LoopbackBlockServer {
    private static final int PATTERN_SIZE = 64 * 1024;

    private final byte[] pattern = pattern(PATTERN_SIZE);

    /** @param length the block's data length in bytes, 0 to 999,999,999 */
    BlockServer(long length) throws IOException {
        super(length, "labhal-bench-block");
        start();
    }

    /** @return the resource string that reaches this server through the socket transport */
    String resource() {
        return "TCPIP::127.0.0.1::" + port() + "::SOCKET";
    }

    @Override
    void serve(Socket socket) throws IOException {
        InputStream in = new BufferedInputStream(socket.getInputStream());
        OutputStream out = socket.getOutputStream();
        for (String line = readLine(in); line != null; line = readLine(in)) {
            if (line.equals(QUERY)) {
                sendBlock(out);
            }
        }
    }

    private void sendBlock(OutputStream out) throws IOException {
        out.write(prefix);
        long remaining = length;
        while (remaining > 0) {
            int n = (int) Math.min(pattern.length, remaining);
            out.write(pattern, 0, n);
            remaining -= n;
        }
        out.write('\n');
        out.flush();
    }

    /** @return the line without LF (and CR), or {@code null} at the end of the stream */
    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) {
                return null;
            }
            if (b != '\r') {
                line.write(b);
            }
        }
        return line.toString(StandardCharsets.US_ASCII);
    }
}
