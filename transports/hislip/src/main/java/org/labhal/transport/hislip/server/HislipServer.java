package org.labhal.transport.hislip.server;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.labhal.server.ConnectionHandler;
import org.labhal.server.ServerConnection;
import org.labhal.server.ServerCounters;
import org.labhal.server.ServerLog;
import org.labhal.server.TcpServer;
import org.labhal.transport.hislip.HislipProtocolException;
import org.labhal.transport.hislip.internal.FrameChannel;
import org.labhal.transport.hislip.internal.Header;
import org.labhal.transport.hislip.internal.MessageType;
import org.labhal.transport.sim.SimConnection;
import org.labhal.transport.sim.SimSettings;
import org.labhal.transport.sim.SimulatedInstrument;

/**
 * Serves a {@link SimulatedInstrument} over HiSLIP (IVI-6.1, protocol 1.0) on a TCP port, loopback
 * by default: {@code TCPIP::127.0.0.1::hislip0,<port>::INSTR}. Every HiSLIP session is one
 * {@link SimulatedInstrument#connect() connection} of the instrument, so the model decides what
 * sessions share (nothing but the settings on {@code SMW200A}, every buffer on {@code SHARED}).
 *
 * <p>Implemented: Initialize / AsyncInitialize with session ids, AsyncMaximumMessageSize, Data /
 * DataEND with the generating message's id and responses fragmented to the client's maximum,
 * AsyncDeviceClear / DeviceClearComplete (the simulator's device clear), AsyncLock request and
 * release with exclusive and shared locks across sessions, AsyncLockInfo, AsyncRemoteLocalControl
 * (acknowledged), AsyncStatusQuery with the simulated instrument's status byte (EAV, MAV, ESB, MSS),
 * Error / FatalError for malformed or misplaced messages.
 *
 * <p>Locks are enforced, not advisory: while one session holds the exclusive lock, or sessions hold
 * the shared lock under a lock string another session does not share, that other session's Data,
 * DataEND, Trigger, device clear and remote/local control wait until the lock lets them through
 * (see {@code InstrumentLocks}); its client's own timeout decides how long. A lock release waits
 * until the message whose id it carries has been carried out. A session that closes or whose
 * connection drops releases its locks at once. {@link #operationsHeldOff()} shows what waits.
 *
 * <p>Modes: synchronized unless {@link Builder#overlapped(boolean)}. In both, every response carries
 * the id of the message that produced it, and pipelined messages are all answered in order; MAV in
 * the status byte follows RMT-delivered in synchronized mode and the message id of the status query
 * in overlapped mode. Not implemented: Trigger does nothing, no service requests, no Interrupted
 * (responses go out as soon as they are made).
 *
 * <pre>{@code
 * try (HislipServer server = HislipServer.builder("SMW200A").start()) {   // 127.0.0.1, any free port
 *     String resource = server.resource();                              // TCPIP::127.0.0.1::hislip0,<port>::INSTR
 * }
 * }</pre>
 *
 * <p>Served by the {@link TcpServer} base: loopback unless told otherwise, at most
 * {@link Builder#maxConnections(int) 128 TCP connections} (64 sessions) at once, the next one gets
 * FatalError 4 and is closed, unless the channel idle longest has carried nothing for
 * {@link Builder#evictIdleAfter(Duration) 10 s}: its session is closed and the newcomer served; a
 * send buffer of {@link Builder#sendBufferSize(int) 64 KiB} per channel; an accept loop that backs off
 * and goes on when file descriptors run out. A session without Initialize within 10 s, or whose client
 * leaves a message unread for 10 s, is closed by the channels' own deadlines.
 * Memory per session is bounded: a message header announcing more than
 * {@link Builder#maxMessageSize(long) the maximum} is a FatalError and closes the channel before any
 * payload is read, payloads stream into the instrument in pieces, and a program message longer than
 * the instrument's input buffer is discarded with -363.
 *
 * <p>Threads: {@code labhal-hislip-sim-<port>-accept} and one per channel, so two per session,
 * {@code labhal-hislip-sim-<port>-<n>}: the synchronous channel's thread blocks inside the instrument
 * while the asynchronous one must still answer lock, clear and status requests, so the two cannot
 * share a thread without a rewrite as an event loop. Thread-safe; {@link #close()} stops everything
 * and joins them.
 */
