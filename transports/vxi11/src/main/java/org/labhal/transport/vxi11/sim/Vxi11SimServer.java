package org.labhal.transport.vxi11.sim;

import static org.labhal.transport.vxi11.internal.Vxi11Protocol.*;

import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import java.util.regex.Pattern;

import org.labhal.server.ConnectionHandler;
import org.labhal.server.ServerConnection;
import org.labhal.server.ServerCounters;
import org.labhal.server.ServerLog;
import org.labhal.server.TcpServer;
import org.labhal.transport.sim.SimConnection;
import org.labhal.transport.sim.SimRead;
import org.labhal.transport.sim.SimSettings;
import org.labhal.transport.sim.SimulatedInstrument;
import org.labhal.transport.vxi11.internal.RecordStream;
import org.labhal.transport.vxi11.internal.Rpc;
import org.labhal.transport.vxi11.internal.XdrDecoder;
import org.labhal.transport.vxi11.internal.XdrEncoder;
import org.labhal.transport.vxi11.internal.XdrException;

/**
 * Serves a {@link SimulatedInstrument} over VXI-11 (the core channel, program 0x0607AF version 1, and
 * the abort channel, program 0x0607B0 version 1) with a portmapper of its own (program 100000
 * version 2, GETPORT over TCP, and over UDP on the same port number for the classic VXI-11 broadcast
 * search), all on loopback and on free ports unless told otherwise.
 *
 * <pre>{@code
 * try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start()) {
 *     String resource = server.resource();   // TCPIP::127.0.0.1::inst0::INSTR?portmapper=<port>
 * }
 * }</pre>
 *
 * <h2>What it does</h2>
 * <ul>
 * <li>Each link (create_link, device names {@code instN} or {@code gpibB,N}; others get error 3) is
 * one {@link SimulatedInstrument#connect() connection} of the instrument, so the model decides what
 * links share: nothing but the settings on {@code SMW200A}, every buffer on {@code SHARED}.</li>
 * <li>device_write with or without END; device_read with requestSize, termChar and the reason bits
 * REQCNT, CHR and END; a response is never mixed with the next one; no response within io_timeout
 * gives error 15.</li>
 * <li>device_lock is exclusive across all links of all connections; with the waitlock flag it
 * waits up to lock_timeout, without it fails at once with error 11, as does I/O on the device by
 * other links. device_unlock without the lock gives 12. destroy_link, and the end of the TCP
 * connection that created a link, release its lock. The end of the connection is noticed at once,
 * also while one of its calls blocks (a device_read waiting for a response, a device_write waiting
 * for the instrument, a wait for the lock): that call is cut short and the lock is free for others
 * then, not at the call's I/O timeout.</li>
 * <li>device_abort on the abort channel (create_link names its port) ends the link's call in
 * progress, whichever connection carries it, with error 23 at once: a device_read waiting for a
 * response, a device_write waiting for the instrument (the message is abandoned), a wait for the
 * device lock. The link and its lock remain. With no call in progress it does nothing; an unknown
 * link gives error 4.</li>
 * <li>device_clear is the instrument's {@link SimConnection#deviceClear() device clear}.</li>
 * <li>device_readstb is the instrument's {@link SimConnection#statusByte(boolean) status byte}, read
 * without a message: MAV (bit 4) while a response waits in the instrument or this link holds unread
 * bytes of one it started reading (the server takes up to 64 KiB of a response at a time), EAV, ESB
 * and MSS as {@code *STB?} reports them. device_trigger, device_remote and device_local succeed and
 * change nothing.</li>
 * <li>device_enable_srq, device_docmd and the interrupt channel answer error 8 (operation not
 * supported).</li>
 * </ul>
 * Malformed calls get GARBAGE_ARGS, unknown procedures PROC_UNAVAIL, other programs or versions
 * PROG_UNAVAIL and PROG_MISMATCH; a record over the size limit or cut short closes that connection.
 *
 * <p>Runs on the server base ({@link TcpServer}), one for each channel: loopback unless told
 * otherwise, at most {@link Builder#maxConnections(int) 128 connections} per channel (one more is
 * closed at once, unless the connection idle longest has carried nothing for
 * {@link Builder#evictIdleAfter(Duration) 10 s}: that one is closed, its links destroyed, and the
 * newcomer served), a connection whose replies make no progress for
 * {@link Builder#writeStallTimeout(Duration) 10 s} closed, a send buffer of
 * {@link Builder#sendBufferSize(int) 64 KiB} per connection, accept loops that back off and go on when
 * file descriptors run out. A record
 * longer than the limit (device_write data up to maxRecvSize plus headers on the core channel, 4 KiB
 * on the others) closes its connection before its bytes are read.
 *
 * <p>Threads: an acceptor per channel, {@code labhal-vxi11-sim-<core|portmapper|abort>-<port>-accept};
 * one for the UDP portmapper, {@code labhal-vxi11-sim-portmapper-udp-<port>}, which answers each datagram
 * at once (at most 1 KiB is read of one; one that is not an RPC call gets no answer);
 * two per core connection (one reads calls, so that the end of the connection is seen at once while a
 * call blocks; one answers them in order) and one per portmapper or abort connection, whose calls
 * never block, named {@code labhal-vxi11-sim-<channel>-<port>-<n>}. A core call that cannot wait (a
 * device_write without {@code *WAI} or {@code *OPC} to an instrument this server made without a
 * processing delay, a device_read whose response is there, neither while another link holds the lock)
 * is answered by the reading thread itself when the answering thread has nothing left, as a
 * one-thread instrument server would: a query then costs no hand-over between the two. Thread-safe; {@link #close()}
 * stops everything and joins them.
 */
