package org.labhal.faults;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A loopback TCP relay between a client and an instrument-side server that misbehaves on request.
 * Every connection a client makes to {@link #port()} is relayed to the target by two pump threads,
 * one per direction. {@link #arm(Rule)} chooses a fault: once the rule's direction has carried
 * {@link Rule#offset()} bytes since arming (counted over all connections), the connection carrying
 * the next byte gets the fault, once. {@link #heal()} ends a lasting fault (stall, trickle, flood)
 * and relays normally again; bytes held by a stall are delivered then, late, as a recovering
 * instrument would.
 * <p>
 * Test code: plain threads, one per pump, so that when a connection ends its threads end too and
 * the leak counts of a case see nothing of the proxy.
 */
final class FaultProxy implements AutoCloseable {
    /** How long the sender must pause for a truncation to end. */
    private static final int QUIET_MILLIS = 50;
    /** A truncation never drops for longer than this, even if the sender never pauses. */
    private static final long TRUNCATE_MAX_NANOS = TimeUnit.SECONDS.toNanos(2);
    private static final byte[] FLOOD = "0123456789,".repeat(745).getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** Which way bytes go through the proxy. */
    enum Direction {
        /** Client to instrument: commands. */
        TO_INSTRUMENT,
        /** Instrument to client: answers. */
        TO_CLIENT
    }

    /** What happens at the chosen byte. */
    enum Action {
        /** Nothing: only note that the byte passed ({@link #awaitReached}). */
        MARK,
        /** Hold the rest for {@link Rule#time()}, then relay normally. */
        DELAY,
        /** Relay nothing more in this direction, and read nothing, until {@link #heal()}. */
        STALL,
        /** Relay one byte every {@link Rule#time()} until {@link #heal()}. */
        TRICKLE,
        /** Close both sides of the connection gracefully (FIN). */
        FIN,
        /** Close both sides of the connection with a reset (SO_LINGER 0). */
        RST,
        /** Send endless digits without a terminator or frame until {@link #heal()} or the receiver closes. */
        FLOOD,
        /** Drop what follows until the sender pauses, then relay normally: a message cut short. */
        TRUNCATE,
        /** Invert the chosen byte. */
        CORRUPT
    }

    /**
     * @param direction the direction to watch
     * @param offset how many bytes pass untouched after arming; the fault starts at the next one
     * @param action what to do there
     * @param time the delay of {@link Action#DELAY}, the interval of {@link Action#TRICKLE}
     */
    record Rule(Direction direction, long offset, Action action, Duration time) {
        Rule {
            Objects.requireNonNull(direction, "direction");
            Objects.requireNonNull(action, "action");
            Objects.requireNonNull(time, "time");
            if (offset < 0) {
                throw new IllegalArgumentException("offset must be >= 0, got " + offset);
            }
        }

        static Rule at(Direction direction, long offset, Action action) {
            return new Rule(direction, offset, action, Duration.ZERO);
        }

        @Override
        public String toString() {
            return action + " " + direction + " at byte " + offset + (time.isZero() ? "" : " (" + time.toMillis() + " ms)");
        }
    }

    private final InetSocketAddress target;
    private final ServerSocket listener;
    private final Thread acceptor;
    private final List<Link> links = new ArrayList<>(); // guarded by this
    private final long[] counted = new long[Direction.values().length]; // guarded by this
    private Rule rule; // guarded by this
    private boolean claimed; // guarded by this
    private CountDownLatch reached = new CountDownLatch(1); // guarded by this
    private CountDownLatch healed = new CountDownLatch(0); // guarded by this
    private volatile boolean closed;

    /** Starts relaying from an ephemeral loopback port to {@code target}. */
    FaultProxy(InetSocketAddress target) throws IOException {
        this(target, 0);
    }

    /**
     * Like {@link #FaultProxy(InetSocketAddress)}, with the receive buffer of the connections it accepts
     * fixed at {@code receiveBuffer} bytes (0: the system's, which loopback grows to megabytes): the
     * small TCP window of an embedded peer, so that a client's write of a moderate message blocks when
     * the proxy stops reading.
     */
    FaultProxy(InetSocketAddress target, int receiveBuffer) throws IOException {
        this.target = Objects.requireNonNull(target, "target");
        listener = new ServerSocket();
        if (receiveBuffer > 0) {
            listener.setReceiveBufferSize(receiveBuffer); // accepted sockets inherit it; set before bind
        }
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        acceptor = new Thread(this::accept, "fault-proxy-" + listener.getLocalPort() + "-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** The port clients connect to. */
    int port() {
        return listener.getLocalPort();
    }

    /** Arms a fault, replacing any earlier one, and counts bytes from here. */
    synchronized void arm(Rule next) {
        healed.countDown();
        rule = Objects.requireNonNull(next, "rule");
        claimed = false;
        reached = new CountDownLatch(1);
        healed = new CountDownLatch(1);
        java.util.Arrays.fill(counted, 0);
    }

    /** Ends the fault: stalled bytes go out, trickles and floods stop, later bytes pass untouched. */
    synchronized void heal() {
        rule = null;
        healed.countDown();
    }

    /** @return whether the armed rule's byte was reached within {@code timeout} */
    boolean awaitReached(Duration timeout) throws InterruptedException {
        CountDownLatch latch;
        synchronized (this) {
            latch = reached;
        }
        return latch.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** @return how many connections are being relayed now */
    synchronized int openLinks() {
        links.removeIf(Link::done);
        return links.size();
    }

    private void accept() {
        int number = 0;
        while (!closed) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                return; // closed
            }
            Socket server = new Socket();
            try {
                server.connect(target, 5_000);
            } catch (IOException e) {
                quietly(client, true);
                quietly(server, true);
                continue;
            }
            Link link = new Link(number++, client, server);
            synchronized (this) {
                if (closed) {
                    link.close(false);
                    return;
                }
                links.add(link);
                link.start(); // under the lock: awaitLinks sees a link only with its pumps running
                notifyAll();
            }
        }
    }

    /** @return whether {@code count} connections were being relayed within {@code timeout} */
    synchronized boolean awaitLinks(int count, Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (openLinks() < count) {
            long left = end - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    /**
     * Decides what to do with {@code n} bytes read from one direction of one link: returns the
     * position of the faulted byte within them, or -1 when they pass untouched.
     */
    private synchronized int place(Direction direction, int n) {
        if (rule == null || claimed || rule.direction() != direction) {
            return -1;
        }
        long start = counted[direction.ordinal()];
        counted[direction.ordinal()] = start + n;
        if (rule.offset() >= start + n) {
            return -1;
        }
        claimed = true;
        return (int) (rule.offset() - start);
    }

    private synchronized Rule currentRule() {
        return rule;
    }

    private synchronized CountDownLatch currentHealed() {
        return healed;
    }

    private synchronized void markReached() {
        reached.countDown();
    }

    /** Closes the listener and every relayed connection, and waits for the pump threads. */
    @Override
    public void close() {
        closed = true;
        quietly(listener);
        List<Link> all;
        synchronized (this) {
            heal();
            all = List.copyOf(links);
            links.clear();
        }
        for (Link link : all) {
            link.close(false);
        }
        try {
            acceptor.join(2_000);
            for (Link link : all) {
                link.join(2_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "FaultProxy[127.0.0.1:" + port() + " -> " + target + ", " + currentRule() + "]";
    }

    /** One relayed connection: a client socket, a server socket and a pump each way. */
    private final class Link {
        private final Socket client;
        private final Socket server;
        private final Thread up;
        private final Thread down;
        /** Pumps that have ended: when both have, the sockets are closed. */
        private final java.util.concurrent.atomic.AtomicInteger ended = new java.util.concurrent.atomic.AtomicInteger();
        /** Per direction: the heal that ends a trickle going on for later chunks too, or null. */
        private final CountDownLatch[] trickling = new CountDownLatch[2];
        /** Per direction: the interval of that trickle. */
        private final Duration[] trickleEvery = new Duration[2];

        Link(int number, Socket client, Socket server) {
            this.client = client;
            this.server = server;
            String name = "fault-proxy-" + port() + "-" + number;
            up = new Thread(() -> pump(Direction.TO_INSTRUMENT, client, server), name + "-up");
            down = new Thread(() -> pump(Direction.TO_CLIENT, server, client), name + "-down");
            up.setDaemon(true);
            down.setDaemon(true);
        }

        void start() {
            up.start();
            down.start();
        }

        boolean done() {
            return !up.isAlive() && !down.isAlive();
        }

        void join(long millis) throws InterruptedException {
            up.join(millis);
            down.join(millis);
        }

        void close(boolean reset) {
            quietly(client, reset);
            quietly(server, reset);
        }

        private void pump(Direction direction, Socket from, Socket to) {
            byte[] buffer = new byte[8192];
            try {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                while (true) {
                    int n = in.read(buffer);
                    if (n < 0) {
                        to.shutdownOutput(); // pass the FIN on
                        return;
                    }
                    CountDownLatch trickle = trickling[direction.ordinal()];
                    if (trickle != null && trickle.getCount() > 0) {
                        trickle(buffer, 0, n, out, trickle, trickleEvery[direction.ordinal()]);
                        continue;
                    }
                    int at = place(direction, n);
                    if (at < 0) {
                        out.write(buffer, 0, n);
                        continue;
                    }
                    out.write(buffer, 0, at);
                    out.flush();
                    markReached();
                    if (!fault(direction, buffer, at, n, from, out)) {
                        return;
                    }
                }
            } catch (IOException e) {
                // one side went away: take the other down too, as a relay does
                close(false);
            } catch (InterruptedException e) {
                close(false);
            } finally {
                if (ended.incrementAndGet() == 2) {
                    close(false); // both directions ended with a FIN: the sockets are still open until now
                }
            }
        }

        /** Applies the rule at {@code buffer[at]}; returns whether the pump goes on. */
        private boolean fault(Direction direction, byte[] buffer, int at, int n, Socket from, OutputStream out)
                throws IOException, InterruptedException {
            Rule applied = currentRule();
            if (applied == null) { // healed meanwhile
                out.write(buffer, at, n - at);
                return true;
            }
            CountDownLatch heal = currentHealed();
            switch (applied.action()) {
                case MARK -> out.write(buffer, at, n - at);
                case DELAY -> {
                    heal.await(applied.time().toMillis(), TimeUnit.MILLISECONDS);
                    out.write(buffer, at, n - at);
                }
                case STALL -> {
                    heal.await();
                    out.write(buffer, at, n - at);
                }
                case TRICKLE -> {
                    trickling[direction.ordinal()] = heal;
                    trickleEvery[direction.ordinal()] = applied.time();
                    trickle(buffer, at, n, out, heal, applied.time());
                }
                case FIN -> {
                    close(false);
                    return false;
                }
                case RST -> {
                    close(true);
                    return false;
                }
                case FLOOD -> {
                    while (heal.getCount() > 0) {
                        out.write(FLOOD);
                    }
                }
                case TRUNCATE -> drainUntilQuiet(from);
                case CORRUPT -> {
                    buffer[at] = (byte) ~buffer[at];
                    out.write(buffer, at, n - at);
                }
                default -> throw new IllegalStateException("unknown action " + applied.action());
            }
            return true;
        }

        private void trickle(byte[] buffer, int from, int to, OutputStream out, CountDownLatch heal, Duration every)
                throws IOException, InterruptedException {
            for (int i = from; i < to; i++) {
                if (heal.getCount() == 0) {
                    out.write(buffer, i, to - i);
                    return;
                }
                out.write(buffer[i]);
                out.flush();
                heal.await(every.toMillis(), TimeUnit.MILLISECONDS);
            }
        }

        /** Discards input until the sender pauses for {@link #QUIET_MILLIS}. */
        private void drainUntilQuiet(Socket from) throws IOException {
            byte[] sink = new byte[8192];
            long end = System.nanoTime() + TRUNCATE_MAX_NANOS;
            from.setSoTimeout(QUIET_MILLIS);
            try {
                while (System.nanoTime() < end) {
                    if (from.getInputStream().read(sink) < 0) {
                        return;
                    }
                }
            } catch (SocketTimeoutException quiet) {
                // the message is over: relay normally again
            } finally {
                from.setSoTimeout(0);
            }
        }
    }

    private static void quietly(Socket socket, boolean reset) {
        try {
            if (reset && !socket.isClosed()) {
                socket.setSoLinger(true, 0);
            } else if (!reset && socket.isConnected() && !socket.isClosed() && !socket.isOutputShutdown()) {
                // The FIN now: a close while the other pump blocks in a read on this socket is deferred.
                socket.shutdownOutput();
            }
        } catch (IOException e) {
            // already gone
        }
        quietly(socket);
    }

    private static void quietly(AutoCloseable closeable) {
        try {
            closeable.close();
        } catch (Exception e) {
            // closing is best effort here: the peer may be gone
        }
    }
}