public final class HislipServer implements AutoCloseable {
    /** The IANA port of HiSLIP. */
    public static final int DEFAULT_PORT = 4880;

    /** How many TCP connections (two per session) a server serves at once unless its builder says otherwise. */
    public static final int DEFAULT_MAX_CONNECTIONS = TcpServer.DEFAULT_MAX_CONNECTIONS;
    /** IVI-6.1 FatalError code 4: the server refused the connection, the maximum number of clients is exceeded. */
    private static final int TOO_MANY_CLIENTS = 4;

    private final SimulatedInstrument instrument;
    private final TcpServer server;
    private final boolean overlapped;
    private final long maxMessageSize;
    private final int vendorCode;
    private final int maxConnections;
    private final InstrumentLocks locks = new InstrumentLocks();
    private final Map<Integer, ServerSession> sessions = new ConcurrentHashMap<>();
    private final AtomicInteger nextSession = new AtomicInteger();
    private volatile boolean closed;

    private HislipServer(Builder builder) throws IOException {
        this.overlapped = builder.overlapped;
        this.maxMessageSize = builder.maxMessageSize;
        this.vendorCode = (builder.vendorId.charAt(0) & 0xff) << 8 | builder.vendorId.charAt(1) & 0xff;
        this.maxConnections = builder.maxConnections;
        this.instrument = SimulatedInstrument.create(builder.model, builder.settings);
        ConnectionHandler handler = new ConnectionHandler() {
            @Override
            public void serve(ServerConnection connection) {
                handshake(connection);
            }

            @Override
            public void refuse(SocketChannel channel) throws IOException {
                byte[] text = ("the server serves " + maxConnections + " connections (two per session) at most")
                        .getBytes(StandardCharsets.US_ASCII);
                ByteBuffer message = ByteBuffer.allocate(Header.SIZE + text.length);
                new Header(MessageType.FATAL_ERROR, TOO_MANY_CLIENTS, 0, text.length).encode(message);
                channel.write(message.put(text).flip()); // a few bytes into the empty send buffer of a new connection
            }
        };
        try {
            this.server = builder.tcp.start(handler);
        } catch (IOException e) {
            instrument.close();
            throw e;
        }
    }

    /**
     * @param model one of {@link SimulatedInstrument#models()}, case-insensitive
     * @return a builder for a server of a new instrument of that model
     * @throws IllegalArgumentException when the model is unknown
     */
    public static Builder builder(String model) {
        return new Builder(model);
    }

    /** The first message on a new TCP connection says which channel it is. */
    private void handshake(ServerConnection connection) {
        FrameChannel channel;
        try {
            channel = FrameChannel.of(connection.channel());
        } catch (IOException e) {
            return;
        }
        // The server base sees the traffic (an idle channel may lose its slot to a newcomer at capacity),
        // and its closing the connection wakes the channel's selectors, which closing the socket does not.
        channel.onActivity(connection::noteActivity);
        connection.onClose(channel::close);
        try {
            Header h;
            try {
                h = channel.readHeader(System.nanoTime() + 10_000_000_000L, maxMessageSize);
            } catch (HislipProtocolException e) {
                fatal(channel, 1, e.getMessage());
                return;
            }
            switch (h.type()) {
                case INITIALIZE -> initialize(channel, h, connection);
                case ASYNC_INITIALIZE -> {
                    channel.skip(h.length(), System.nanoTime() + 10_000_000_000L);
                    ServerSession session = sessions.get(h.parameter() & 0xffff);
                    if (session == null || session.hasAsync()) {
                        fatal(channel, 3, "AsyncInitialize names session " + (h.parameter() & 0xffff)
                                + ", which " + (session == null ? "does not exist" : "has its asynchronous channel"));
                        return;
                    }
                    // One session, one idleness: a session that queries on its synchronous channel keeps
                    // its quiet asynchronous one (evicting it at capacity broke the session)
                    connection.shareActivityWith(session.syncConnection());
                    channel.send(MessageType.ASYNC_INITIALIZE_RESPONSE, 0, vendorCode, soon());
                    session.serveAsync(channel);
                }
                default -> fatal(channel, 3, "a new connection must start with Initialize or AsyncInitialize, not "
                        + h.type());
            }
        } catch (IOException e) {
            channel.close();
        }
    }