public final class Vxi11SimServer implements AutoCloseable {
    private static final Pattern DEVICE = Pattern.compile("inst\\d{1,5}|gpib\\d{1,3},\\d{1,2}(,\\d{1,2})?",
            Pattern.CASE_INSENSITIVE);
    /**
     * The largest device_read data the simulator sends in one reply, and what it takes of a response
     * at once, into a buffer each link allocates at its first read and reuses: a read costs no
     * allocation, and a larger request (a client may ask for megabytes) is answered in parts.
     */
    private static final int FILL_SIZE = 64 * 1024;
    /** Calls read ahead of the one being answered; beyond that TCP holds the client back. */
    private static final int QUEUED_CALLS = 8;
    /** The status byte's message-available bit. */
    private static final int MAV = 0x10;
    /** Marks the end of a connection's calls. */
    private static final byte[] END = new byte[0];

    /** Portmapper and abort calls are a few dozen bytes; a record longer than this closes the connection. */
    private static final int MAX_SMALL_RECORD = 4096;

    private final SimulatedInstrument instrument;
    private final boolean ownsInstrument;
    /** Whether a device_write can be answered on the reading thread: the instrument has no processing delay. */
    private final boolean quickWrites;
    private final TcpServer core;
    private final TcpServer portmapper; // null when the builder turned it off
    private final UdpPortmapper udpPortmapper; // null when the builder turned it, or the portmapper, off
    private final TcpServer abort; // null when the builder turned it off
    private final int maxReceiveSize;
    private final Map<Integer, Link> allLinks = new ConcurrentHashMap<>(); // for device_abort
    private final AtomicInteger linkIds = new AtomicInteger();
    private final AtomicInteger openLinks = new AtomicInteger();
    private final AtomicInteger callsInProgress = new AtomicInteger();
    private final Object lockMonitor = new Object();
    private Link lockHolder; // guarded by lockMonitor
    private volatile boolean closed;

    private Vxi11SimServer(Builder b) throws IOException {
        this.instrument = b.instrument != null ? b.instrument : SimulatedInstrument.create(b.model, b.settings);
        this.ownsInstrument = b.instrument == null;
        this.quickWrites = b.instrument == null && b.settings.processingDelay().isZero();
        this.maxReceiveSize = b.maxReceiveSize;
        TcpServer coreServer = null;
        TcpServer pmServer = null;
        UdpPortmapper pmUdp = null;
        TcpServer abortServer = null;
        try {
            // A core call may block (a read waiting for a response, a wait for the lock): one thread reads
            // the connection's calls, so that its end is seen at once, and one answers them.
            // device_write's data plus the RPC and Device_WriteParms headers.
            coreServer = listen(b, "core", b.corePort, connection -> serveBlocking(connection, this::serveCore,
                    maxReceiveSize + 1024));
            if (b.portmapper) {
                // GETPORT and device_abort are answered at once: one thread reads and answers. The UDP side
                // takes the TCP side's port number; a free TCP port may be taken over UDP, so a port the
                // system picked is picked again a few times.
                for (int attempt = 1; pmServer == null; attempt++) {
                    pmServer = listen(b, "portmapper", b.portmapperPort,
                            connection -> serveAtOnce(connection, this::servePortmapper));
                    if (!b.udpPortmapper) {
                        break;
                    }
                    try {
                        pmUdp = new UdpPortmapper(b.bindAddress, pmServer.port(), this::answerDatagram, b.log);
                    } catch (IOException e) {
                        pmServer.close();
                        pmServer = null;
                        if (b.portmapperPort != 0 || attempt == 5) {
                            throw e;
                        }
                    }
                }
            }
            if (b.abortChannel) {
                abortServer = listen(b, "abort", b.abortPort, connection -> serveAtOnce(connection, this::serveAbort));
            }
        } catch (IOException e) {
            for (TcpServer started : new TcpServer[] {coreServer, pmServer, abortServer}) {
                if (started != null) {
                    started.close();
                }
            }
            if (pmUdp != null) {
                pmUdp.close();
            }
            if (ownsInstrument) {
                instrument.close();
            }
            throw e;
        }
        this.core = coreServer;
        this.portmapper = pmServer;
        this.udpPortmapper = pmUdp;
        this.abort = abortServer;
    }

    /** Starts one of the three servers; a failure names the port and what it was for. */
    private static TcpServer listen(Builder b, String what, int port, ConnectionHandler handler) throws IOException {
        try {
            return TcpServer.builder("labhal-vxi11-sim-" + what).bindAddress(b.bindAddress).port(port)
                    .maxConnections(b.maxConnections).evictIdleAfter(b.evictIdleAfter)
                    .writeStallTimeout(b.writeStallTimeout).sendBufferSize(b.sendBufferSize).log(b.log).start(handler);
        } catch (IOException e) {
            throw new BindException("cannot listen for the " + what + " channel: " + e.getMessage());
        }
    }

