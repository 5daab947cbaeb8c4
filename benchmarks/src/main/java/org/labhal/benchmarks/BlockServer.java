package org.labhal.benchmarks;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback TCP peer for the block benchmark: it answers {@value #QUERY} with one IEEE 488.2
 * definite-length block, {@code #<n><length><data>} and a LF, and ignores every other line. The data
 * is generated, never held whole: a 64 KiB pattern of every byte value (LF, CR and {@code #}
 * included, so a reader that framed by termination instead of by length would fail) sent over and
 * over.
 * <p>
 * Threads: an acceptor and one per client, daemons of an executor this server owns; {@link #close()}
 * stops them.
 */
final class BlockServer implements AutoCloseable {
    static final String QUERY = "BENCH:BLOCK?";
    private static final int PATTERN_SIZE = 64 * 1024;

    private final long length;
    private final byte[] header;
    private final byte[] pattern = new byte[PATTERN_SIZE];
    private final ServerSocket listener;
    private final Set<Socket> clients = ConcurrentHashMap.newKeySet();
    private final ExecutorService threads;

    /** @param length the block's data length in bytes, 0 to 999,999,999 */
    BlockServer(long length) throws IOException {
        if (length < 0 || length > 999_999_999L) {
            throw new IllegalArgumentException("length must be 0 to 999999999 (a #9 header), got " + length);
        }
        this.length = length;
        String digits = Long.toString(length);
        this.header = ("#" + digits.length() + digits).getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < pattern.length; i++) {
            pattern[i] = (byte) i;
        }
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        AtomicInteger numbers = new AtomicInteger();
        this.threads = Executors.newCachedThreadPool(task -> {
            Thread thread = new Thread(task, "labhal-bench-block-" + numbers.incrementAndGet());
            thread.setDaemon(true); // a forgotten server must not keep the benchmark JVM alive
            return thread;
        });
        threads.execute(this::acceptLoop);
    }

    /** @return the resource string that reaches this server through the socket transport */
    String resource() {
        return "TCPIP::127.0.0.1::" + listener.getLocalPort() + "::SOCKET";
    }

    int port() {
        return listener.getLocalPort();
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket socket = listener.accept();
                clients.add(socket);
                threads.execute(() -> serve(socket));
            } catch (IOException closed) {
                return;
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            socket.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            for (String line = readLine(in); line != null; line = readLine(in)) {
                if (line.equals(QUERY)) {
                    sendBlock(out);
                }
            }
        } catch (IOException e) {
            // the client went away or the server is closing
        } finally {
            clients.remove(socket);
        }
    }

    private void sendBlock(OutputStream out) throws IOException {
        out.write(header);
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

    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket socket : clients) {
            socket.close();
        }
        threads.shutdownNow();
        try {
            threads.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
