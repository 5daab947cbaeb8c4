package org.labhal.runtime.internal.instrument;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A raw SCPI server on loopback that behaves as real instruments do towards more than one client, for
 * tests of the runtime. It answers {@code *IDN?} with {@link #IDN} and {@code SYST:ERR?} with an empty
 * error queue, ignores anything else, and counts what a device would suffer from.
 * <ul>
 * <li>{@link Mode#ONE_AT_A_TIME}: accepts one client and serves it until it closes; only then accepts
 * the next (the others wait in the listen backlog, connected but unanswered), as many LAN instruments
 * and serial-to-LAN gateways do.</li>
 * <li>{@link Mode#NEWEST_TAKES_OVER}: a new client takes over: the previous one is dropped.</li>
 * <li>{@link Mode#MANY}: serves every client at once.</li>
 * </ul>
 * Before answering, the server looks whether the client hung up meanwhile: a question whose asker is
 * gone counts as {@link #orphanedQuestions()} (a real device writes that answer into a closed socket and,
 * written in C without handling SIGPIPE, dies of it).
 */
public final class ScpiTestServer implements AutoCloseable {
    /** The identity the server reports. */
    public static final String IDN = "ACME Instruments,BOX-1,SN42,1.0";

    /** How the server treats more than one client. */
    public enum Mode { ONE_AT_A_TIME, NEWEST_TAKES_OVER, MANY }

    private final Mode mode;
    private final boolean trickle;
    private final ServerSocketChannel server;
    private final ExecutorService threads = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "scpi-test-server");
        thread.setDaemon(true);
        return thread;
    });
    private final Set<SocketChannel> clients = ConcurrentHashMap.newKeySet();
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger answered = new AtomicInteger();
    private final AtomicInteger orphaned = new AtomicInteger();
    private volatile SocketChannel newest;

    /**
     * @param mode how more than one client is treated
     * @param trickle whether {@code *IDN?} is answered by an endless trickle of bytes with no terminator
     * @throws IOException when the port cannot be bound
     */
    public ScpiTestServer(Mode mode, boolean trickle) throws IOException {
        this.mode = mode;
        this.trickle = trickle;
        server = ServerSocketChannel.open();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        threads.execute(this::acceptLoop);
    }

    /** @return the resource string of the server, {@code TCPIP::127.0.0.1::<port>::SOCKET} */
    public String resource() {
        try {
            return "TCPIP::127.0.0.1::" + ((InetSocketAddress) server.getLocalAddress()).getPort() + "::SOCKET";
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return how many connections the server has taken out of the backlog */
    public int accepted() {
        return accepted.get();
    }

    /** @return how many questions were answered */
    public int answered() {
        return answered.get();
    }

    /** @return how many questions arrived from a client that had hung up before the answer */
    public int orphanedQuestions() {
        return orphaned.get();
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            SocketChannel client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            accepted.incrementAndGet();
            clients.add(client);
            switch (mode) {
                case ONE_AT_A_TIME -> serve(client); // the next client waits until this one is done
                case NEWEST_TAKES_OVER -> {
                    SocketChannel previous = newest;
                    newest = client;
                    if (previous != null) {
                        closeQuietly(previous);
                    }
                    threads.execute(() -> serve(client));
                }
                case MANY -> threads.execute(() -> serve(client));
                default -> throw new IllegalStateException(mode.toString());
            }
        }
    }

    private void serve(SocketChannel client) {
        StringBuilder pending = new StringBuilder();
        boolean[] hungUp = { false };
        try (client) {
            while (true) {
                int newline = pending.indexOf("\n");
                if (newline < 0) {
                    if (hungUp[0] || !receive(client, pending, true, hungUp)) {
                        return;
                    }
                    continue;
                }
                String question = pending.substring(0, newline).strip();
                pending.delete(0, newline + 1);
                String answer = answer(question);
                if (answer == null) {
                    continue;
                }
                receive(client, pending, false, hungUp); // whatever came meanwhile, the end of input included
                if (hungUp[0]) {
                    orphaned.incrementAndGet(); // the asker is gone: a real device writes into a closed socket
                    continue;
                }
                if (trickle && question.equals("*IDN?")) {
                    trickle(client);
                    return;
                }
                client.write(ByteBuffer.wrap((answer + "\n").getBytes(StandardCharsets.US_ASCII)));
                answered.incrementAndGet();
            }
        } catch (IOException e) {
            // the client went away, or the server was closed
        } finally {
            clients.remove(client);
        }
    }

    /**
     * Reads what the client sent into {@code pending}: waiting for at least one byte, or only what has
     * arrived. Notes in {@code hungUp} when the client has closed its side (it will read no answer).
     *
     * @return false when the client had closed and nothing more came
     */
    private static boolean receive(SocketChannel client, StringBuilder pending, boolean wait, boolean[] hungUp)
            throws IOException {
        client.configureBlocking(wait);
        try {
            ByteBuffer input = ByteBuffer.allocate(4096);
            boolean any = false;
            while (true) {
                input.clear();
                int read = client.read(input);
                if (read < 0) {
                    hungUp[0] = true;
                    return any;
                }
                if (read == 0) {
                    return any;
                }
                pending.append(new String(input.array(), 0, read, StandardCharsets.US_ASCII));
                any = true;
                if (wait) {
                    return true;
                }
            }
        } finally {
            client.configureBlocking(true);
        }
    }

    private static String answer(String question) {
        return switch (question) {
            case "*IDN?" -> IDN;
            case "SYST:ERR?", "SYSTEM:ERROR?" -> "0,\"No error\"";
            default -> null;
        };
    }

    /** One byte every 100 ms and never a terminator: an instrument streaming without end. */
    private void trickle(SocketChannel client) throws IOException {
        try {
            while (client.isOpen()) {
                client.write(ByteBuffer.wrap(new byte[] { 'x' }));
                TimeUnit.MILLISECONDS.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // going anyway
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        clients.forEach(ScpiTestServer::closeQuietly);
        threads.shutdownNow();
    }
}