    /**
     * A server for a new instrument of {@code model} ({@code SMW200A}, {@code SHARED}), closed with
     * the server.
     */
    public static Builder builder(String model) {
        return new Builder(Objects.requireNonNull(model, "model"), null);
    }

    /** A server for an existing instrument, which the server does not close. */
    public static Builder builder(SimulatedInstrument instrument) {
        return new Builder(null, Objects.requireNonNull(instrument, "instrument"));
    }

    /** The core channel's port. */
    public int corePort() {
        return core.port();
    }

    /** The portmapper's port, empty when the server runs none. */
    public OptionalInt portmapperPort() {
        return portmapper == null ? OptionalInt.empty() : OptionalInt.of(portmapper.port());
    }

    /** The abort channel's port, which create_link announces; empty when the server offers none. */
    public OptionalInt abortPort() {
        return abort == null ? OptionalInt.empty() : OptionalInt.of(abort.port());
    }

    /**
     * A resource string for device {@code inst0} that reaches this server through its portmapper,
     * or through the core port when it runs none.
     */
    public String resource() {
        return resource("inst0");
    }

    /** Like {@link #resource()}, for another device name, e.g. {@code inst1} or {@code gpib0,5}. */
    public String resource(String device) {
        InetAddress address = core.address().getAddress();
        String host = address.isAnyLocalAddress() ? "127.0.0.1" : address.getHostAddress();
        return "TCPIP::" + host + "::" + device + "::INSTR?" + (portmapper == null ? "port=" + corePort()
                : "portmapper=" + portmapper.port());
    }

    /** The simulated instrument served. */
    public SimulatedInstrument instrument() {
        return instrument;
    }

    /** How many links exist (created and neither destroyed nor dropped with their connection). */
    public int openLinks() {
        return openLinks.get();
    }

    /**
     * How many calls on links (device_read, device_write, device_lock, ...) the server is carrying out
     * right now: a test that aborts a blocked call, or drops its connection, first waits for the call
     * to get here, since an abort that comes earlier has nothing to end.
     */
    public int callsInProgress() {
        return callsInProgress.get();
    }

    /** Whether some link holds the device lock. */
    public boolean locked() {
        synchronized (lockMonitor) {
            return lockHolder != null;
        }
    }

    /**
     * @return what the core channel's server has done so far: connections, refusals, accept failures,
     *         threads (two per connection)
     */
    public ServerCounters counters() {
        return core.counters();
    }

    /**
     * Waits until exactly {@code count} core channel connections are served.
     *
     * @param count the number to wait for
     * @param timeout how long to wait at most
     * @return whether the count was reached in time
     * @throws InterruptedException when interrupted while waiting
     */
    public boolean awaitOpenConnections(int count, Duration timeout) throws InterruptedException {
        return core.awaitOpenConnections(count, timeout);
    }

    /** Closes every client connection at once, as a crashing instrument would; the server keeps listening. */
    public void dropConnections() {
        for (TcpServer server : servers()) {
            server.dropConnections(false);
        }
    }

    private List<TcpServer> servers() {
        List<TcpServer> all = new ArrayList<>(3);
        for (TcpServer server : new TcpServer[] {core, portmapper, abort}) {
            if (server != null) {
                all.add(server);
            }
        }
        return all;
    }

    /** Stops listening, closes every connection and link, joins the server's threads; idempotent. */
    @Override
    public void close() {
        closed = true;
        synchronized (lockMonitor) {
            lockMonitor.notifyAll();
        }
        for (TcpServer server : servers()) {
            server.close(); // the connections' ends destroy their links
        }
        if (udpPortmapper != null) {
            udpPortmapper.close();
        }
        if (ownsInstrument) {
            instrument.close();
        }
    }

    @Override
    public String toString() {
        return "Vxi11SimServer[" + instrument.model() + ", core " + corePort()
                + (portmapper == null ? "" : ", portmapper " + portmapper.port())
                + (abort == null ? "" : ", abort " + abort.port()) + "]";
    }

    // ---------------------------------------------------------------- connections

    private interface Handler {
        /** Answers one call; null closes the connection. */
        XdrEncoder answer(Rpc.Call call, XdrDecoder args, Map<Integer, Link> links) throws XdrException;
    }

    /** Reads and answers one connection's calls in turn: for calls that never block. */
    private void serveAtOnce(ServerConnection connection, Handler handler) throws IOException {
        connection.channel().socket().setTcpNoDelay(true);
        // The connection's streams let the server base see it idle and its replies stall
        RecordStream records = new RecordStream(connection.input(), MAX_SMALL_RECORD);
        OutputStream out = connection.output();
        Map<Integer, Link> none = Map.of();
        while (!closed) {
            RecordStream.write(out, answer(records.read(), handler, none));
        }
    }

