package org.labhal.benchmarks;

import java.io.IOException;
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
 * What the block benchmark's servers share: a loopback listener, one daemon thread per connection,
 * and the block they answer {@value #QUERY} with, an IEEE 488.2 definite-length block
 * {@code #<n><length><data>} whose data byte at offset k is {@code (byte) k} (LF, CR and {@code #}
 * included, so a reader that framed by termination instead of by length would fail). Subclasses
 * speak the protocol on each connection and call {@link #start()} at the end of their constructor.
 */
abstract class LoopbackBlockServer implements AutoCloseable {
    static final String QUERY = "BENCH:BLOCK?";

    /** The block's data length in bytes. */
    final long length;
    /** {@code #<n><length>}: the block header. */
    final byte[] prefix;
    private final ServerSocket listener;
    private final Set<Socket> clients = ConcurrentHashMap.newKeySet();
    private final ExecutorService threads;

    /**
     * @param length the block's data length in bytes, 0 to 999,999,999
     * @param threadName the prefix of the server's thread names
     */
    LoopbackBlockServer(long length, String threadName) throws IOException {
        if (length < 0 || length > 999_999_999L) {
            throw new IllegalArgumentException("length must be 0 to 999999999 (a #9 header), got " + length);
        }
        this.length = length;
        String digits = Long.toString(length);
        this.prefix = ("#" + digits.length() + digits).getBytes(StandardCharsets.US_ASCII);
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        AtomicInteger numbers = new AtomicInteger();
        this.threads = Executors.newCachedThreadPool(task -> {
            Thread thread = new Thread(task, threadName + "-" + numbers.incrementAndGet());
            thread.setDaemon(true); // a forgotten server must not keep the benchmark JVM alive
            return thread;
        });
    }

    /** @return {@code size} bytes of the data pattern: element i is {@code (byte) i} */
    static byte[] pattern(int size) {
        byte[] pattern = new byte[size];
        for (int i = 0; i < size; i++) {
            pattern[i] = (byte) i;
        }
        return pattern;
    }

    /** Starts accepting; the subclass calls it once it is fully constructed. */
    final void start() {
        threads.execute(this::acceptLoop);
    }

    /** @return the loopback port */
    final int port() {
        return listener.getLocalPort();
    }

    /**
     * Speaks the protocol on one connection until the client goes away.
     *
     * @throws IOException when the client goes away or the server closes, which ends the connection
     */
    abstract void serve(Socket socket) throws IOException;

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket socket = listener.accept();
                clients.add(socket);
                threads.execute(() -> serveAndForget(socket));
            } catch (IOException closed) {
                return;
            }
        }
    }

    private void serveAndForget(Socket socket) {
        try (socket) {
            socket.setTcpNoDelay(true);
            serve(socket);
        } catch (IOException e) {
            // the client went away or the server is closing
        } finally {
            clients.remove(socket);
        }
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
