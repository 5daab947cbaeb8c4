package org.labhal.transport.vxi11.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A TCP relay on a loopback port in front of an instrument's core channel. On its first connection
 * it passes the first {@code stallAfter} bytes towards the instrument and then reads nothing more
 * from the client until closed, as a network or an instrument that stopped taking data does: what
 * the client sends after that stays in its TCP send buffer. Replies are relayed as they come. Later
 * connections are relayed normally.
 */
final class StallingRelay implements AutoCloseable {
    private final ServerSocket listener;
    private final int target;
    private final long stallAfter;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicBoolean first = new AtomicBoolean(true);
    private final CountDownLatch stalled = new CountDownLatch(1);
    private final CountDownLatch closed = new CountDownLatch(1);

    private StallingRelay(int target, long stallAfter) throws IOException {
        this.listener = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        this.target = target;
        this.stallAfter = stallAfter;
        threads.execute(this::accept);
    }

    /**
     * @param target the instrument's port on the loopback address
     * @param stallAfter how many bytes of the first connection reach the instrument
     */
    static StallingRelay start(int target, long stallAfter) throws IOException {
        return new StallingRelay(target, stallAfter);
    }

    int port() {
        return listener.getLocalPort();
    }

    /** Whether the first connection has passed its bytes and stalls now. */
    boolean stalled() {
        return stalled.getCount() == 0;
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                sockets.add(client);
                Socket instrument = new Socket(InetAddress.getLoopbackAddress(), target);
                sockets.add(instrument);
                long limit = first.getAndSet(false) ? stallAfter : Long.MAX_VALUE;
                List<Socket> pair = List.of(client, instrument);
                threads.execute(() -> pump(client::getInputStream, instrument::getOutputStream, limit, pair));
                threads.execute(() -> pump(instrument::getInputStream, client::getOutputStream, Long.MAX_VALUE, pair));
            } catch (IOException e) {
                // the listener was closed, or the instrument is gone: nothing more to relay
            }
        }
    }

    @FunctionalInterface
    private interface Stream<T> {
        T get() throws IOException;
    }

    /** Copies one direction of a connection until either end closes, then closes both ends of it. */
    private void pump(Stream<InputStream> from, Stream<OutputStream> to, long limit, List<Socket> pair) {
        byte[] buffer = new byte[8192];
        long left = limit;
        try {
            InputStream in = from.get();
            OutputStream out = to.get();
            while (left > 0) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                if (n < 0) {
                    break;
                }
                out.write(buffer, 0, n);
                out.flush();
                left -= n;
            }
            if (left == 0) {
                stalled.countDown();
                closed.await(); // read nothing more: the rest stays in the client's send buffer
            }
        } catch (IOException | InterruptedException e) {
            // closed: the relay ends
        } finally {
            close(pair);
        }
    }

    private static void close(List<Socket> sockets) {
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException ignored) {
                // released either way
            }
        }
    }

    @Override
    public void close() throws IOException {
        closed.countDown();
        listener.close();
        close(sockets);
        threads.shutdownNow();
    }
}