    private void initialize(FrameChannel channel, Header h, ServerConnection link) throws IOException {
        String subAddress = new String(channel.readControlPayload(h, soon()), StandardCharsets.US_ASCII);
        if (!subAddress.isEmpty() && !subAddress.toLowerCase(Locale.ROOT).startsWith("hislip")) {
            fatal(channel, 3, "unknown sub-address '" + subAddress + "': this server serves hislipN");
            return;
        }
        SimConnection connection;
        try {
            connection = instrument.connect();
        } catch (IOException e) {
            fatal(channel, 0, "the instrument is closed");
            return;
        }
        int id;
        ServerSession session;
        do {
            id = nextSession.incrementAndGet() & 0xffff;
            session = new ServerSession(id, this, connection, channel, link);
        } while (id == 0 || sessions.putIfAbsent(id, session) != null);
        if (closed) {
            session.close(false);
            return;
        }
        channel.send(MessageType.INITIALIZE_RESPONSE, overlapped ? 1 : 0, 0x0100 << 16 | id, soon());
        session.serveSync();
    }

    private static void fatal(FrameChannel channel, int code, String text) {
        try {
            channel.send(MessageType.FATAL_ERROR, code, 0, text, soon());
        } catch (IOException ignored) {
            // closing anyway
        }
        channel.close();
    }

    private static long soon() {
        return System.nanoTime() + 10_000_000_000L;
    }

    void forget(ServerSession session) {
        sessions.remove(session.id(), session);
        locks.releaseAll(session.id());
    }

    InstrumentLocks locks() {
        return locks;
    }

    /** What a session that does not hold the instrument's lock may have to wait for it to do. */
    public enum HeldOperation {
        /** Carry out a Data, DataEND or Trigger message. */
        MESSAGE,
        /** Clear the instrument (AsyncDeviceClear). */
        DEVICE_CLEAR,
        /** Remote/local control (AsyncRemoteLocalControl). */
        REMOTE_LOCAL
    }

    /** @return how many operations of sessions that do not hold the instrument's lock wait for it now */
    public int operationsHeldOff() {
        return locks.heldOff(null);
    }

    /**
     * @param operation which kind
     * @return how many operations of that kind wait for the instrument's lock now
     */
    public int operationsHeldOff(HeldOperation operation) {
        return locks.heldOff(Objects.requireNonNull(operation, "operation"));
    }

    /**
     * Waits until at least {@code count} operations of any kind wait for the instrument's lock, e.g.
     * to know that a message has reached the server and is held.
     *
     * @param count how many
     * @param timeout how long to wait
     * @throws TimeoutException when fewer are held off when the timeout passes, naming how many
     * @throws InterruptedException when interrupted while waiting
     */
    public void awaitOperationsHeldOff(int count, Duration timeout) throws TimeoutException, InterruptedException {
        locks.awaitHeldOff(null, count, timeout);
    }