    /**
     * Reads one connection's calls and hands them to a companion thread that answers them. Reading on
     * while a call is answered is what notices the client going away during a blocking call: the
     * connection's links are destroyed then, which releases their lock and wakes the blocked call.
     */
    private void serveBlocking(ServerConnection connection, Handler handler, int maxRecord) throws IOException {
        Map<Integer, Link> created = new ConcurrentHashMap<>(); // the links this connection created
        BlockingQueue<byte[]> calls = new ArrayBlockingQueue<>(QUEUED_CALLS);
        AtomicBoolean answering = new AtomicBoolean(true);
        AtomicInteger handedOver = new AtomicInteger(); // calls given to the answerer and not yet answered
        try {
            connection.channel().socket().setTcpNoDelay(true);
            // The connection's streams let the server base see it idle and its replies stall; both threads
            // write replies through the one output, never at once
            RecordStream records = new RecordStream(connection.input(), maxRecord);
            OutputStream out = connection.output();
            connection.startCompanion(() -> answer(connection, out, handler, created, calls, answering, handedOver));
            while (!closed) {
                byte[] call = records.read();
                // A call that cannot wait is answered here, when the answerer has nothing left: no hand-over,
                // as on an instrument's one-thread server. The answerer has written its last reply before its
                // count came down, so the two threads never write at once.
                if (handedOver.get() == 0 && answersAtOnce(call, created)) {
                    RecordStream.write(out, answer(call, handler, created));
                    continue;
                }
                // The answerer ends when a reply cannot be sent (the client went away while it did not read
                // its replies): then nobody takes calls any more, and a put on the full queue would wait for
                // ever, holding this thread and the connection's slot. It clears the queue after saying so,
                // so a put that got past this check finds room.
                if (!answering.get()) {
                    return;
                }
                handedOver.incrementAndGet();
                calls.put(call);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the server is closing
        } finally {
            end(connection, created);
            calls.clear(); // their answers could not be sent anyway; and this thread is the only producer,
            calls.add(END); // so there is room for the end mark
        }
    }

    /** Answers one connection's calls in order. */
    private void answer(ServerConnection connection, OutputStream out, Handler handler, Map<Integer, Link> created,
            BlockingQueue<byte[]> calls, AtomicBoolean answering, AtomicInteger handedOver) {
        try {
            while (!closed) {
                byte[] record = calls.take();
                if (record == END || !connection.isOpen()) {
                    return;
                }
                RecordStream.write(out, answer(record, handler, created));
                handedOver.decrementAndGet();
            }
        } catch (IOException e) {
            // not an RPC call, or the client went away
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the server is closing
        } finally {
            answering.set(false); // first: the reader puts nothing after it has seen this
            calls.clear(); // frees a reader waiting to put; its next read fails on the closed socket
            end(connection, created);
        }
    }

    /**
     * Whether a core call can be answered without waiting (for an answer, a lock, an operation or a
     * processing delay), so that the reading thread may answer it itself: a device_write without
     * {@code *WAI} or {@code *OPC} to an instrument without processing delay, or a device_read whose
     * response is there; and neither while another link holds the device lock. Everything else goes to
     * the answerer, so that the reading thread notices a client that leaves during a wait.
     */
    private boolean answersAtOnce(byte[] record, Map<Integer, Link> created) {
        try {
            XdrDecoder args = new XdrDecoder(record);
            Rpc.Call call = Rpc.readCall(args);
            if (call.rpcVersion() != Rpc.VERSION || call.program() != CORE_PROGRAM
                    || call.procedure() != DEVICE_WRITE && call.procedure() != DEVICE_READ) {
                return false;
            }
            Link link = created.get(args.getInt());
            if (link == null || link.destroyed || lockedByAnother(link)) {
                return false;
            }
            if (call.procedure() == DEVICE_READ) {
                return link.pendingLength() > 0 || (link.sim.statusByte(false) & MAV) != 0;
            }
            if (!quickWrites) {
                return false;
            }
            args.getInt(); // io_timeout
            args.getInt(); // lock_timeout
            args.getInt(); // flags
            return !waits(args.getOpaqueView(maxReceiveSize));
        } catch (IOException e) { // also XdrException
            return false; // malformed or closed: the answerer says so
        }
    }

    private boolean lockedByAnother(Link link) {
        synchronized (lockMonitor) {
            return lockHolder != null && lockHolder != link;
        }
    }

    /** Whether a message holds {@code *WAI} or {@code *OPC}, which may wait for pending operations. */
    private static boolean waits(java.nio.ByteBuffer message) {
        for (int i = message.position(); i + 3 < message.limit(); i++) {
            if (message.get(i) == '*') {
                int a = message.get(i + 1) | 0x20;
                int b = message.get(i + 2) | 0x20;
                int c = message.get(i + 3) | 0x20;
                if (a == 'w' && b == 'a' && c == 'i' || a == 'o' && b == 'p' && c == 'c') {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * The reply to one call record.
     *
     * @throws XdrException when the record is not an RPC call at all: the connection ends
     */
    private static XdrEncoder answer(byte[] record, Handler handler, Map<Integer, Link> created) throws XdrException {
        XdrDecoder decoder = new XdrDecoder(record);
        Rpc.Call call = Rpc.readCall(decoder);
        if (call.rpcVersion() != Rpc.VERSION) {
            return Rpc.rpcMismatch(call.xid());
        }
        try {
            return handler.answer(call, decoder, created);
        } catch (XdrException garbage) {
            return Rpc.accepted(call.xid(), Rpc.GARBAGE_ARGS, 0);
        }
    }

    /** Ends a connection and the links it created; both of its threads call it, in either order. */
    private void end(ServerConnection connection, Map<Integer, Link> created) {
        connection.close();
        for (Link link : created.values()) {
            destroy(link);
        }
    }

    // ---------------------------------------------------------------- portmapper

    /** The reply to a portmapper call over UDP; {@code null} (no reply) for a datagram that is not an RPC call. */
    private XdrEncoder answerDatagram(byte[] datagram) {
        try {
            return answer(datagram, this::servePortmapper, Map.of());
        } catch (XdrException notACall) {
            return null;
        } catch (RuntimeException starting) { // a call while the server is still being built: the asker retries
            return null;
        }
    }

    /** How many portmapper calls over UDP were answered; 0 without a UDP portmapper. */
    public long udpPortmapperCalls() {
        return udpPortmapper == null ? 0 : udpPortmapper.answered();
    }

    private XdrEncoder servePortmapper(Rpc.Call call, XdrDecoder args, Map<Integer, Link> unused) throws XdrException {
        if (call.program() != Rpc.PORTMAPPER_PROGRAM) {
            return Rpc.accepted(call.xid(), Rpc.PROG_UNAVAIL, 0);
        }
        if (call.version() != Rpc.PORTMAPPER_VERSION) {
            return Rpc.programMismatch(call.xid(), Rpc.PORTMAPPER_VERSION, Rpc.PORTMAPPER_VERSION);
        }
        return switch (call.procedure()) {
            case Rpc.PORTMAPPER_NULL -> Rpc.accepted(call.xid(), Rpc.SUCCESS, 0);
            case Rpc.PORTMAPPER_GETPORT -> {
                int program = args.getInt();
                int version = args.getInt();
                int protocol = args.getInt();
                args.getInt();
                boolean ours = program == CORE_PROGRAM && version == CORE_VERSION && protocol == Rpc.IPPROTO_TCP;
                yield Rpc.accepted(call.xid(), Rpc.SUCCESS, 4).putInt(ours ? corePort() : 0);
            }
            default -> Rpc.accepted(call.xid(), Rpc.PROC_UNAVAIL, 0);
        };
    }

    // ---------------------------------------------------------------- abort channel

    private XdrEncoder serveAbort(Rpc.Call call, XdrDecoder args, Map<Integer, Link> unused) throws XdrException {
        if (call.program() != ASYNC_PROGRAM) {
            return Rpc.accepted(call.xid(), Rpc.PROG_UNAVAIL, 0);
        }
        if (call.version() != ASYNC_VERSION) {
            return Rpc.programMismatch(call.xid(), ASYNC_VERSION, ASYNC_VERSION);
        }
        return switch (call.procedure()) {
            case 0 -> Rpc.accepted(call.xid(), Rpc.SUCCESS, 0);
            case DEVICE_ABORT -> {
                Link link = allLinks.get(args.getInt());
                if (link != null) {
                    link.abort();
                }
                yield Rpc.accepted(call.xid(), Rpc.SUCCESS, 4).putInt(link == null ? ERR_INVALID_LINK : ERR_NONE);
            }
            default -> Rpc.accepted(call.xid(), Rpc.PROC_UNAVAIL, 0);
        };
    }

    // ---------------------------------------------------------------- core channel

    /**
     * One link: its simulated connection, the response bytes it took from it and not yet sent (used
     * by the answering thread only), and the call in progress that device_abort may end.
     */
    private static final class Link {
        final int id;
        final SimConnection sim;
        /** Response bytes taken from the instrument, reused from one fill to the next (allocated at the first). */
        byte[] pending = new byte[0];
        int pendingStart;
        int pendingLimit;
        boolean pendingEnd;
        volatile boolean destroyed; // set under lockMonitor, once
        private Thread serving; // guarded by this: the thread answering a call of this link
        private boolean aborting; // guarded by this: an abort interrupted that thread

        Link(int id, SimConnection sim) {
            this.id = id;
            this.sim = sim;
        }

        int pendingLength() {
            return pendingLimit - pendingStart;
        }

        synchronized void begin() {
            serving = Thread.currentThread();
        }

        /** Ends a call; an abort's interrupt must not reach the next one. */
        synchronized void end() {
            serving = null;
            if (aborting) {
                aborting = false;
                Thread.interrupted();
            }
        }

        /** Interrupts the call in progress, if any: its waits end and it answers error 23. */
        synchronized void abort() {
            if (serving != null) {
                aborting = true;
                serving.interrupt();
            }
        }
    }

    /** A link of this connection that still exists, or null. */
    private static Link find(Map<Integer, Link> created, int id) {
        Link link = created.get(id);
        return link == null || link.destroyed ? null : link;
    }

    /** Runs the part of a link's call that may block, where device_abort can end it; error 4 without a link. */
    private int during(Link link, IntSupplier step) {
        if (link == null) {
            return ERR_INVALID_LINK;
        }
        link.begin();
        callsInProgress.incrementAndGet();
        try {
            return step.getAsInt();
        } finally {
            callsInProgress.decrementAndGet();
            link.end();
        }
    }

    private XdrEncoder serveCore(Rpc.Call call, XdrDecoder args, Map<Integer, Link> created) throws XdrException {
        int xid = call.xid();
        if (call.program() != CORE_PROGRAM) {
            return Rpc.accepted(xid, Rpc.PROG_UNAVAIL, 0);
        }
        if (call.version() != CORE_VERSION) {
            return Rpc.programMismatch(xid, CORE_VERSION, CORE_VERSION);
        }
        switch (call.procedure()) {
            case 0:
                return Rpc.accepted(xid, Rpc.SUCCESS, 0);
            case CREATE_LINK:
                return createLink(xid, args, created);
            case DEVICE_WRITE: {
                Link link = find(created, args.getInt());
                args.getUnsignedInt(); // io_timeout: a write completes when the instrument has taken the message
                long lockTimeout = args.getUnsignedInt();
                int flags = args.getInt();
                byte[] data = args.getOpaque(maxReceiveSize);
                int error = during(link, () -> {
                    int admitted = admit(link, flags, lockTimeout);
                    return admitted != ERR_NONE ? admitted : write(link, data, (flags & FLAG_END) != 0);
                });
                return Rpc.accepted(xid, Rpc.SUCCESS, 8).putInt(error).putInt(error == ERR_NONE ? data.length : 0);
            }
            case DEVICE_READ:
                return read(xid, args, created);
            case DEVICE_READSTB:
            case DEVICE_TRIGGER:
            case DEVICE_CLEAR:
            case DEVICE_REMOTE:
            case DEVICE_LOCAL: {
                Link link = find(created, args.getInt());
                int flags = args.getInt();
                long lockTimeout = args.getUnsignedInt();
                args.getUnsignedInt(); // io_timeout: these complete at once
                int error = during(link, () -> admit(link, flags, lockTimeout));
                int stb = 0;
                if (error == ERR_NONE && call.procedure() == DEVICE_CLEAR) {
                    error = clear(link);
                } else if (error == ERR_NONE && call.procedure() == DEVICE_READSTB) {
                    try {
                        stb = link.sim.statusByte(link.pendingLength() > 0);
                    } catch (IOException e) {
                        error = ERR_IO;
                    }
                }
                XdrEncoder reply = Rpc.accepted(xid, Rpc.SUCCESS, 8).putInt(error);
                return call.procedure() == DEVICE_READSTB ? reply.putInt(stb) : reply;
            }
            case DEVICE_LOCK: {
                Link link = find(created, args.getInt());
                int flags = args.getInt();
                long lockTimeout = args.getUnsignedInt();
                int error = during(link, () -> lock(link, (flags & FLAG_WAITLOCK) != 0 ? lockTimeout : 0));
                return Rpc.accepted(xid, Rpc.SUCCESS, 4).putInt(error);
            }
            case DEVICE_UNLOCK: {
                Link link = find(created, args.getInt());
                int error = link == null ? ERR_INVALID_LINK : unlock(link) ? ERR_NONE : ERR_NO_LOCK;
                return Rpc.accepted(xid, Rpc.SUCCESS, 4).putInt(error);
            }
            case DESTROY_LINK: {
                Link link = find(created, args.getInt());
                if (link != null) {
                    created.remove(link.id);
                    destroy(link);
                }
                return Rpc.accepted(xid, Rpc.SUCCESS, 4).putInt(link == null ? ERR_INVALID_LINK : ERR_NONE);
            }
            case DEVICE_ENABLE_SRQ:
            case CREATE_INTR_CHAN:
            case DESTROY_INTR_CHAN:
                return Rpc.accepted(xid, Rpc.SUCCESS, 4).putInt(ERR_NOT_SUPPORTED);
            case DEVICE_DOCMD:
                return Rpc.accepted(xid, Rpc.SUCCESS, 8).putInt(ERR_NOT_SUPPORTED).putInt(0);
            default:
                return Rpc.accepted(xid, Rpc.PROC_UNAVAIL, 0);
        }
    }

    private XdrEncoder createLink(int xid, XdrDecoder args, Map<Integer, Link> created) throws XdrException {
        args.getInt(); // clientId
        boolean lockDevice = args.getBool();
        long lockTimeout = args.getUnsignedInt();
        String device = args.getString(MAX_DEVICE_NAME);
        int error = ERR_NONE;
        Link link = null;
        if (!DEVICE.matcher(device).matches()) {
            error = ERR_DEVICE_NOT_ACCESSIBLE;
        } else {
            try {
                link = new Link(linkIds.incrementAndGet(), instrument.connect());
                openLinks.incrementAndGet();
                allLinks.put(link.id, link);
                if (lockDevice && lock(link, lockTimeout) != ERR_NONE) {
                    destroy(link);
                    link = null;
                    error = ERR_LOCKED;
                }
            } catch (IOException closedInstrument) {
                error = 9; // out of resources
            }
        }
        if (link != null) {
            created.put(link.id, link);
        }
        return Rpc.accepted(xid, Rpc.SUCCESS, 16).putInt(error).putInt(link == null ? 0 : link.id)
                .putInt(link == null || abort == null ? 0 : abort.port())
                .putInt(link == null ? 0 : maxReceiveSize);
    }

    private int write(Link link, byte[] data, boolean end) {
        try {
            link.sim.write(data, 0, data.length, end);
            return ERR_NONE;
        } catch (IOException e) {
            return ERR_IO;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ERR_ABORT;
        }
    }

    private XdrEncoder read(int xid, XdrDecoder args, Map<Integer, Link> created) throws XdrException {
        Link link = find(created, args.getInt());
        long requestSize = args.getUnsignedInt();
        long ioTimeout = args.getUnsignedInt();
        long lockTimeout = args.getUnsignedInt();
        int flags = args.getInt();
        int termChar = args.getInt() & 0xFF;
        int wanted = (int) Math.min(requestSize, FILL_SIZE);
        int error = link != null && requestSize == 0 ? ERR_PARAMETER : during(link, () -> {
            int admitted = admit(link, flags, lockTimeout);
            return admitted != ERR_NONE ? admitted : fill(link, ioTimeout);
        });
        if (error != ERR_NONE) {
            return Rpc.accepted(xid, Rpc.SUCCESS, 12).putInt(error).putInt(0).putInt(0);
        }
        int count = Math.min(wanted, link.pendingLength());
        int reason = 0;
        if ((flags & FLAG_TERMCHRSET) != 0) {
            for (int i = 0; i < count; i++) {
                if ((link.pending[link.pendingStart + i] & 0xFF) == termChar) {
                    count = i + 1;
                    reason |= REASON_CHR;
                    break;
                }
            }
        }
        int start = link.pendingStart;
        link.pendingStart += count;
        if (link.pendingLength() == 0 && link.pendingEnd) {
            reason |= REASON_END;
        }
        if (count == requestSize) {
            reason |= REASON_REQCNT;
        }
        return Rpc.accepted(xid, Rpc.SUCCESS, 12 + count).putInt(ERR_NONE).putInt(reason)
                .putOpaque(link.pending, start, count);
    }

    /**
     * Makes sure the link holds response bytes, waiting up to {@code ioTimeout} for a response.
     * Takes up to {@link #FILL_SIZE} of the response (never of the next one) even for a smaller
     * request, so that this link knows whether response bytes wait (MAV for device_readstb).
     */
    private int fill(Link link, long ioTimeout) {
        if (link.pendingLength() > 0) {
            return ERR_NONE;
        }
        if (link.pending.length == 0) {
            link.pending = new byte[FILL_SIZE];
        }
        try {
            SimRead got = link.sim.read(link.pending, 0, FILL_SIZE, Duration.ofMillis(ioTimeout));
            link.pendingStart = 0;
            link.pendingLimit = got.count();
            link.pendingEnd = got.end();
            return ERR_NONE;
        } catch (TimeoutException e) {
            return ERR_IO_TIMEOUT;
        } catch (IOException e) {
            return ERR_IO; // also when the link's connection ended meanwhile
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // device_abort's, which Link.end() clears, or the server closing
            return ERR_ABORT;
        }
    }

    private int clear(Link link) {
        link.pendingStart = 0;
        link.pendingLimit = 0;
        link.pendingEnd = false;
        try {
            link.sim.deviceClear();
            return ERR_NONE;
        } catch (IOException e) {
            return ERR_IO;
        }
    }

    // ---------------------------------------------------------------- the device lock

    /** Whether {@code link} may use the device now, waiting for another link's lock if the flags say so. */
    private int admit(Link link, int flags, long lockTimeout) {
        return awaitLock(link, (flags & FLAG_WAITLOCK) != 0 ? lockTimeout : 0, false);
    }

    /** Takes the device lock for {@code link}, waiting up to {@code waitMillis} for another link to release it. */
    private int lock(Link link, long waitMillis) {
        return awaitLock(link, waitMillis, true);
    }

    /**
     * Waits until no other link holds the lock, then takes it if {@code take}. Error 11 when the wait
     * runs out, 23 when an abort (or the server closing) interrupts it, 4 when the link is destroyed
     * meanwhile: a dropped link never takes the lock.
     */
    private int awaitLock(Link link, long waitMillis, boolean take) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMillis);
        synchronized (lockMonitor) {
            while (!link.destroyed && lockHolder != null && lockHolder != link) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || closed) {
                    return ERR_LOCKED;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(lockMonitor, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return ERR_ABORT;
                }
            }
            if (link.destroyed) {
                return ERR_INVALID_LINK;
            }
            if (take) {
                lockHolder = link;
            }
            return ERR_NONE;
        }
    }

    private boolean unlock(Link link) {
        synchronized (lockMonitor) {
            if (lockHolder != link) {
                return false;
            }
            lockHolder = null;
            lockMonitor.notifyAll();
            return true;
        }
    }

    /** Destroys a link: releases its lock, wakes its waits and its blocked read; idempotent. */
    private void destroy(Link link) {
        synchronized (lockMonitor) {
            if (link.destroyed) {
                return;
            }
            link.destroyed = true;
            if (lockHolder == link) {
                lockHolder = null;
            }
            lockMonitor.notifyAll();
        }
        allLinks.remove(link.id);
        link.sim.close();
        openLinks.decrementAndGet();
    }

    // ---------------------------------------------------------------- building

    /** How to serve: ports, address, limits. Not thread-safe. */
    public static final class Builder {
        private final String model;
        private final SimulatedInstrument instrument;
        private SimSettings settings = SimSettings.defaults();
        private InetAddress bindAddress = InetAddress.getLoopbackAddress();
        private int corePort;
        private int portmapperPort;
        private boolean portmapper = true;
        private boolean udpPortmapper = true;
        private int abortPort;
        private boolean abortChannel = true;
        private int maxReceiveSize = 64 * 1024;
        private int maxConnections = TcpServer.DEFAULT_MAX_CONNECTIONS;
        private Duration evictIdleAfter = TcpServer.DEFAULT_EVICT_IDLE_AFTER;
        private Duration writeStallTimeout = TcpServer.DEFAULT_WRITE_STALL_TIMEOUT;
        private int sendBufferSize = TcpServer.DEFAULT_SEND_BUFFER_SIZE;
        private ServerLog log = ServerLog.system();

        private Builder(String model, SimulatedInstrument instrument) {
            this.model = model;
            this.instrument = instrument;
        }

        /** Timing and identity of a new instrument (ignored for an existing one). */
        public Builder settings(SimSettings value) {
            settings = Objects.requireNonNull(value, "settings");
            return this;
        }

        /** Where to listen; loopback unless given. */
        public Builder bindAddress(InetAddress value) {
            bindAddress = Objects.requireNonNull(value, "bindAddress");
            return this;
        }

        /** The core channel's port; 0 (the default) picks a free one. */
        public Builder corePort(int value) {
            corePort = port(value);
            return this;
        }

        /** The portmapper's port; 0 (the default) picks a free one, 111 is the standard one. */
        public Builder portmapperPort(int value) {
            portmapperPort = port(value);
            return this;
        }

        /** Whether to run a portmapper at all (default true); without one clients need {@code port=}. */
        public Builder portmapper(boolean value) {
            portmapper = value;
            return this;
        }

        /**
         * Whether the portmapper also answers over UDP, on its TCP port's number (default true), as the
         * classic VXI-11 search expects; ignored without a portmapper.
         */
        public Builder udpPortmapper(boolean value) {
            udpPortmapper = value;
            return this;
        }

        /** The abort channel's port, which create_link announces; 0 (the default) picks a free one. */
        public Builder abortPort(int value) {
            abortPort = port(value);
            return this;
        }

        /**
         * Whether to offer an abort channel at all (default true); without one create_link announces
         * abortPort 0, as instruments without device_abort do.
         */
        public Builder abortChannel(boolean value) {
            abortChannel = value;
            return this;
        }

        /** The maxRecvSize create_link announces: the longest device_write accepted (default 64 KiB). */
        public Builder maxReceiveSize(int value) {
            if (value < 1 || value > 16 << 20) {
                throw new IllegalArgumentException("maxReceiveSize must be 1 to 16 MiB, was " + value);
            }
            maxReceiveSize = value;
            return this;
        }

        /**
         * How many connections each channel (core, portmapper, abort) serves at once, at least 1; one more
         * is accepted and closed at once. Default {@value TcpServer#DEFAULT_MAX_CONNECTIONS}.
         */
        public Builder maxConnections(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("maxConnections must be at least 1, was " + value);
            }
            maxConnections = value;
            return this;
        }

        /**
         * How long a connection must have carried nothing (no call read, no reply written) before a newcomer
         * that finds every slot of its channel taken gets it: the connection idle longest is closed, which
         * destroys its links and releases their lock. {@code null} or zero never; default 10 s. Nobody is
         * closed for being idle while there is room. See {@link TcpServer.Builder#evictIdleAfter(Duration)}.
         */
        public Builder evictIdleAfter(Duration value) {
            TcpServer.builder("check").evictIdleAfter(value); // checks it
            evictIdleAfter = value;
            return this;
        }

        /**
         * How long a reply may make no progress (the client does not read its replies) before the server
         * closes the connection; {@code null} or zero never; default 10 s. See
         * {@link TcpServer.Builder#writeStallTimeout(Duration)}.
         */
        public Builder writeStallTimeout(Duration value) {
            TcpServer.builder("check").writeStallTimeout(value); // checks it
            writeStallTimeout = value;
            return this;
        }

        /**
         * The send buffer of each connection, so that a client that floods calls and never reads stalls the
         * server after about this much; 0 for the system's. Default 64 KiB.
         */
        public Builder sendBufferSize(int bytes) {
            TcpServer.builder("check").sendBufferSize(bytes); // checks it
            sendBufferSize = bytes;
            return this;
        }

        /** Where the servers report trouble such as failing accepts; default {@link ServerLog#system()}. */
        public Builder log(ServerLog value) {
            log = Objects.requireNonNull(value, "log");
            return this;
        }

        private static int port(int value) {
            if (value < 0 || value > 65535) {
                throw new IllegalArgumentException("not a port: " + value);
            }
            return value;
        }

        /**
         * Starts listening.
         *
         * @throws IOException when a port cannot be bound
         * @throws IllegalArgumentException when the model is unknown
         */
        public Vxi11SimServer start() throws IOException {
            return new Vxi11SimServer(this);
        }
    }

    /**
     * Runs a server until killed: {@code --model SMW200A|SHARED --core <port> --portmapper <port>
     * [--abort <port>] [--bind <address>] [--max-connections <n>]}.
     */
    public static void main(String[] args) throws Exception {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            options.put(args[i], args[i + 1]);
        }
        Builder builder = builder(options.getOrDefault("--model", "SMW200A"))
                .corePort(Integer.parseInt(options.getOrDefault("--core", "0")))
                .portmapperPort(Integer.parseInt(options.getOrDefault("--portmapper", "0")))
                .abortPort(Integer.parseInt(options.getOrDefault("--abort", "0")))
                .maxConnections(Integer.parseInt(options.getOrDefault("--max-connections",
                        String.valueOf(TcpServer.DEFAULT_MAX_CONNECTIONS))));
        if (options.containsKey("--bind")) {
            builder.bindAddress(InetAddress.getByName(options.get("--bind")));
        }
        Vxi11SimServer server = builder.start();
        System.out.println(server + " " + server.resource());
        Thread.currentThread().join();
    }
}
