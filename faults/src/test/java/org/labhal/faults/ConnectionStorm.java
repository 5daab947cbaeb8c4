package org.labhal.faults;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * Many client connections to a set of servers, held open by one thread with a selector (so the client
 * costs one thread, not one per connection), each with a role:
 * <ul>
 * <li>{@link Role#IDLE}: connects and says nothing (on HiSLIP: after opening its session with
 * {@code Initialize}), holding a slot as long as the server lets it;</li>
 * <li>{@link Role#ENDLESS}: sends a message that never ends, at a steady rate: bytes without a newline
 * (raw SCPI), HiSLIP {@code Data} messages that never come to a {@code DataEND}, ONC-RPC record fragments
 * that never come to the last one;</li>
 * <li>{@link Role#FLOOD}: sends complete questions as fast as the connection takes them and never reads
 * an answer, so the server's writes back stall.</li>
 * </ul>
 * Connections are opened round-robin over the targets with the roles mixed, at most 256 connecting at
 * once. A connection the server closes is kept as a record (when, and the first bytes it sent, e.g. a
 * HiSLIP FatalError that says why); nothing reconnects. Thread-safe to read while it runs.
 */
final class ConnectionStorm implements AutoCloseable {
    private static final int MAX_CONNECTING = 256;
    private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final int FLOOD_CHUNK = 16 * 1024;

    /** How a target is spoken to. */
    enum Speech {
        /** SCPI lines over a raw socket. */
        RAW_SCPI,
        /** HiSLIP (IVI-6.1) frames on a synchronous channel. */
        HISLIP,
        /** ONC-RPC records (VXI-11's channels and its portmapper). */
        ONC_RPC
    }

    /** What a connection does once open. */
    enum Role {
        IDLE, ENDLESS, FLOOD
    }

    /**
     * Where connections go, and how to speak there; {@code program}, {@code version} only for ONC-RPC.
     * {@code idleOnly}: every connection there is {@link Role#IDLE} whatever its turn (a shared-buffer
     * instrument, whose every client an endless message or a flood garbles by design).
     */
    record Target(String name, InetSocketAddress address, Speech speech, int program, int version, boolean idleOnly) {
        static Target raw(String name, int port, boolean idleOnly) {
            return new Target(name, new InetSocketAddress("127.0.0.1", port), Speech.RAW_SCPI, 0, 0, idleOnly);
        }

        static Target hislip(String name, int port, boolean idleOnly) {
            return new Target(name, new InetSocketAddress("127.0.0.1", port), Speech.HISLIP, 0, 0, idleOnly);
        }

        static Target rpc(String name, int port, int program, int version) {
            return new Target(name, new InetSocketAddress("127.0.0.1", port), Speech.ONC_RPC, program, version, false);
        }

        @Override
        public String toString() {
            return name + " (" + address.getPort() + ")";
        }
    }

    /** Where a connection is. */
    enum State {
        WAITING, CONNECTING, OPEN, CLOSED_BY_SERVER, FAILED, CLOSED
    }

    /** One connection. Its fields are written by the storm's thread; {@link #state} publishes them. */
    static final class Link {
        final Target target;
        final Role role;
        private SocketChannel channel;
        private SelectionKey key;
        private volatile State state = State.WAITING;
        private long startedNanos;
        private volatile long connectedNanos;
        private volatile long endedNanos;
        private final ByteBuffer first = ByteBuffer.allocate(256);
        private ByteBuffer pending;
        private volatile long sent;
        private volatile String failure;
        private int messageId = 0xffffff00; // HiSLIP's first message id

        Link(Target target, Role role) {
            this.target = target;
            this.role = target.idleOnly ? Role.IDLE : role;
        }

        /** @return how long the connect took, -1 when it did not complete */
        long connectMillis() {
            long connected = connectedNanos;
            return connected == 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(connected - startedNanos);
        }

        State state() {
            return state;
        }

        /** @return how long after the connect completed the server closed it, -1 when it has not */
        long heldMillis() {
            long end = endedNanos;
            return state == State.CLOSED_BY_SERVER && end != 0 ? TimeUnit.NANOSECONDS.toMillis(end - connectedNanos)
                    : -1;
        }

        /** @return the first bytes the server sent, as text: a refusal's words, if any */
        String firstWords() {
            ByteBuffer copy = first.duplicate().flip();
            byte[] bytes = new byte[copy.remaining()];
            copy.get(bytes);
            if (target.speech == Speech.HISLIP && bytes.length >= 16 && bytes[0] == 'H' && bytes[1] == 'S') {
                String text = new String(bytes, 16, bytes.length - 16, StandardCharsets.US_ASCII);
                return "HiSLIP message type " + bytes[2] + " control " + bytes[3] + " \"" + text + "\"";
            }
            return bytes.length == 0 ? "(nothing)" : new String(bytes, StandardCharsets.US_ASCII).strip();
        }

        String failure() {
            return failure;
        }

        long sent() {
            return sent;
        }
    }

    private final List<Link> links = new ArrayList<>();
    private final int endlessBytesPerTick;
    private final int floodReceiveBuffer;
    private final Selector selector;
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean stopping;
    private int next; // the next link to connect: storm thread only
    private int connecting; // storm thread only

    /**
     * Starts opening the connections.
     *
     * @param targets where to, round-robin
     * @param count how many connections in all
     * @param roles the roles in turn, e.g. {@code IDLE, IDLE, ENDLESS, FLOOD}; connection i gets
     *        {@code roles[(i / targets) % roles.length]}, so every target gets the same mix
     * @param endlessBytesPerSecond how fast each endless connection sends
     * @param floodReceiveBuffer the receive buffer of a flood's socket in bytes (what it never reads piles up
     *        there), 0 for the system's default, which loopback grows to megabytes
     * @throws IOException when no selector can be opened
     */
    ConnectionStorm(List<Target> targets, int count, List<Role> roles, int endlessBytesPerSecond,
            int floodReceiveBuffer) throws IOException {
        for (int i = 0; i < count; i++) {
            links.add(new Link(targets.get(i % targets.size()), roles.get(i / targets.size() % roles.size())));
        }
        this.endlessBytesPerTick = Math.max(1, endlessBytesPerSecond / 10);
        this.floodReceiveBuffer = floodReceiveBuffer;
        this.selector = Selector.open();
        this.thread = new Thread(this::run, "connection-storm");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Waits until every connection has been tried: open, closed, or failed.
     *
     * @param timeout how long at most
     * @return whether all were tried in time
     * @throws InterruptedException when interrupted
     */
    boolean awaitConnected(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (links.stream().noneMatch(l -> l.state == State.WAITING || l.state == State.CONNECTING)) {
                return true;
            }
            Thread.sleep(50); // polling a count the storm's thread keeps; nothing to wait on
        }
        return false;
    }

    /** @return every connection, in the order they were opened */
    List<Link> links() {
        return links;
    }

    /**
     * Closes one connection that is still open, on the storm's thread.
     *
     * @param target where it goes
     * @param role which kind
     * @return the connection closed, or {@code null} when none of that kind was open
     */
    Link closeOne(Target target, Role role) throws Exception {
        CompletableFuture<Link> done = new CompletableFuture<>();
        tasks.add(() -> {
            for (Link link : links) {
                if (link.target.equals(target) && link.role == role && link.state == State.OPEN) {
                    end(link, State.CLOSED, null);
                    done.complete(link);
                    return;
                }
            }
            done.complete(null);
        });
        selector.wakeup();
        return done.get(10, TimeUnit.SECONDS);
    }

    /** @return per target and state, how many connections are there now */
    Map<Target, Map<State, Integer>> counts() {
        Map<Target, Map<State, Integer>> counts = new LinkedHashMap<>();
        for (Link link : links) {
            counts.computeIfAbsent(link.target, t -> new EnumMap<>(State.class)).merge(link.state, 1, Integer::sum);
        }
        return counts;
    }

    /**
     * @param target a target
     * @param role a role
     * @param state a state
     * @return how many of its connections of that role are in that state now
     */
    int count(Target target, Role role, State state) {
        return (int) links.stream().filter(l -> l.target.equals(target) && l.role == role && l.state == state).count();
    }

    /**
     * @param target a target
     * @return how many connections go there
     */
    int count(Target target) {
        return (int) links.stream().filter(l -> l.target.equals(target)).count();
    }

    /** @return per target, the distinct first words of the connections the server closed */
    Map<Target, TreeSet<String>> closingWords() {
        Map<Target, TreeSet<String>> words = new LinkedHashMap<>();
        for (Link link : links) {
            if (link.state == State.CLOSED_BY_SERVER) {
                words.computeIfAbsent(link.target, t -> new TreeSet<>())
                        .add(link.firstWords() + (link.failure == null ? ", then FIN" : ", then " + link.failure));
            }
        }
        return words;
    }

    /** @return the distinct reasons connects failed, with counts */
    Map<String, Integer> failures() {
        Map<String, Integer> reasons = new LinkedHashMap<>();
        for (Link link : links) {
            if (link.state == State.FAILED) {
                reasons.merge(link.target.name + ": " + link.failure, 1, Integer::sum);
            }
        }
        return reasons;
    }

    private void run() {
        long nextTick = System.nanoTime();
        try {
            while (!stopping) {
                while (connecting < MAX_CONNECTING && next < links.size()) {
                    connect(links.get(next++));
                }
                selector.select(50);
                for (SelectionKey key : selector.selectedKeys()) {
                    Link link = (Link) key.attachment();
                    if (!key.isValid()) {
                        continue;
                    }
                    if (key.isConnectable()) {
                        finishConnect(link);
                    } else {
                        if (key.isReadable()) {
                            read(link);
                        }
                        if (key.isValid() && key.isWritable()) {
                            write(link);
                        }
                    }
                }
                selector.selectedKeys().clear();
                for (Runnable task = tasks.poll(); task != null; task = tasks.poll()) {
                    task.run();
                }
                if (System.nanoTime() - nextTick >= 0) {
                    tick();
                    nextTick += TICK_NANOS;
                }
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("connection storm: its selector failed: " + e);
        } finally {
            for (Link link : links) {
                if (link.channel != null && link.channel.isOpen()) {
                    end(link, State.CLOSED, null);
                }
            }
            try {
                selector.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }

    private void connect(Link link) {
        link.startedNanos = System.nanoTime();
        try {
            link.channel = SocketChannel.open();
            link.channel.configureBlocking(false);
            if (link.role == Role.FLOOD && floodReceiveBuffer > 0) {
                // What a flood does not read piles up in its receive buffer and the server's send buffer
                // before the server's writes stall; loopback lets those grow to megabytes, which the server
                // fills with answers at full speed first. A small one stalls it after a few KiB.
                link.channel.setOption(java.net.StandardSocketOptions.SO_RCVBUF, floodReceiveBuffer);
            }
            link.state = State.CONNECTING;
            connecting++;
            if (link.channel.connect(link.target.address)) {
                opened(link);
            } else {
                link.key = link.channel.register(selector, SelectionKey.OP_CONNECT, link);
            }
        } catch (IOException e) {
            fail(link, e);
        }
    }

    private void finishConnect(Link link) {
        try {
            if (link.channel.finishConnect()) {
                opened(link);
            }
        } catch (IOException e) {
            fail(link, e);
        }
    }

    private void fail(Link link, IOException e) {
        if (link.state == State.CONNECTING) {
            connecting--;
        }
        link.failure = e.getMessage() == null ? e.toString() : e.getMessage();
        link.endedNanos = System.nanoTime();
        closeChannel(link);
        link.state = State.FAILED;
    }

    private void opened(Link link) throws IOException {
        connecting--;
        link.connectedNanos = System.nanoTime();
        link.state = State.OPEN;
        int interest = link.role == Role.FLOOD ? 0 : SelectionKey.OP_READ; // a flood never reads its answers
        // A HiSLIP client opens its session first (an idle one then says nothing, as a VISA session left
        // open does; a connection that never sends Initialize is closed by the server after 10 s).
        link.pending = link.target.speech == Speech.HISLIP ? hislipInitialize() : ByteBuffer.allocate(0);
        if (link.role != Role.IDLE) {
            append(link, link.role == Role.FLOOD ? floodChunk(link) : endlessChunk(link));
        }
        if (link.pending.hasRemaining()) {
            interest |= SelectionKey.OP_WRITE;
        }
        if (link.key == null) {
            link.key = link.channel.register(selector, interest, link);
        } else {
            link.key.interestOps(interest);
        }
    }

    private void read(Link link) {
        ByteBuffer scratch = ByteBuffer.allocate(16 * 1024);
        try {
            int n = link.channel.read(scratch);
            if (n < 0) {
                end(link, State.CLOSED_BY_SERVER, null);
                return;
            }
            scratch.flip();
            if (link.first.hasRemaining()) {
                ByteBuffer part = scratch.slice();
                part.limit(Math.min(part.remaining(), link.first.remaining()));
                link.first.put(part);
            }
        } catch (IOException e) {
            end(link, State.CLOSED_BY_SERVER, e.getMessage());
        }
    }

    private void write(Link link) {
        try {
            while (true) {
                int n = link.channel.write(link.pending);
                link.sent += n;
                if (link.pending.hasRemaining()) {
                    return; // the send buffer is full: the selector says when it takes more
                }
                if (link.role != Role.FLOOD) {
                    link.key.interestOps(link.key.interestOps() & ~SelectionKey.OP_WRITE); // until the next tick
                    return;
                }
                link.pending = floodChunk(link);
            }
        } catch (IOException e) {
            end(link, State.CLOSED_BY_SERVER, e.getMessage()); // reset, broken pipe: the server closed it
        }
    }

    private void tick() {
        long now = System.nanoTime();
        for (Link link : links) {
            if (link.state == State.OPEN && link.role == Role.ENDLESS && !link.pending.hasRemaining()) {
                link.pending = endlessChunk(link);
                link.key.interestOps(link.key.interestOps() | SelectionKey.OP_WRITE);
            } else if (link.state == State.CONNECTING && now - link.startedNanos > TimeUnit.SECONDS.toNanos(60)) {
                fail(link, new IOException("connect not done after 60 s"));
            }
        }
    }

    private void end(Link link, State state, String why) {
        if (link.state == State.CONNECTING) {
            connecting--;
        }
        link.failure = why;
        link.endedNanos = System.nanoTime();
        closeChannel(link);
        link.state = state;
    }

    private static void closeChannel(Link link) {
        if (link.key != null) {
            link.key.cancel();
        }
        if (link.channel != null) {
            try {
                link.channel.close();
            } catch (IOException e) {
                // closed enough
            }
        }
    }

    private static void append(Link link, ByteBuffer more) {
        ByteBuffer joined = ByteBuffer.allocate(link.pending.remaining() + more.remaining());
        link.pending = joined.put(link.pending).put(more).flip();
    }

    /** A piece of a message that never ends. */
    private ByteBuffer endlessChunk(Link link) {
        byte[] bytes = new byte[endlessBytesPerTick];
        Arrays.fill(bytes, (byte) 'A');
        return switch (link.target.speech) {
            case RAW_SCPI -> ByteBuffer.wrap(bytes); // no newline, ever
            case HISLIP -> hislip(6, link.messageId, bytes); // Data: the message goes on
            case ONC_RPC -> ByteBuffer.allocate(4 + bytes.length).putInt(bytes.length).put(bytes).flip(); // not last
        };
    }

    /** Complete questions, as many as fit in a chunk. */
    private ByteBuffer floodChunk(Link link) {
        ByteBuffer chunk = ByteBuffer.allocate(FLOOD_CHUNK + 64);
        byte[] idn = "*IDN?\n".getBytes(StandardCharsets.US_ASCII);
        while (chunk.position() < FLOOD_CHUNK) {
            switch (link.target.speech) {
                case RAW_SCPI -> chunk.put(idn);
                case HISLIP -> {
                    chunk.put(hislip(7, link.messageId, idn)); // DataEND: one complete question
                    link.messageId += 2;
                }
                case ONC_RPC -> chunk.put(rpcNullCall(link.target, (int) (link.sent + chunk.position())));
            }
        }
        return chunk.flip();
    }

    private static ByteBuffer hislipInitialize() {
        byte[] subAddress = "hislip0".getBytes(StandardCharsets.US_ASCII);
        return hislip(0, 0x0100 << 16 | 'Z' << 8 | 'Z', subAddress); // protocol 1.0, vendor ZZ
    }

    private static ByteBuffer hislip(int type, int parameter, byte[] payload) {
        return ByteBuffer.allocate(16 + payload.length).put((byte) 'H').put((byte) 'S').put((byte) type).put((byte) 0)
                .putInt(parameter).putLong(payload.length).put(payload).flip();
    }

    /** An ONC-RPC call of procedure 0 (NULL) of the target's program, as one last fragment. */
    private static ByteBuffer rpcNullCall(Target target, int xid) {
        ByteBuffer call = ByteBuffer.allocate(44);
        call.putInt(0x80000000 | 40).putInt(xid).putInt(0).putInt(2).putInt(target.program).putInt(target.version)
                .putInt(0).putInt(0).putInt(0).putInt(0).putInt(0);
        return call.flip();
    }

    /** Closes every connection (FIN) and stops the storm's thread. */
    @Override
    public void close() throws InterruptedException {
        stopping = true;
        selector.wakeup();
        thread.join(TimeUnit.SECONDS.toMillis(30));
    }
}