    /**
     * Waits until at least {@code count} operations of one kind wait for the instrument's lock.
     *
     * @see #awaitOperationsHeldOff(int, Duration)
     */
    public void awaitOperationsHeldOff(HeldOperation operation, int count, Duration timeout)
            throws TimeoutException, InterruptedException {
        locks.awaitHeldOff(Objects.requireNonNull(operation, "operation"), count, timeout);
    }

    boolean overlapped() {
        return overlapped;
    }

    long maxMessageSize() {
        return maxMessageSize;
    }

    /** The port the server listens on; the chosen one when the builder asked for port 0. */
    public int port() {
        return server.port();
    }

    /** @return the VISA resource string that reaches this server, e.g. {@code TCPIP::127.0.0.1::hislip0,4880::INSTR} */
    public String resource() {
        String host = server.address().getAddress().getHostAddress();
        if (host.contains(":")) {
            int zone = host.indexOf('%');
            host = "[" + (zone < 0 ? host : host.substring(0, zone)) + "]";
        }
        return "TCPIP::" + host + "::hislip0," + port() + "::INSTR";
    }

    /** The instrument served. */
    public SimulatedInstrument instrument() {
        return instrument;
    }

    /** @return how many HiSLIP sessions are open (initialised and not yet closed by either side) */
    public int openSessions() {
        return sessions.size();
    }

    /** @return what the server has done so far: TCP connections (two per session), refusals, threads */
    public ServerCounters counters() {
        return server.counters();
    }

    /**
     * Waits until exactly {@code count} TCP connections are served (two per session, one for a
     * connection not initialised yet).
     *
     * @param count the number to wait for
     * @param timeout how long to wait at most
     * @return whether the count was reached in time
     * @throws InterruptedException when interrupted while waiting
     */
    public boolean awaitOpenConnections(int count, Duration timeout) throws InterruptedException {
        return server.awaitOpenConnections(count, timeout);
    }

    /**
     * Drops every session, as an instrument that reboots does.
     *
     * @param reset {@code true} for a TCP reset (RST), {@code false} for an orderly close (FIN)
     */
    public void dropSessions(boolean reset) {
        for (ServerSession session : List.copyOf(sessions.values())) {
            session.close(reset);
        }
    }

    /**
     * Closes every session and the instrument, stops listening, closes every connection not yet
     * initialised and joins the server's threads. Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        dropSessions(false);
        instrument.close();
        server.close();
    }

    @Override
    public String toString() {
        return "HislipServer[" + instrument.model() + " on " + resource() + ", " + openSessions() + " sessions]";
    }

    /** Settings of a {@link HislipServer}; defaults: 127.0.0.1, any free port, synchronized mode, 1 MiB messages. */
    public static final class Builder {
        private final String model;
        private SimSettings settings = SimSettings.defaults();
        // where, how many, what to log: the server base checks those settings
        private final TcpServer.Builder tcp = TcpServer.builder("labhal-hislip-sim")
                .maxConnections(DEFAULT_MAX_CONNECTIONS)
                // HiSLIP's channels put a deadline of their own on every send (10 s): no watchdog needed
                .writeStallTimeout(Duration.ZERO);
        private int maxConnections = DEFAULT_MAX_CONNECTIONS;
        private boolean overlapped;
        private long maxMessageSize = 1 << 20;
        private String vendorId = "LS";

        private Builder(String model) {
            this.model = Objects.requireNonNull(model, "model");
            SimulatedInstrument.create(model, SimSettings.defaults()).close(); // checks the model
        }

        /** @param value timing and identity of the instrument; default {@link SimSettings#defaults()} */
        public Builder settings(SimSettings value) {
            this.settings = Objects.requireNonNull(value, "settings");
            return this;
        }

        /** @param address the local address to listen on; default the loopback address */
        public Builder bindAddress(InetAddress address) {
            tcp.bindAddress(address);
            return this;
        }

        /** @param value the TCP port, 0 (the default) for any free one, {@link #DEFAULT_PORT} for the standard one */
        public Builder port(int value) {
            tcp.port(value);
            return this;
        }

