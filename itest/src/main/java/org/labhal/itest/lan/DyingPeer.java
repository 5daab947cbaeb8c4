package org.labhal.itest.lan;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP relay on loopback between the transport and a simulator that can play the instrument dying
 * in the middle of an answer: once {@link #dieAfter(int) armed}, it passes that many more bytes from
 * the instrument to the client and then drops every connection and stops listening, as a powered-off
 * instrument would. Everything else is passed through unchanged, in both directions.
 */
final class DyingPeer implements AutoCloseable {
    private static final int NOT_ARMED = -1;

    private final ServerSocket listener;
    private final int targetPort;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    /** Bytes still to pass to the client before dying; {@link #NOT_ARMED} to pass everything. */
    private final AtomicInteger budget = new AtomicInteger(NOT_ARMED);
    private final CountDownLatch cut = new CountDownLatch(1);

    private DyingPeer(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "dying-peer-accept-" + listener.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Relays a new loopback port to {@code targetPort} on loopback. */
    static DyingPeer relayTo(int targetPort) throws IOException {
        return new DyingPeer(targetPort);
    }

    /** @return the port clients connect to instead of the instrument's */
    int port() {
        return listener.getLocalPort();
    }

    /** Passes {@code bytes} more bytes from the instrument to the client, then dies. */
    void dieAfter(int bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes " + bytes + " < 0");
        }
        budget.set(bytes);
    }

    /** @return whether the relay cut an answer short and died, within {@code timeout} */
    boolean awaitCut(Duration timeout) throws InterruptedException {
        return cut.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket instrument = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                sockets.add(client);
                sockets.add(instrument);
                pump(client, instrument, false);
                pump(instrument, client, true);
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void pump(Socket from, Socket to, boolean towardsClient) {
        Thread thread = new Thread(() -> {
            byte[] buffer = new byte[8192];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n; (n = in.read(buffer)) >= 0;) {
                    int pass = towardsClient ? passable(n) : n;
                    out.write(buffer, 0, pass);
                    out.flush();
                    if (pass < n || towardsClient && budget.get() == 0) {
                        cut.countDown(); // before the client can see the connection end
                        close(); // the instrument dies with part of its answer sent
                        return;
                    }
                }
            } catch (IOException e) {
                // one side went away: so does the other
            }
            closeQuietly(from);
            closeQuietly(to);
        }, "dying-peer-" + (towardsClient ? "answers-" : "questions-") + from.getPort());
        thread.setDaemon(true);
        thread.start();
    }

    /** How many of {@code n} bytes towards the client may pass; takes them from the budget when armed. */
    private int passable(int n) {
        while (true) {
            int left = budget.get();
            if (left == NOT_ARMED) {
                return n;
            }
            int pass = Math.min(left, n);
            if (budget.compareAndSet(left, left - pass)) {
                return pass;
            }
        }
    }

    /** Drops every connection and stops listening; idempotent. */
    @Override
    public void close() {
        closeQuietly(listener);
        for (Socket socket : sockets) {
            closeQuietly(socket);
        }
    }

    private static void closeQuietly(AutoCloseable closeable) {
        try {
            closeable.close();
        } catch (Exception e) {
            // closing anyway
        }
    }

    @Override
    public String toString() {
        return "relay 127.0.0.1:" + port() + " -> 127.0.0.1:" + targetPort;
    }
}
