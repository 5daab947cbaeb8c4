package org.labhal.server;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP server base: listens (loopback by default), accepts on a thread of its own, serves each
 * connection with a {@link ConnectionHandler} on a thread it owns, and keeps what a server exposed to
 * strangers must keep:
 * <ul>
 * <li><b>A connection cap.</b> At most {@link Builder#maxConnections(int)} connections are served at
 * once; beyond that a client is {@link AtCapacity#REFUSE refused politely} (the handler says why, then
 * FIN) or {@link AtCapacity#WAIT left in the backlog} until a slot frees up. Threads are bounded with
 * the connections: one per connection plus its {@link ServerConnection#startCompanion companions}.</li>
 * <li><b>An accept loop that never dies.</b> A failed accept (e.g. {@code EMFILE}, "Too many open
 * files", while clients hold every descriptor) is retried after a pause that doubles from
 * {@link Builder#acceptBackoff(Duration, Duration) the first delay} up to a cap, as Tomcat's acceptor
 * does; the streak is logged once when it starts and once when accepting works again. Only stopping
 * the server, or the listening channel being closed by someone else, ends the loop.</li>
 * <li><b>Room for a newcomer.</b> When every slot is taken and the connection idle longest (no byte
 * read from its client nor written to it) has been idle for {@link Builder#evictIdleAfter(Duration) at
 * least a minimum}, that connection is closed and its slot serves the newcomer: clients that merely
 * sit idle keep their connections while there is room, as instruments let them, and a host that holds
 * every slot without using them cannot keep others out for ever. Not when {@link AtCapacity#WAIT
 * waiting} at capacity: an instrument that takes one client at a time keeps that one.</li>
 * <li><b>A deadline on stalled writes.</b> A write through {@link ServerConnection#output()} that
 * makes no progress for {@link Builder#writeStallTimeout(Duration) a while} (the client does not
 * read its answers) closes its connection; a watchdog thread runs while connections are open.</li>
 * <li><b>A bounded send buffer</b> per connection ({@link Builder#sendBufferSize(int)}), so that a
 * client that asks and never reads stalls the server's writes after a few KiB instead of after the
 * megabytes an autotuned buffer grows to.</li>
 * <li><b>Counters</b> ({@link #counters()}) and a <b>clean stop</b> ({@link #close()}): stop accepting,
 * close every connection, interrupt and join every thread.</li>
 * </ul>
 *
 * <pre>{@code
 * try (TcpServer server = TcpServer.builder("echo").maxConnections(16).start(connection -> { ... })) {
 *     int port = server.port();
 * }
 * }</pre>
 *
 * <p>Threads are named {@code <name>-<port>-accept}, {@code <name>-<port>-<n>} and, while connections
 * are open, {@code <name>-<port>-watch}, daemon threads so that a forgotten server does not keep a JVM
 * alive. Thread-safe.
 */
public final class TcpServer implements AutoCloseable {
    /** The default cap of connections served at once. */
    public static final int DEFAULT_MAX_CONNECTIONS = 128;
    /** How long the idlest connection must have been idle, unless the builder says otherwise, to make room. */
    public static final Duration DEFAULT_EVICT_IDLE_AFTER = Duration.ofSeconds(10);
    /** How long a write may make no progress, unless the builder says otherwise, before its connection is closed. */
    public static final Duration DEFAULT_WRITE_STALL_TIMEOUT = Duration.ofSeconds(10);
    /** The send buffer of each accepted connection, in bytes, unless the builder says otherwise. */
    public static final int DEFAULT_SEND_BUFFER_SIZE = 64 * 1024;
    /** The shortest pause of the write watchdog between two looks at the connections. */
    private static final long MIN_WATCH_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    private static final Duration JOIN_TIMEOUT = Duration.ofSeconds(5);

    private final String name;
    private final ConnectionHandler handler;
    private final ServerLog log;
    private final ServerSocketChannel listener;
    private final InetSocketAddress address;
    private final int maxConnections;
    private final AtCapacity atCapacity;
    private final long firstDelayNanos;
    private final long maxDelayNanos;
    private final long evictIdleNanos; // 0: never
    private final long writeStallNanos; // 0: no deadline, no watchdog
    private final int sendBufferSize; // 0: the system's, autotuned
    private final Semaphore slots;
    private final ThreadPoolExecutor workers;
    private final Thread acceptor;
    private final CountDownLatch stopping = new CountDownLatch(1);
    private final Set<Thread> ownThreads = ConcurrentHashMap.newKeySet();
    private final Set<ServerConnection> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger liveThreads = new AtomicInteger();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong acceptFailures = new AtomicLong();
    private final AtomicLong evicted = new AtomicLong();
    private final AtomicLong stalledWrites = new AtomicLong();
    private final Object counts = new Object();
    private int open; // guarded by counts
    private int peak; // guarded by counts
    private boolean watching; // guarded by counts: the write watchdog runs or is about to
    private final String watchName;
    private volatile boolean backingOff;

    private TcpServer(Builder b, ConnectionHandler handler) throws IOException {
        this.name = b.name;
        this.handler = Objects.requireNonNull(handler, "handler");
        this.log = b.log;
        this.maxConnections = b.maxConnections;
        this.atCapacity = b.atCapacity;
        this.firstDelayNanos = b.firstDelay.toNanos();
        this.maxDelayNanos = b.maxDelay.toNanos();
        this.evictIdleNanos = saturatedNanos(b.evictIdleAfter);
        this.writeStallNanos = saturatedNanos(b.writeStallTimeout);
        this.sendBufferSize = b.sendBufferSize;
        this.slots = new Semaphore(maxConnections);
        if (b.listener != null) {
            this.listener = b.listener;
        } else {
            ServerSocketChannel channel = ServerSocketChannel.open();
            try {
                channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                channel.bind(new InetSocketAddress(b.bind, b.port), b.backlog);
            } catch (IOException e) {
                ServerConnection.closeQuietly(channel);
                throw new IOException(name + ": cannot listen on " + b.bind.getHostAddress() + ":" + b.port + ": "
                        + e.getMessage(), e);
            }
            this.listener = channel;
        }
        listener.configureBlocking(true);
        // The JDK sets up its channel-closing machinery (sun.nio.ch.FileDispatcherImpl, which opens a
        // descriptor of its own) on the first close of a socket channel. Should that first close come
        // when descriptors have run out, the class fails to initialise and no channel in the JVM can
        // be closed again: the server would leak every connection from then on. Close one now.
        SocketChannel.open().close();
        this.address = (InetSocketAddress) listener.getLocalAddress();
        // The port in the names tells apart the threads of several servers of one kind (port 0 picks one).
        String prefix = name + "-" + address.getPort() + "-";
        AtomicInteger numbers = new AtomicInteger();
        ThreadFactory factory = task -> newThread(task, prefix + numbers.incrementAndGet());
        // No queue: each task gets a thread of its own at once, and the cap bounds how many there are.
        this.workers = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 10, TimeUnit.SECONDS, new SynchronousQueue<>(),
                factory);
        this.acceptor = newThread(this::acceptLoop, prefix + "accept");
        this.watchName = prefix + "watch";
    }

    /**
     * @param name names the server in logs and, followed by the port, prefixes its threads' names, e.g.
     *        {@code labhal-sim-smw200a} for threads {@code labhal-sim-smw200a-5025-1}
     * @return a builder with the defaults: loopback, any free port, backlog 50,
     *         {@value #DEFAULT_MAX_CONNECTIONS} connections, refusing beyond unless a connection has been idle
     *         for 10 s, writes that make no progress for 10 s closed, a send buffer of
     *         {@value #DEFAULT_SEND_BUFFER_SIZE} bytes, back-off 50 ms to 1.6 s
     */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    private Thread newThread(Runnable task, String threadName) {
        Thread thread = new Thread(() -> {
            liveThreads.incrementAndGet();
            try {
                task.run();
            } finally {
                liveThreads.decrementAndGet();
            }
        }, threadName);
        thread.setDaemon(true); // a forgotten server must not keep a JVM alive
        ownThreads.removeIf(t -> t.getState() == Thread.State.TERMINATED);
        ownThreads.add(thread); // close() joins every one
        return thread;
    }

    private TcpServer begin() {
        acceptor.start();
        return this;
    }

    private boolean stopping() {
        return stopping.getCount() == 0;
    }

    private void acceptLoop() {
        long delay = firstDelayNanos;
        long failuresInStreak = 0;
        long streakStart = 0;
        while (!stopping()) {
            if (atCapacity == AtCapacity.WAIT) {
                try {
                    slots.acquire(); // the next client waits in the backlog until a connection ends
                } catch (InterruptedException e) {
                    return; // close()
                }
            }
            SocketChannel channel;
            try {
                channel = listener.accept();
            } catch (ClosedChannelException e) {
                if (!stopping()) {
                    warn(name + ": the listening socket on " + address + " was closed; no longer accepting");
                }
                return; // also AsynchronousCloseException / ClosedByInterruptException from close()
            } catch (IOException | RuntimeException e) {
                // EMFILE, ENFILE, ENOBUFS, a connection reset before it was taken: none of them is the
                // end of the server. Pause (doubling) so that the failure cannot spin, and go on.
                if (atCapacity == AtCapacity.WAIT) {
                    slots.release();
                }
                acceptFailures.incrementAndGet();
                if (failuresInStreak++ == 0) {
                    streakStart = System.nanoTime();
                    warn(name + ": accepting a connection on " + address + " failed (" + e
                            + "); retrying after pauses of " + TimeUnit.NANOSECONDS.toMillis(delay) + " ms doubling to "
                            + TimeUnit.NANOSECONDS.toMillis(maxDelayNanos)
                            + " ms; logged once until accepting works again");
                }
                backingOff = true;
                try {
                    if (stopping.await(delay, TimeUnit.NANOSECONDS)) {
                        return;
                    }
                } catch (InterruptedException stop) {
                    return;
                } finally {
                    backingOff = false;
                }
                delay = Math.min(maxDelayNanos, delay * 2);
                continue;
            }
            if (failuresInStreak > 0) {
                info(name + ": accepting again on " + address + " after " + failuresInStreak + " failed accepts in "
                        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - streakStart) + " ms");
                failuresInStreak = 0;
                delay = firstDelayNanos;
            }
            accepted.incrementAndGet();
            if (atCapacity == AtCapacity.REFUSE && !slots.tryAcquire() && !makeRoom()) {
                refuse(channel);
                continue;
            }
            serve(channel);
        }
    }

    /*
     * Logging must not end the accept loop: with no file descriptor left a logging backend can fail to
     * open what it needs (java.util.logging's formatter throws an Error when it cannot read the time
     * zone data). Then the message goes to stderr, which is already open.
     */
    private void warn(String message) {
        report(log::warn, "WARNING", message);
    }

    private void info(String message) {
        report(log::info, "INFO", message);
    }

    private static void report(java.util.function.Consumer<String> sink, String level, String message) {
        try {
            sink.accept(message);
        } catch (VirtualMachineError e) {
            throw e;
        } catch (RuntimeException | Error e) {
            System.err.println(level + ": " + message + " (the log failed: " + e + ")");
        }
    }

    /**
     * Every slot is taken and a newcomer waits on the acceptor: gives it the slot of a connection that
     * was closed already and whose thread has not yet returned, or else of the connection idle longest
     * if that one has been idle for the minimum, which is closed now. The closed connection's threads end
     * on their own as soon as they see the close.
     *
     * @return whether the newcomer has a slot
     */
    private boolean makeRoom() {
        long now = System.nanoTime();
        ServerConnection idlest = null;
        long longest = -1;
        for (ServerConnection c : connections) {
            if (!c.isOpen()) { // on its way out: its slot may go to the newcomer now
                release(c);
                return slots.tryAcquire();
            }
            long idle = c.idleNanos(now);
            if (idle > longest) {
                idlest = c;
                longest = idle;
            }
        }
        if (evictIdleNanos == 0 || idlest == null || longest < evictIdleNanos) {
            return false;
        }
        if (idlest.closeNow()) {
            info(name + ": closed " + idlest + ", idle for " + TimeUnit.NANOSECONDS.toMillis(longest)
                    + " ms, to serve a new client: all " + maxConnections + " connections were taken");
            evicted.incrementAndGet(); // after the line: whoever sees the count finds the line
        }
        release(idlest);
        return slots.tryAcquire(); // released here or by the connection's own thread just now
    }

    private void refuse(SocketChannel channel) {
        refused.incrementAndGet();
        try {
            handler.refuse(channel);
            // An orderly goodbye: FIN after the handler's words. Closing a socket with unread input
            // makes the kernel send RST, which may make the client lose those words, so what the
            // client sent already is read and dropped first (without waiting: this is the acceptor).
            channel.shutdownOutput();
            channel.configureBlocking(false);
            ByteBuffer drain = ByteBuffer.allocate(4096);
            for (int i = 0; i < 16 && channel.read(drain.clear()) > 0; i++) {
                // dropped
            }
        } catch (IOException | RuntimeException e) {
            // the client is turned away either way
        } finally {
            ServerConnection.closeQuietly(channel);
        }
    }

    private void serve(SocketChannel channel) {
        if (sendBufferSize > 0) {
            try {
                // Fixed, not autotuned: a client that asks and never reads stalls the writes after this much
                channel.setOption(StandardSocketOptions.SO_SNDBUF, sendBufferSize);
            } catch (IOException | RuntimeException e) {
                // the connection already failed: its handler finds out
            }
        }
        SocketAddress remote;
        try {
            remote = channel.getRemoteAddress();
        } catch (IOException e) {
            remote = null;
        }
        ServerConnection connection = new ServerConnection(accepted.get(), channel, remote, this);
        connections.add(connection);
        boolean startWatchdog;
        synchronized (counts) {
            open++;
            peak = Math.max(peak, open);
            counts.notifyAll();
            startWatchdog = writeStallNanos > 0 && !watching;
            watching |= startWatchdog;
        }
        if (stopping()) {
            end(connection); // close() may have missed it
            return;
        }
        if (startWatchdog) {
            newThread(this::watchWrites, watchName).start();
        }
        try {
            workers.execute(() -> run(connection));
        } catch (RejectedExecutionException shutDown) {
            end(connection);
        }
    }

    private void run(ServerConnection connection) {
        try {
            handler.serve(connection);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // close(): the thread ends now
        } catch (IOException e) {
            // the client went away, broke the protocol or the server closes it: the ordinary end
        } catch (Exception e) {
            if (!stopping()) {
                warn(name + ": serving " + connection + " failed: " + e);
            }
        } finally {
            end(connection);
        }
    }

    private void end(ServerConnection connection) {
        connection.close(); // never throws: the slot below is always freed
        release(connection);
    }

    /** Frees the connection's slot, once: its thread ending and a newcomer taking it may both try. */
    private void release(ServerConnection connection) {
        if (connections.remove(connection)) {
            slots.release();
            synchronized (counts) {
                open--;
                counts.notifyAll();
            }
        }
    }

    /**
     * The write watchdog: while connections are open, looks at them every quarter of the write stall
     * timeout and closes those whose write has made no progress for that long, which ends the blocked
     * write. Ends when the last connection does (the next one starts it again) or the server stops.
     */
    private void watchWrites() {
        long period = Math.max(MIN_WATCH_PERIOD_NANOS, writeStallNanos / 4);
        long next = System.nanoTime() + period;
        while (true) {
            synchronized (counts) {
                while (true) {
                    if (open == 0 || stopping()) {
                        watching = false;
                        return;
                    }
                    long wait = next - System.nanoTime();
                    if (wait <= 0) {
                        break;
                    }
                    try {
                        TimeUnit.NANOSECONDS.timedWait(counts, wait); // woken early by connections coming and going
                    } catch (InterruptedException e) {
                        watching = false;
                        return; // close()
                    }
                }
            }
            next = System.nanoTime() + period;
            long now = System.nanoTime();
            for (ServerConnection c : connections) {
                long stalled = c.writeStalledNanos(now);
                if (stalled >= writeStallNanos && c.closeNow()) {
                    warn(name + ": closed " + c + ": a write to it made no progress for "
                            + TimeUnit.NANOSECONDS.toMillis(stalled) + " ms; the client does not read its answers");
                    stalledWrites.incrementAndGet(); // after the line: whoever sees the count finds the line
                }
            }
        }
    }

    void warnCloseActionFailed(ServerConnection connection, RuntimeException e) {
        warn(name + ": closing " + connection + " failed: " + e);
    }

    void startCompanion(ServerConnection connection, Runnable task) throws IOException {
        try {
            workers.execute(task);
        } catch (RejectedExecutionException shutDown) {
            connection.close();
            throw new IOException(name + " is stopping: " + connection + " is closed");
        }
    }

    /** @return the name given to the builder */
    public String name() {
        return name;
    }

    /** @return the address the server listens on, with the chosen port when the builder asked for 0 */
    public InetSocketAddress address() {
        return address;
    }

    /** @return the port the server listens on */
    public int port() {
        return address.getPort();
    }

    /** @return what the server has done so far, read now */
    public ServerCounters counters() {
        int openNow;
        int peakNow;
        synchronized (counts) {
            openNow = open;
            peakNow = peak;
        }
        return new ServerCounters(name, address, maxConnections, openNow, peakNow, accepted.get(), refused.get(),
                acceptFailures.get(), liveThreads.get(), backingOff, evicted.get(), stalledWrites.get());
    }

    /** @return the connections being served now, a snapshot */
    public List<ServerConnection> connections() {
        return List.copyOf(connections);
    }

    /**
     * Waits until exactly {@code count} connections are being served.
     *
     * @param count the number to wait for
     * @param timeout how long to wait at most
     * @return whether the count was reached in time
     * @throws InterruptedException when interrupted while waiting
     */
    public boolean awaitOpenConnections(int count, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + saturatedNanos(timeout);
        synchronized (counts) {
            while (open != count) {
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(counts, remaining);
            }
            return true;
        }
    }

    /**
     * Closes every connection being served, as an instrument that reboots does; the server goes on
     * accepting.
     *
     * @param reset {@code true} for a TCP reset (RST), {@code false} for an orderly close (FIN)
     */
    public void dropConnections(boolean reset) {
        for (ServerConnection connection : connections()) {
            if (reset) {
                connection.abort();
            } else {
                connection.close();
            }
        }
    }

    /**
     * Stops: closes the listening socket (clients still in the backlog are reset), closes every
     * connection, interrupts the server's threads and waits up to 5 s for each of them to end.
     * Idempotent; a thread that does not end in time is named in a warning.
     */
    @Override
    public void close() {
        if (stopping()) {
            return;
        }
        stopping.countDown();
        synchronized (counts) {
            counts.notifyAll(); // wakes the write watchdog
        }
        ServerConnection.closeQuietly(listener); // wakes the acceptor
        acceptor.interrupt(); // in case it waits for a slot
        dropConnections(false);
        workers.shutdownNow(); // interrupts what still waits for something other than its socket
        long deadline = System.nanoTime() + JOIN_TIMEOUT.toNanos();
        List<String> stuck = new ArrayList<>();
        boolean interrupted = false;
        for (Thread thread : List.copyOf(ownThreads)) {
            if (thread == Thread.currentThread() || thread.getState() == Thread.State.NEW) {
                continue; // a handler stopping its own server; a thread the pool never started
            }
            try {
                long left = deadline - System.nanoTime();
                if (left > 0) {
                    TimeUnit.NANOSECONDS.timedJoin(thread, left);
                }
            } catch (InterruptedException e) {
                interrupted = true;
            }
            if (thread.isAlive()) {
                stuck.add(thread.getName());
            }
        }
        if (!stuck.isEmpty()) {
            warn(name + ": threads still running " + JOIN_TIMEOUT.toSeconds() + " s after the stop: " + stuck);
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        ServerCounters c = counters();
        return "TcpServer[" + name + " on " + address + ", " + c.openConnections() + "/" + maxConnections
                + " connections]";
    }

    static long saturatedNanos(Duration d) {
        if (d == null || d.isNegative()) {
            return 0;
        }
        try {
            return Math.min(d.toNanos(), Long.MAX_VALUE / 4);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE / 4;
        }
    }

    /** How a {@link TcpServer} listens and what it allows. Not thread-safe. */
    public static final class Builder {
        private final String name;
        private InetAddress bind = InetAddress.getLoopbackAddress();
        private int port;
        private int backlog = 50;
        private ServerSocketChannel listener;
        private int maxConnections = DEFAULT_MAX_CONNECTIONS;
        private AtCapacity atCapacity = AtCapacity.REFUSE;
        private Duration firstDelay = Duration.ofMillis(50);
        private Duration maxDelay = Duration.ofMillis(1600);
        private Duration evictIdleAfter = DEFAULT_EVICT_IDLE_AFTER;
        private Duration writeStallTimeout = DEFAULT_WRITE_STALL_TIMEOUT;
        private int sendBufferSize = DEFAULT_SEND_BUFFER_SIZE;
        private ServerLog log = ServerLog.system();

        private Builder(String name) {
            this.name = Objects.requireNonNull(name, "name");
            if (name.isBlank()) {
                throw new IllegalArgumentException("a server name must not be blank");
            }
        }

        /**
         * @param address the local address to listen on; default the loopback address. Anything else
         *        makes the server reachable from other hosts: say so in the configuration that asks.
         */
        public Builder bindAddress(InetAddress address) {
            this.bind = Objects.requireNonNull(address, "address");
            return this;
        }

        /** @param value the TCP port, 0 (the default) for any free one */
        public Builder port(int value) {
            if (value < 0 || value > 65535) {
                throw new IllegalArgumentException("port must be 0 to 65535, was " + value);
            }
            this.port = value;
            return this;
        }

        /** @param value the listen backlog, at least 1; default 50 */
        public Builder backlog(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("backlog must be at least 1, was " + value);
            }
            this.backlog = value;
            return this;
        }

        /**
         * Serves on a channel that is already bound (e.g. handed over by the system) instead of binding
         * one; the server closes it when it stops. {@link #bindAddress}, {@link #port} and
         * {@link #backlog} are then ignored.
         *
         * @param value a bound channel
         */
        public Builder listener(ServerSocketChannel value) {
            this.listener = Objects.requireNonNull(value, "listener");
            return this;
        }

        /** @param value how many connections are served at once, at least 1; default {@value #DEFAULT_MAX_CONNECTIONS} */
        public Builder maxConnections(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("maxConnections must be at least 1, was " + value);
            }
            this.maxConnections = value;
            return this;
        }

        /** @param value what happens to a client beyond the cap; default {@link AtCapacity#REFUSE} */
        public Builder atCapacity(AtCapacity value) {
            this.atCapacity = Objects.requireNonNull(value, "atCapacity");
            return this;
        }

        /**
         * When a newcomer arrives and every slot is taken, the connection idle longest is closed and its
         * slot serves the newcomer, provided it has been idle at least this long; otherwise the newcomer
         * is refused. Idle: no byte read from its client and nothing written to it, as far as the handler
         * lets the server see ({@link ServerConnection#input()}, {@link ServerConnection#output()},
         * {@link ServerConnection#noteActivity()}). Nobody is closed for being idle while there is room.
         * The closed client sees the end of the stream; a line is logged (info) naming it and how long it
         * was idle; {@link ServerCounters#evicted()} counts them. Ignored with {@link AtCapacity#WAIT}: an
         * instrument that serves one client at a time keeps that client however idle it is.
         *
         * @param value the minimum idle time; {@code null} or zero never closes an idle connection; default
         *        10 s
         * @throws IllegalArgumentException when negative
         */
        public Builder evictIdleAfter(Duration value) {
            this.evictIdleAfter = notNegative("evictIdleAfter", value);
            return this;
        }

        /**
         * A write through {@link ServerConnection#output()} that makes no progress for this long (the
         * client does not read its answers and the send buffer is full) closes its connection, which ends
         * the write with an {@link IOException}; a warning names the connection and
         * {@link ServerCounters#stalledWrites()} counts them. A write that goes on making progress, however
         * slowly, is not cut. A watchdog thread, {@code <name>-<port>-watch}, looks every quarter of this
         * time while connections are open.
         *
         * @param value how long a write may make no progress; {@code null} or zero for no deadline (and no
         *        watchdog); default 10 s
         * @throws IllegalArgumentException when negative
         */
        public Builder writeStallTimeout(Duration value) {
            this.writeStallTimeout = notNegative("writeStallTimeout", value);
            return this;
        }

        /**
         * The send buffer (SO_SNDBUF) of each accepted connection. Set, the kernel no longer grows it on
         * its own (to 4 MiB on Linux loopback), so a client that floods questions and never reads stalls
         * the server's answers after about this much (Linux doubles the value for its bookkeeping).
         *
         * @param bytes the size, or 0 to leave the system's autotuned buffer; default
         *        {@value #DEFAULT_SEND_BUFFER_SIZE}
         * @throws IllegalArgumentException when negative
         */
        public Builder sendBufferSize(int bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("sendBufferSize must be 0 (the system's) or more, was " + bytes);
            }
            this.sendBufferSize = bytes;
            return this;
        }

        private static Duration notNegative(String what, Duration value) {
            if (value != null && value.isNegative()) {
                throw new IllegalArgumentException(what + " must be zero (never) or more, was " + value);
            }
            return value == null ? Duration.ZERO : value;
        }

        /**
         * @param first the pause after the first failed accept of a streak, at least 1 ms; default 50 ms
         * @param max the longest pause, which the doubling stops at, not less than {@code first};
         *        default 1.6 s
         */
        public Builder acceptBackoff(Duration first, Duration max) {
            if (first.compareTo(Duration.ofMillis(1)) < 0 || max.compareTo(first) < 0
                    || max.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new IllegalArgumentException("accept back-off must be 1 ms <= first <= max <= 10 min, was "
                        + first + " to " + max);
            }
            this.firstDelay = first;
            this.maxDelay = max;
            return this;
        }

        /** @param value where warnings and lifecycle events go; default {@link ServerLog#system()} */
        public Builder log(ServerLog value) {
            this.log = Objects.requireNonNull(value, "log");
            return this;
        }

        /**
         * Binds (unless given a {@link #listener}) and starts accepting.
         *
         * @param handler serves each connection
         * @return the running server
         * @throws IOException when the port cannot be bound; the message names address and port
         */
        public TcpServer start(ConnectionHandler handler) throws IOException {
            return new TcpServer(this, handler).begin();
        }
    }
}