        /**
         * @param value whether to work in overlapped mode (default synchronized): reported in
         *        InitializeResponse and device clear acknowledgements; MAV then follows the message id of
         *        AsyncStatusQuery instead of RMT-delivered
         */
        public Builder overlapped(boolean value) {
            this.overlapped = value;
            return this;
        }

        /** @param value the largest message (header included) the server accepts, at least 272; default 1 MiB */
        public Builder maxMessageSize(long value) {
            if (value < 272) {
                throw new IllegalArgumentException("maximum message size must be at least 272, was " + value);
            }
            this.maxMessageSize = value;
            return this;
        }

        /** @param value the two-letter vendor id sent in AsyncInitializeResponse; default "LS" */
        public Builder vendorId(String value) {
            if (value.length() != 2 || !value.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
                throw new IllegalArgumentException("a vendor id is two printable ASCII letters, was '" + value + "'");
            }
            this.vendorId = value;
            return this;
        }

        /**
         * @param value how many TCP connections are served at once (each session takes two), at least 2;
         *        one more gets FatalError 4 ("maximum number of clients exceeded") and is closed. Default
         *        {@value #DEFAULT_MAX_CONNECTIONS}.
         */
        public Builder maxConnections(int value) {
            if (value < 2) {
                throw new IllegalArgumentException("maxConnections must be at least 2 (one session), was " + value);
            }
            tcp.maxConnections(value);
            this.maxConnections = value;
            return this;
        }

        /** @param value where the server reports trouble such as failing accepts; default {@link ServerLog#system()} */
        public Builder log(ServerLog value) {
            tcp.log(value);
            return this;
        }

        /**
         * @param value how long a channel must have carried nothing before a newcomer that finds every slot
         *        taken gets it: the channel idle longest is closed, which ends its session (both channels,
         *        its locks released); {@code null} or zero never. Default 10 s. Nobody is closed for being
         *        idle while there is room. See {@link TcpServer.Builder#evictIdleAfter(Duration)}.
         */
        public Builder evictIdleAfter(Duration value) {
            tcp.evictIdleAfter(value);
            return this;
        }

        /**
         * @param bytes the send buffer of each channel, so that a client that floods messages and never
         *        reads stalls the server after about this much; 0 for the system's. Default 64 KiB.
         */
        public Builder sendBufferSize(int bytes) {
            tcp.sendBufferSize(bytes);
            return this;
        }

        /**
         * Binds the port and starts accepting clients.
         *
         * @throws IOException when the port cannot be bound
         */
        public HislipServer start() throws IOException {
            return new HislipServer(this);
        }
    }

    /**
     * Runs a server until the process is stopped (Ctrl-C); prints the resource string once it listens.
     *
     * @param args {@code --model SMW200A|SHARED} (default SMW200A), {@code --port <n>} (default 4880, 0 for
     *        any), {@code --overlapped}
     */
    public static void main(String[] args) throws Exception {
        Builder builder = null;
        String model = "SMW200A";
        int port = DEFAULT_PORT;
        boolean overlap = false;
        int maxConnections = DEFAULT_MAX_CONNECTIONS;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--overlapped" -> overlap = true;
                case "--max-connections" -> maxConnections = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: HislipServer [--model SMW200A|SHARED] [--port 4880|0] [--overlapped]"
                            + " [--max-connections " + DEFAULT_MAX_CONNECTIONS + "]");
                    System.exit(2);
                }
            }
        }
        builder = builder(model).port(port).overlapped(overlap).maxConnections(maxConnections);
        HislipServer server = builder.start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "labhal-hislip-sim-shutdown"));
        System.out.println("LabHAL simulated " + server.instrument().model() + " listening on " + server.resource()
                + "; Ctrl-C stops it");
        System.out.flush();
        stopped.await();
    }
}
