package org.labhal.transport.vxi11.internal;

import static org.labhal.transport.vxi11.internal.Vxi11Protocol.*;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.transport.Deadline;
import org.labhal.api.transport.Uninterruptibly;
import org.labhal.transport.vxi11.Vxi11AbortedException;
import org.labhal.transport.vxi11.Vxi11Error;
import org.labhal.transport.vxi11.Vxi11Exception;
import org.labhal.transport.vxi11.Vxi11Link;

/**
 * One VXI-11 link: a TCP connection to the instrument's core channel carrying one link made by
 * create_link. Each operation is one RPC (a write of more than maxRecvSize bytes, or a read that
 * the instrument answers in pieces, several), serialised by a lock.
 *
 * <p>Time: a call's timeout bounds the whole call, every RPC of it and every byte of their replies,
 * recovery included. The instrument gets what is left of the timeout as its io_timeout (and
 * lock_timeout, up to {@code lock_wait_ms}); the client waits for the replies until the timeout plus
 * {@link #REPLY_MARGIN}, the time the instrument's own answer (error 15, error 11) needs to come
 * back, so that a call ends by then at the latest however the instrument or the network behave. A
 * reply that arrives after its call gave up is recognised by its xid and dropped.
 *
 * <p>Staying in step with the instrument:
 * <ul>
 * <li>a message cut short while the instrument may hold part of it (in this call, or an earlier one
 * without END) must never be glued to the next message:
 * <ul>
 * <li>when device_write answered (an error such as 15 after part of the data, or 11), the core channel
 * is in step and device_clear drops the fragment, within what is left of the write's deadline: the
 * instrument gets half of it as io_timeout, its reply the other half. When the clear fails or is not
 * answered in that time the link is closed;</li>
 * <li>when device_write did not answer by the deadline, or its record could not even go out (the
 * instrument or the network stopped taking data: the record sits in the TCP send buffer), the link
 * is closed at once with a {@link ConnectionLostException}: the core channel serves one call after
 * another, so a device_clear would wait behind the unanswered call, which already had its reply
 * margin; device_abort on the abort channel does not help either, since it ends a call the
 * instrument is executing, and a record stuck on its way is not. An instrument drops a closed link's
 * input, and the next link is a new connection, where no late reply of the old one can arrive;</li>
 * </ul></li>
 * <li>device_lock unanswered by the deadline closes the link: the instrument might grant the lock
 * later and keep it for a link that believes it has none; a dropped link's lock is freed;</li>
 * <li>device_unlock, device_clear and closing complete whatever the caller's interrupt flag says
 * ({@link Uninterruptibly}), the flag being set again afterwards.</li>
 * </ul>
 *
 * <p>A query's device_read goes out with its device_write ({@link #writeQuery}, read-ahead): one
 * round trip per query; what keeps the core channel in step is said there.
 *
 * <p>Threads: see {@link Vxi11Link}. {@link #close()} with a call in progress (a read-ahead counts)
 * first sends
 * device_abort on the {@link AbortChannel} and gives the call {@link #ABORT_WAIT} to end; it then
 * sends destroy_link when no call is in progress any more (bounded by {@link #DESTROY_WAIT}) and
 * closes the socket, which wakes a call still blocked. An interrupted caller does the same itself.
 */
final class Vxi11Connection implements Vxi11Link {
    /** How long after a call's timeout its reply may come: the instrument's answer at its own timeout needs a round trip. */
    static final Duration REPLY_MARGIN = Duration.ofSeconds(1);
    /** How long {@link #unlock()} waits for device_unlock's reply. */
    static final Duration UNLOCK_WAIT = Duration.ofSeconds(2);
    /** How long close() waits for destroy_link's reply. */
    static final Duration DESTROY_WAIT = Duration.ofMillis(500);
    /**
     * How long closing waits for device_abort's answer (connect included), and then for the aborted
     * call to end: short, so that a dead abort channel cannot hold up a close.
     */
    static final Duration ABORT_WAIT = Duration.ofMillis(500);

    /**
     * What device_lock returns (VXI-11 B.6.11): success, invalid link identifier, device locked by
     * another link, abort; and operation not supported, from an instrument without locks.
     */
    private static final Set<Integer> LOCK_ANSWERS = Set.of(ERR_NONE, ERR_INVALID_LINK, ERR_NOT_SUPPORTED,
            ERR_LOCKED, ERR_ABORT);
    /** Reply overhead beyond device_read data: RPC header, error, reason, opaque length. */
    private static final int REPLY_OVERHEAD = 1024;

    private final ResourceAddress address;
    private final String resource;
    private final String device;
    private final Vxi11Settings settings;
    private final Consumer<Vxi11Connection> onClosed;
    private final ReentrantLock calls = new ReentrantLock();

    private final Object state = new Object();
    private Socket socket; // guarded by state: the socket being connected, so close() can abort it
    private String closedBecause; // guarded by state; set once
    private volatile LabHalException abortFailure; // why closing could not abort the call in progress

    // Set by connect(), before the connection is handed out
    private volatile RpcClient rpc;
    private volatile AbortChannel abortChannel; // null when the instrument offers none
    private volatile int lid;
    private int maxRecvSize;
    private boolean unended; // guarded by calls: the instrument may hold part of a message not yet ended

    // The read-ahead of writeQuery, guarded by calls (ahead is volatile for close() to peek at)
    private volatile RpcClient.Request ahead; // device_read sent behind a query's device_write; reply not yet taken
    private Budget aheadBudget; // the query's time, which the read-ahead's io_timeout came from
    private ByteBuffer aheadData; // data of the read-ahead's reply that read() has not handed out yet
    private boolean aheadEnded; // whether that reply ended the message
    private LabHalException aheadFailure; // the error the read-ahead's reply reported, for the next read()
    private String remote = "";

    Vxi11Connection(ResourceAddress address, Vxi11Settings settings, Consumer<Vxi11Connection> onClosed) {
        this.address = address;
        this.resource = address.canonical();
        this.device = address.lanDevice().orElse("inst0");
        this.settings = settings;
        this.onClosed = onClosed;
    }

    // ---------------------------------------------------------------- opening

    /**
     * Finds the core port (portmapper unless {@code port=} was given), connects and creates the link,
     * all by one deadline. Name resolution is not bounded by {@code timeout}: the JDK offers no
     * timeout for it.
     */
    void connect(Duration timeout) throws LabHalException {
        Deadline deadline = Budget.of(timeout).reply();
        String host = address.host().orElseThrow();
        String literal = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        InetAddress ip;
        try {
            ip = InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new LabHalException("Cannot open " + resource + ": unknown host '" + literal + "'", e);
        }
        int port = settings.corePort();
        if (port == 0) {
            InetSocketAddress portmapper = new InetSocketAddress(ip, settings.portmapperPort());
            try {
                port = Portmapper.getPort(portmapper, CORE_PROGRAM, CORE_VERSION, deadline);
            } catch (SocketTimeoutException e) {
                throw new IoTimeoutException("Cannot open " + resource + ": the portmapper at " + portmapper
                        + " did not answer within " + ms(deadline.timeout()) + " ms", timeout);
            } catch (ConnectException e) {
                throw new LabHalException("Cannot open " + resource + ": no portmapper at " + portmapper + " ("
                        + e.getMessage() + "); give the core channel's port with the option port=<port>", e);
            } catch (Portmapper.NotRegisteredException e) {
                throw new LabHalException("Cannot open " + resource + ": " + e.getMessage()
                        + ", so it serves no VXI-11 instrument", e);
            } catch (InterruptedIOException e) {
                throw interruptedBefore("the portmapper at " + portmapper + " answered");
            } catch (IOException | RpcRejectedException e) {
                throw new LabHalException("Cannot open " + resource + ": the portmapper lookup at " + portmapper
                        + " failed: " + e.getMessage(), e);
            }
        }
        InetSocketAddress target = new InetSocketAddress(ip, port);
        try {
            rpc = RpcClient.connect(target, deadline, settings.maxRead() + REPLY_OVERHEAD, s -> {
                synchronized (state) {
                    socket = s;
                }
            });
        } catch (SocketTimeoutException e) {
            throw new IoTimeoutException("Cannot open " + resource + ": " + target + " did not accept the connection "
                    + "within " + ms(deadline.timeout()) + " ms", timeout);
        } catch (IOException e) {
            throw closedOr(new LabHalException("Cannot open " + resource + ": cannot connect to the VXI-11 core "
                    + "channel at " + target + " (" + e.getMessage() + ")", e));
        }
        remote = target.toString();
        synchronized (state) {
            if (closedBecause != null) {
                rpc.close();
                throw closedFailure(null);
            }
        }
        enter(CREATE_LINK);
        try {
            RpcClient.Request request = rpc.request(CORE_PROGRAM, CORE_VERSION, CREATE_LINK, 16 + device.length());
            request.args().putInt(System.identityHashCode(this)).putBool(false).putInt(0).putString(device);
            XdrDecoder reply = call(CREATE_LINK, request, deadline);
            int error = reply.getInt();
            int id = reply.getInt();
            long abortPort = reply.getUnsignedInt();
            long max = reply.getUnsignedInt();
            check(CREATE_LINK, error, timeout, " for device '" + device + "'");
            if (max < 1) {
                throw lose("create_link answered a maxRecvSize of 0", null);
            }
            lid = id;
            maxRecvSize = (int) Math.min(max, 1 << 24);
            // 0 means no abort channel; a value beyond 16 bits is no port either, and not worth
            // refusing an otherwise working link for.
            if (abortPort > 0 && abortPort <= 65535) {
                abortChannel = new AbortChannel(new InetSocketAddress(ip, (int) abortPort), id);
            }
        } catch (XdrException e) {
            throw lose("sent a malformed create_link reply: " + e.getMessage(), e);
        } finally {
            calls.unlock();
        }
    }

    // ---------------------------------------------------------------- the Connection operations

    /**
     * device_write, in chunks of maxRecvSize, all by one deadline; no chunk is sent after the
     * timeout, whose rest (the reply margin) is for replies and for recovery. When the message is cut
     * short (a chunk fails or goes unanswered, or the timeout passes, while the instrument may hold
     * part of the message) the instrument's input is cleared before the failure is thrown, or the
     * link is closed (see the class comment for which).
     */
    @Override
    public void write(ByteBuffer data, boolean end, Duration timeout) throws LabHalException {
        Budget budget = Budget.of(timeout);
        int start = data.position();
        enter(DEVICE_WRITE);
        try {
            do {
                LabHalException failed;
                if (data.position() > start && budget.instrument().expired()) {
                    failed = new IoTimeoutException(resource + ": device_write: the instrument took "
                            + (data.position() - start) + " of " + (data.limit() - start) + " bytes within "
                            + ms(timeout) + " ms", timeout);
                } else {
                    int chunk = Math.min(data.remaining(), maxRecvSize);
                    failed = writeChunk(data, chunk, end && chunk == data.remaining(), budget, null);
                }
                if (failed != null) {
                    throw unended && isOpen() ? dropFragment(failed, budget) : failed;
                }
            } while (data.hasRemaining());
        } finally {
            calls.unlock();
        }
    }

    /**
     * A query that fits one device_write goes out with its device_read right behind it, in one write
     * ({@code read_ahead}, on unless the resource says {@code read_ahead=off}): the instrument answers
     * both in turn, so a query costs one round trip instead of two. {@link #read} takes the
     * read-ahead's reply. A read-ahead nobody read is taken and dropped before the next message or
     * device_clear goes out, and kept for {@link #read} when another operation (device_readstb, say)
     * comes between; either way the core channel stays in step, since replies come in the order of
     * the calls.
     * <p>
     * When the device_write fails, its read-ahead is already queued on the instrument: after error 11
     * (locked by another link) it fails the same way at once, and its reply is taken and dropped;
     * after any other error it would hold the core channel until the instrument's io_timeout, so the
     * link is closed ({@link ConnectionLostException}). A long query (more than maxRecvSize bytes)
     * goes out as {@link #write} sends it, without a read-ahead.
     */
    @Override
    public void writeQuery(ByteBuffer query, Duration timeout) throws LabHalException {
        int chunk = query.remaining();
        if (!settings.readAhead() || chunk == 0 || chunk > maxRecvSize) {
            write(query, true, timeout);
            return;
        }
        Budget budget = Budget.of(timeout);
        enter(DEVICE_WRITE);
        try {
            settleAhead(DEVICE_WRITE); // the answer to an earlier query nobody read
            RpcClient.Request read = readRequest(settings.maxRead(), budget);
            LabHalException failed = writeChunk(query, chunk, true, budget, read);
            if (failed != null) {
                throw unended && isOpen() ? dropFragment(failed, budget) : failed;
            }
            ahead = read;
            aheadBudget = budget;
        } finally {
            calls.unlock();
        }
    }

    /**
     * One device_write; the caller holds {@code calls}. Moves the buffer's position by what the
     * instrument took, and keeps {@link #unended} true while the instrument may hold part of a
     * message: from before the call is sent until a reply says it took the whole message with END.
     *
     * @return the failure when the instrument answered an error, or did not answer in time while it can
     *         hold no part of a message; null on success
     * @throws ConnectionLostException when the link was lost, or closed because the message was cut
     *         without a reply ({@link #cutOff})
     * @throws LabHalException when the caller was interrupted (the link is closed then)
     */
    private LabHalException writeChunk(ByteBuffer data, int chunk, boolean ends, Budget budget,
            RpcClient.Request readAhead) throws LabHalException {
        boolean before = unended;
        RpcClient.Request request = rpc.request(CORE_PROGRAM, CORE_VERSION, DEVICE_WRITE, 24 + chunk);
        ByteBuffer slice = data.duplicate();
        slice.limit(slice.position() + chunk);
        long io = budget.instrumentMillis();
        request.args().putInt(lid).putUnsignedInt(io).putUnsignedInt(lockMillis(io))
                .putInt(lockFlags() | (ends ? FLAG_END : 0)).putOpaque(slice);
        unended = before || chunk > 0;
        XdrDecoder reply;
        try {
            Deadline deadline = budget.reply();
            reply = readAhead == null ? call(DEVICE_WRITE, request, deadline)
                    : exchange(DEVICE_WRITE, request, deadline, () -> rpc.call(request, readAhead, deadline));
        } catch (IoTimeoutException e) {
            if (!unended) {
                return e; // nothing of a message can be in the instrument: in step, a late reply is dropped by its xid
            }
            throw cutOff(e, budget);
        }
        try {
            int error = reply.getInt();
            long size = reply.getUnsignedInt();
            if (size > chunk) {
                throw lose("device_write answered that it took " + size + " of " + chunk + " bytes", null);
            }
            data.position(data.position() + (int) size); // also after an error: it tells how many went out
            unended = !(error == ERR_NONE && ends && size == chunk) && (size > 0 || before);
            if (readAhead != null && (error != ERR_NONE || size != chunk)) {
                dropReadAhead(readAhead, error, budget);
            }
            if (error != ERR_NONE) {
                return closedOr(failure(DEVICE_WRITE, error, budget.timeout(), size > 0
                        ? " after the instrument took " + size + " of " + chunk + " bytes" : ""));
            }
            if (size == 0 && chunk > 0) {
                return new Vxi11Exception(resource + ": device_write took none of " + chunk + " bytes",
                        "device_write", ERR_IO);
            }
            return null;
        } catch (XdrException e) {
            throw lose("sent a malformed device_write reply: " + e.getMessage(), e);
        }
    }

    /**
     * A query's device_write failed while its read-ahead was queued behind it; the caller holds
     * {@code calls}. Error 11 (locked by another link) fails the read-ahead at once too: its reply is
     * taken and dropped. After any other error the instrument would work on the read-ahead until its
     * io_timeout, holding the core channel, so the link is closed.
     */
    private void dropReadAhead(RpcClient.Request readAhead, int error, Budget budget) throws LabHalException {
        String why = "device_write " + (error == ERR_NONE ? "took only part of the query"
                : "failed with VXI-11 error " + error) + " while the query's device_read was queued behind it";
        if (error == ERR_LOCKED) {
            try {
                Deadline deadline = budget.reply();
                awaitReply(DEVICE_READ, readAhead, deadline);
                return;
            } catch (IoTimeoutException e) {
                throw lose(why + ", and that device_read was not answered in time either", e);
            }
        }
        throw lose(why + "; that device_read would hold the core channel until the instrument's timeout", null);
    }

    /**
     * device_write went unanswered by the call's deadline, or its record could not go out whole
     * (the watchdog closed the link), while the instrument may hold part of the message: closes the
     * link, since nothing sent on the core channel now could get through before the unanswered call
     * (see the class comment). The caller holds {@code calls}.
     *
     * @param unanswered the timeout of the device_write call, as the cause
     * @return what to throw, saying why the link was closed
     */
    private ConnectionLostException cutOff(IoTimeoutException unanswered, Budget budget) {
        String what = isOpen()
                ? "no reply to device_write within its " + ms(budget.timeout()) + " ms timeout and "
                        + ms(REPLY_MARGIN) + " ms reply margin, and a device_clear would wait behind it on the "
                        + "core channel"
                : "device_write's record did not go out whole within its " + ms(budget.timeout()) + " ms timeout and "
                        + ms(REPLY_MARGIN) + " ms reply margin: the instrument or the network took no more of it";
        String why = "the message was cut short (" + what + ") and the instrument may hold part of it";
        shutDown("lost: " + why, false); // nothing when the watchdog closed it already
        return new ConnectionLostException(resource + ": " + why + "; the link was closed so that the instrument "
                + "does not join the next command to the fragment", unanswered);
    }

    /**
     * A message was cut short and the instrument answered: clears the instrument's input
     * (device_clear) so that its fragment is not glued to the next message, within what is left of
     * the write's deadline and whatever the interrupt flag says; closes the link when that fails.
     * The caller holds {@code calls}.
     *
     * @param cut why the message was cut
     * @param budget the write's time
     * @return what to throw: {@code cut}, telling that the fragment was cleared, or a
     *         {@link ConnectionLostException} when the link had to be closed
     */
    private LabHalException dropFragment(LabHalException cut, Budget budget) {
        String note = "; device_clear dropped the part the instrument had taken";
        try {
            Uninterruptibly.run(() -> generic(DEVICE_CLEAR, budget.rest()));
        } catch (LabHalException e) {
            ConnectionLostException lost = lose("the message was cut short (" + cut.getMessage() + ") and "
                    + "device_clear could not drop the part the instrument had taken within what was left of the "
                    + "write's time: " + e.getMessage(), cut);
            lost.addSuppressed(e);
            return lost;
        }
        if (cut instanceof Vxi11AbortedException aborted) {
            return new Vxi11AbortedException(aborted.getMessage() + note, aborted.operation());
        }
        if (cut instanceof Vxi11Exception error) {
            return new Vxi11Exception(error.getMessage() + note, error.operation(), error.code());
        }
        if (cut instanceof IoTimeoutException timeout) {
            return new IoTimeoutException(timeout.getMessage() + note, timeout.timeout());
        }
        return cut;
    }

    @Override
    public boolean read(ByteBuffer into, Duration timeout) throws LabHalException {
        Budget budget = Budget.of(timeout);
        enter(DEVICE_READ);
        try {
            if (ahead != null || aheadData != null || aheadFailure != null) {
                Boolean ended = readAhead(into, budget);
                if (ended != null) {
                    return ended;
                }
            }
            while (true) {
                int requestSize = Math.min(into.remaining(), settings.maxRead());
                XdrDecoder reply = call(DEVICE_READ, readRequest(requestSize, budget), budget.reply());
                int error = reply.getInt();
                int reason = reply.getInt();
                check(DEVICE_READ, error, timeout, "");
                ByteBuffer window = into.duplicate();
                window.limit(window.position() + requestSize);
                int n = reply.getOpaqueInto(window);
                into.position(into.position() + n);
                boolean ended = ended(reason);
                if (n > 0 || ended) {
                    return ended;
                }
                if (budget.instrument().expired()) { // nothing and no end: the instrument's way of waiting
                    throw new IoTimeoutException(resource + ": device_read delivered no data within "
                            + ms(timeout) + " ms", timeout);
                }
            }
        } catch (XdrException e) {
            throw lose("sent a malformed device_read reply: " + e.getMessage(), e);
        } finally {
            calls.unlock();
        }
    }

    /**
     * Hands out what the read-ahead brought; the caller holds {@code calls}.
     *
     * @return whether the bytes handed out end the message, or null when the read-ahead brought
     *         nothing and no end (the instrument's way of saying it had nothing yet): read on
     */
    private Boolean readAhead(ByteBuffer into, Budget budget) throws LabHalException {
        synchronized (state) {
            if (closedBecause != null) {
                throw closedFailure(null);
            }
        }
        if (ahead != null) {
            takeAhead(budget.reply());
        }
        LabHalException failed = aheadFailure;
        if (failed != null) {
            aheadFailure = null;
            throw failed;
        }
        ByteBuffer data = aheadData;
        int n = Math.min(into.remaining(), data.remaining());
        ByteBuffer part = data.duplicate();
        part.limit(part.position() + n);
        into.put(part);
        data.position(data.position() + n);
        if (data.hasRemaining()) {
            return false;
        }
        aheadData = null;
        return n > 0 || aheadEnded ? aheadEnded : null;
    }

    /**
     * Waits for the read-ahead's reply (by {@code deadline}) and keeps what it says for
     * {@link #read}: its data, or its error. The caller holds {@code calls}.
     *
     * @throws IoTimeoutException when no reply came in time; the read-ahead is given up (a late reply
     *         is dropped by its xid)
     */
    private void takeAhead(Deadline deadline) throws LabHalException {
        RpcClient.Request request = ahead;
        ahead = null;
        try {
            XdrDecoder reply = awaitReply(DEVICE_READ, request, deadline);
            int error = reply.getInt();
            int reason = reply.getInt();
            if (error != ERR_NONE) {
                aheadFailure = closedOr(failure(DEVICE_READ, error, aheadBudget.timeout(), ""));
                return;
            }
            aheadData = reply.getOpaqueView(settings.maxRead());
            aheadEnded = ended(reason);
        } catch (XdrException e) {
            throw lose("sent a malformed device_read reply: " + e.getMessage(), e);
        }
    }

    /**
     * Before another call goes out: takes the read-ahead's reply, so that the core channel stays in
     * step; a new message or a device_clear drops what it brought, anything else keeps it for
     * {@link #read}. The caller holds {@code calls}.
     */
    private void settleAhead(int procedure) throws LabHalException {
        if (ahead != null) {
            try {
                takeAhead(aheadBudget.reply());
            } catch (IoTimeoutException e) {
                throw lose("the answer to the query before " + name(procedure) + " did not come within the "
                        + "query's timeout, and " + name(procedure) + " would wait behind it on the core channel", e);
            }
        }
        if (procedure == DEVICE_WRITE || procedure == DEVICE_CLEAR) {
            aheadData = null;
            aheadFailure = null;
        }
    }

    /** A device_read asking for up to {@code requestSize} bytes within the budget's time. */
    private RpcClient.Request readRequest(int requestSize, Budget budget) {
        long io = budget.instrumentMillis();
        RpcClient.Request request = rpc.request(CORE_PROGRAM, CORE_VERSION, DEVICE_READ, 24);
        request.args().putInt(lid).putUnsignedInt(requestSize).putUnsignedInt(io).putUnsignedInt(lockMillis(io))
                .putInt(lockFlags() | (settings.termChar() >= 0 ? FLAG_TERMCHRSET : 0))
                .putInt(Math.max(0, settings.termChar()));
        return request;
    }

    /** Whether a device_read reply's reason ends the message. */
    private boolean ended(int reason) {
        return (reason & REASON_END) != 0 || settings.termChar() >= 0 && (reason & REASON_CHR) != 0;
    }

    /**
     * device_clear: the instrument empties its input and output buffers. Completes whatever the
     * interrupt flag says, which is set again afterwards: it is how callers get back in step.
     */
    @Override
    public void clear(Duration timeout) throws LabHalException {
        Uninterruptibly.run(() -> generic(DEVICE_CLEAR, Budget.of(timeout)));
    }

    // ---------------------------------------------------------------- the Vxi11Link operations

    /**
     * device_lock. When its reply does not come by the deadline the link is closed: the instrument may
     * still grant the lock, and would keep it for a link that believes it has none.
     */
    @Override
    public void lock(Duration wait) throws LabHalException {
        Budget budget = Budget.of(wait);
        boolean waits = !(wait.isZero() || wait.isNegative());
        enter(DEVICE_LOCK);
        try {
            RpcClient.Request request = rpc.request(CORE_PROGRAM, CORE_VERSION, DEVICE_LOCK, 12);
            request.args().putInt(lid).putInt(waits ? FLAG_WAITLOCK : 0)
                    .putUnsignedInt(waits ? budget.instrumentMillis() : 0);
            XdrDecoder reply;
            try {
                reply = call(DEVICE_LOCK, request, budget.reply());
            } catch (IoTimeoutException e) {
                throw unanswered(DEVICE_LOCK, e, "a lock it grants late");
            }
            int error = reply.getInt();
            if (!LOCK_ANSWERS.contains(error)) {
                // garbled on the way, say: the instrument may hold the lock for this link, which would
                // then believe it has none; closing the link frees it
                throw lose("answered device_lock with VXI-11 error " + error + ", which device_lock cannot return "
                        + "(it returns 0, 4, 8, 11 or 23), so whether the instrument holds the lock for this link is "
                        + "unknown", null);
            }
            check(DEVICE_LOCK, error, wait, " after waiting " + ms(wait) + " ms");
        } catch (XdrException e) {
            throw lose("sent a malformed device_lock reply: " + e.getMessage(), e);
        } finally {
            calls.unlock();
        }
    }

    /**
     * A device_lock or device_unlock whose reply did not come in time leaves the lock's state unknown:
     * closes the link, since the instrument frees a dropped link's lock.
     */
    private LabHalException unanswered(int procedure, IoTimeoutException e, String what) {
        if (!isOpen()) {
            return e;
        }
        shutDown("closed because " + name(procedure) + " was not answered in time", false);
        return new IoTimeoutException(e.getMessage() + "; the link was closed, so that the instrument frees "
                + what + " with it", e.timeout());
    }

    /** VXI-11 has no shared locks: a key is refused before anything is sent. */
    @Override
    public void lockInstrument(Duration timeout, String sharedKey) throws LabHalException {
        if (sharedKey != null) {
            throw new IllegalArgumentException(resource + ": VXI-11 device_lock is exclusive only; cannot take the "
                    + "shared lock '" + sharedKey + "' (use an exclusive lock, or HiSLIP for shared locks)");
        }
        lock(timeout);
    }

    /**
     * device_unlock, whatever the interrupt flag says (set again afterwards). Unanswered within
     * {@code timeout}, the link is closed, which frees the lock.
     */
    @Override
    public void unlockInstrument(Duration timeout) throws LabHalException {
        Uninterruptibly.run(() -> unlock(Budget.of(timeout)));
    }

    /** As {@link #unlockInstrument}, waiting up to {@link #UNLOCK_WAIT}. */
    @Override
    public void unlock() throws LabHalException {
        unlockInstrument(UNLOCK_WAIT);
    }

    private void unlock(Budget budget) throws LabHalException {
        enter(DEVICE_UNLOCK);
        try {
            RpcClient.Request request = rpc.request(CORE_PROGRAM, CORE_VERSION, DEVICE_UNLOCK, 4);
            request.args().putInt(lid);
            XdrDecoder reply;
            try {
                reply = call(DEVICE_UNLOCK, request, budget.reply());
            } catch (IoTimeoutException e) {
                throw unanswered(DEVICE_UNLOCK, e, "the lock");
            }
            check(DEVICE_UNLOCK, reply.getInt(), budget.timeout(), "");
        } catch (XdrException e) {
            throw lose("sent a malformed device_unlock reply: " + e.getMessage(), e);
        } finally {
            calls.unlock();
        }
    }

    @Override
    public int readStatusByte(Duration timeout) throws LabHalException {
        return generic(DEVICE_READSTB, Budget.of(timeout)) & 0xFF;
    }

    @Override
    public void trigger(Duration timeout) throws LabHalException {
        generic(DEVICE_TRIGGER, Budget.of(timeout));
    }

    @Override
    public void remote(Duration timeout) throws LabHalException {
        generic(DEVICE_REMOTE, Budget.of(timeout));
    }

    @Override
    public void local(Duration timeout) throws LabHalException {
        generic(DEVICE_LOCAL, Budget.of(timeout));
    }

    /**
     * A call with Device_GenericParms; returns the status byte for device_readstb, else 0. A
     * device_clear that succeeds leaves no part of a message in the instrument.
     */
    private int generic(int procedure, Budget budget) throws LabHalException {
        enter(procedure);
        try {
            RpcClient.Request request = rpc.request(CORE_PROGRAM, CORE_VERSION, procedure, 16);
            long io = budget.instrumentMillis();
            request.args().putInt(lid).putInt(lockFlags()).putUnsignedInt(lockMillis(io)).putUnsignedInt(io);
            XdrDecoder reply = call(procedure, request, budget.reply());
            check(procedure, reply.getInt(), budget.timeout(), "");
            if (procedure == DEVICE_CLEAR) {
                unended = false;
            }
            return procedure == DEVICE_READSTB ? reply.getInt() : 0;
        } catch (XdrException e) {
            throw lose("sent a malformed " + name(procedure) + " reply: " + e.getMessage(), e);
        } finally {
            calls.unlock();
        }
    }

    @Override
    public void abort(Duration timeout) throws LabHalException {
        synchronized (state) {
            if (closedBecause != null) {
                throw closedFailure(null);
            }
        }
        sendAbort(timeout);
    }

    /** device_abort on the abort channel; does not take {@code calls}, which the aborted call holds. */
    private void sendAbort(Duration timeout) throws LabHalException {
        AbortChannel channel = abortChannel;
        if (channel == null) {
            throw new LabHalException(resource + ": cannot send device_abort: the instrument offers no abort "
                    + "channel (create_link answered abortPort 0)");
        }
        int error;
        try {
            error = channel.abort(timeout);
        } catch (SocketTimeoutException e) {
            throw new IoTimeoutException(resource + ": the abort channel at " + channel.target() + " did not "
                    + "connect and answer device_abort within " + ms(timeout) + " ms", timeout);
        } catch (InterruptedIOException e) {
            throw interruptedBefore("device_abort was answered");
        } catch (IOException e) {
            throw new LabHalException(resource + ": device_abort failed on the abort channel at "
                    + channel.target() + ": " + e.getMessage(), e);
        } catch (RpcRejectedException e) {
            throw new LabHalException(resource + ": the instrument refused device_abort on the abort channel at "
                    + channel.target() + ": " + e.getMessage(), e);
        }
        if (error != ERR_NONE) {
            throw failure(DEVICE_ABORT, error, timeout, "");
        }
    }

    /**
     * Aborts the call another thread has in progress, for closing: never throws, never waits longer
     * than {@link #ABORT_WAIT}.
     *
     * @return whether the instrument accepted the abort, so the call will end soon
     */
    private boolean abortForClose() {
        try {
            sendAbort(ABORT_WAIT);
            return true;
        } catch (LabHalException | RuntimeException e) {
            abortFailure = e instanceof LabHalException known ? known
                    : new LabHalException(resource + ": device_abort failed: " + e, e);
            return false;
        }
    }

    @Override
    public String device() {
        return device;
    }

    @Override
    public int maxReceiveSize() {
        return maxRecvSize;
    }

    // ---------------------------------------------------------------- RPC plumbing

    private int lockFlags() {
        return settings.lockWait().isZero() ? 0 : FLAG_WAITLOCK;
    }

    /**
     * Waits for the call before this one to finish; an interrupt ends the wait, or prevents it. A read
     * whose query's device_read is already out ({@link #ahead}) is the exception: that call is
     * outstanding on the instrument, so an interrupted read goes on to end it (the exchange aborts it
     * and closes the link, {@link #interrupted}) rather than leave it queued on the core channel, where
     * whatever comes next would wait behind it. That holds even when the reply has arrived meanwhile:
     * the answer is not read, as for any step interrupted before its read.
     */
    private void enter(int procedure) throws LabHalException {
        if (Thread.currentThread().isInterrupted()) {
            if (procedure == DEVICE_READ && ahead != null && calls.tryLock()) {
                return;
            }
            throw interruptedBefore(name(procedure) + " was sent; the link stays open");
        }
        try {
            calls.lockInterruptibly();
        } catch (InterruptedException e) {
            throw interruptedBefore(name(procedure) + " was sent, waiting for another call on the link to end; "
                    + "the link stays open");
        }
    }

    /** The caller was interrupted before anything was sent: the link is untouched. */
    private StepInterruptedException interruptedBefore(String what) {
        Thread.currentThread().interrupt();
        return new StepInterruptedException(resource + ": interrupted before " + what,
                new InterruptedException("interrupted before " + what));
    }

    /**
     * Sends one call and maps every failure to the exception callers expect; the caller holds
     * {@code calls}. A read-ahead still outstanding is taken first ({@link #settleAhead}).
     */
    private XdrDecoder call(int procedure, RpcClient.Request request, Deadline deadline) throws LabHalException {
        settleAhead(procedure);
        return exchange(procedure, request, deadline, () -> rpc.call(request, deadline));
    }

    /**
     * Waits for the reply to a call sent before (a read-ahead) and maps every failure as
     * {@link #exchange} does; the caller holds {@code calls}. An interrupt, even one that came before
     * this wait began, ends the call outstanding on the instrument ({@link #interrupted}).
     */
    private XdrDecoder awaitReply(int procedure, RpcClient.Request request, Deadline deadline)
            throws LabHalException {
        return exchange(procedure, request, deadline, true, () -> rpc.reply(request, deadline));
    }

    /** One exchange with the RPC client: a call, or the wait for a reply to a call sent before. */
    @FunctionalInterface
    private interface Exchange {
        XdrDecoder run() throws IOException, RpcRejectedException;
    }

    /**
     * Runs one exchange for {@code request} and maps every failure to the exception callers expect;
     * the caller holds {@code calls}.
     */
    private XdrDecoder exchange(int procedure, RpcClient.Request request, Deadline deadline, Exchange exchange)
            throws LabHalException {
        return exchange(procedure, request, deadline, false, exchange);
    }

    /** As above; {@code sent} says whether the call went out before (only its reply is awaited). */
    private XdrDecoder exchange(int procedure, RpcClient.Request request, Deadline deadline, boolean sent,
            Exchange exchange) throws LabHalException {
        synchronized (state) {
            if (closedBecause != null) {
                throw closedFailure(null);
            }
        }
        if (Thread.currentThread().isInterrupted()) {
            throw sent ? interrupted(procedure, request)
                    : interruptedBefore(name(procedure) + " was sent; the link stays open");
        }
        try {
            return exchange.run();
        } catch (RpcClient.WriteTimeoutException e) {
            lose(e.getMessage(), e);
            throw new IoTimeoutException(resource + ": " + name(procedure) + ": " + e.getMessage()
                    + "; the link was closed", deadline.timeout());
        } catch (SocketTimeoutException e) {
            throw closedOr(new IoTimeoutException(resource + ": no reply to " + name(procedure) + " within "
                    + ms(deadline.timeout()) + " ms", deadline.timeout()));
        } catch (InterruptedIOException e) {
            throw interrupted(procedure, request);
        } catch (XdrException e) {
            throw lose("sent a malformed reply to " + name(procedure) + ": " + e.getMessage(), e);
        } catch (EOFException e) {
            throw lose(e.getMessage() + " during " + name(procedure), e);
        } catch (IOException e) {
            throw lose("the link failed during " + name(procedure) + ": " + e, e);
        } catch (RpcRejectedException e) {
            throw new LabHalException(resource + ": the instrument refused " + name(procedure) + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * The caller was interrupted while its call was outstanding on the instrument: aborts the call,
     * waits briefly for its (error 23) reply so that the instrument has let go of it, then destroys
     * the link and closes the connection, as an interruptible channel would. Without that reply the
     * core channel is still held by the call, so destroy_link would only wait behind it: the
     * connection is closed at once (the instrument destroys the link when its connection goes).
     */
    private StepInterruptedException interrupted(int procedure, RpcClient.Request request) {
        Thread.interrupted(); // cleared for the bounded waits below; set again before returning
        String what = name(procedure);
        StepInterruptedException failure = new StepInterruptedException(resource + ": interrupted during " + what
                + "; the call was aborted and the link closed", new InterruptedException("interrupted during " + what));
        try {
            boolean aborted;
            try {
                sendAbort(ABORT_WAIT);
                aborted = true;
            } catch (LabHalException e) {
                failure.addSuppressed(e);
                aborted = false;
            }
            boolean answered = false;
            if (aborted) {
                try {
                    int error = rpc.reply(request, Deadline.after(ABORT_WAIT)).getInt();
                    answered = true;
                    if (error == ERR_ABORT) {
                        failure.addSuppressed(abortedException(procedure, resource + ": " + what
                                + " was ended by device_abort (VXI-11 error 23)"));
                    }
                } catch (IOException | RpcRejectedException e) {
                    // no reply in time, or none at all: the close below ends the call
                }
            }
            shutDown("closed because the caller was interrupted during " + what, answered);
        } finally {
            Thread.currentThread().interrupt();
        }
        return failure;
    }

    /**
     * Turns a non-zero VXI-11 error code into its exception. On a link closed meanwhile it is a
     * {@link ConnectionLostException} with that exception as its cause: e.g. error 23 from the abort
     * that closing sent.
     */
    private void check(int procedure, int error, Duration timeout, String detail) throws LabHalException {
        if (error != ERR_NONE) {
            throw closedOr(failure(procedure, error, timeout, detail));
        }
    }

    private LabHalException failure(int procedure, int error, Duration timeout, String detail) {
        Vxi11Error known = Vxi11Error.of(error);
        String meaning = known == Vxi11Error.UNKNOWN ? "an error code VXI-11 does not define" : known.meaning();
        String message = resource + ": " + name(procedure) + " failed with VXI-11 error " + error + " (" + meaning
                + ")" + detail;
        if (error == ERR_IO_TIMEOUT) {
            return new IoTimeoutException(message + " after " + ms(timeout) + " ms", timeout);
        }
        if (error == ERR_ABORT) {
            return abortedException(procedure, message);
        }
        return new Vxi11Exception(message, name(procedure), error);
    }

    private static Vxi11AbortedException abortedException(int procedure, String message) {
        return new Vxi11AbortedException(message, name(procedure));
    }

    // ---------------------------------------------------------------- closing

    /** The link is unusable (broken, or out of step): closes it for good. */
    private ConnectionLostException lose(String why, Throwable cause) {
        synchronized (state) {
            if (closedBecause != null) {
                return closedFailure(cause);
            }
        }
        shutDown("lost: " + why, false);
        return new ConnectionLostException(resource + ": " + why + "; the link was closed", cause);
    }

    private LabHalException closedOr(LabHalException failure) {
        synchronized (state) {
            return closedBecause == null ? failure : closedFailure(failure);
        }
    }

    private ConnectionLostException closedFailure(Throwable cause) {
        ConnectionLostException lost;
        synchronized (state) {
            lost = new ConnectionLostException(resource + ": the connection was " + closedBecause, cause);
        }
        LabHalException abortFailed = abortFailure;
        if (abortFailed != null) {
            lost.addSuppressed(abortFailed); // why the call was cut off rather than aborted
        }
        return lost;
    }

    @Override
    public String describe() {
        return "VXI-11 link to " + device + " at " + (remote.isEmpty() ? address.host().orElseThrow() : remote)
                + " (" + resource + ")";
    }

    /**
     * Destroys the link (when no call is in progress) and closes the connection; idempotent. Runs to
     * the end whatever the interrupt flag says, which is set again afterwards.
     */
    @Override
    public void close() {
        Uninterruptibly.run(() -> shutDown("closed by its owner", true));
    }

    /**
     * Closes for good because the transport goes away.
     *
     * @param reason completes "the connection was ..."
     */
    void kill(String reason) {
        Uninterruptibly.run(() -> shutDown(reason, true));
    }

    /**
     * Always: a message cut short is dropped by this transport's own device_clear within the write's
     * deadline, or the link is closed (see {@link #write}).
     */
    @Override
    public boolean dropsCutMessages() {
        return true;
    }

    /** False once closed, by its owner or because the link broke or fell out of step. */
    @Override
    public boolean isOpen() {
        synchronized (state) {
            return closedBecause == null;
        }
    }

    private void shutDown(String reason, boolean destroyLink) {
        Socket connecting;
        synchronized (state) {
            if (closedBecause != null) {
                return;
            }
            closedBecause = reason;
            connecting = socket;
        }
        // A call in progress on another thread: have the instrument end it, and let it finish, so that
        // the instrument frees what the call holds and destroy_link can follow on the same channel.
        boolean inProgress = destroyLink && rpc != null && abortChannel != null
                && (calls.isLocked() && !calls.isHeldByCurrentThread() || ahead != null);
        boolean aborted = inProgress && abortForClose();
        if (destroyLink && rpc != null && tryEnter(aborted ? ABORT_WAIT : Duration.ZERO)) {
            try {
                RpcClient.Request request = rpc.request(CORE_PROGRAM, CORE_VERSION, DESTROY_LINK, 4);
                request.args().putInt(lid);
                rpc.call(request, Deadline.after(DESTROY_WAIT));
            } catch (IOException | RpcRejectedException | RuntimeException ignored) {
                // the instrument destroys the link anyway when the connection closes
            } finally {
                calls.unlock();
            }
        }
        if (rpc != null) {
            rpc.close();
        }
        AbortChannel channel = abortChannel;
        if (channel != null) {
            channel.close();
        }
        if (connecting != null) {
            try {
                connecting.close(); // aborts a connect in progress
            } catch (IOException ignored) {
                // released either way
            }
        }
        onClosed.accept(this);
    }

    /**
     * Takes {@code calls} for closing, waiting up to {@code wait}; an interrupt ends that wait (and
     * stays set). Without a wait an interrupted thread still gets it, to send destroy_link.
     */
    private boolean tryEnter(Duration wait) {
        if (wait.isZero()) {
            return calls.tryLock();
        }
        try {
            return calls.tryLock(wait.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * A call's time: the instrument's, from which its io_timeout and lock_timeout come, and the
     * deadline for the replies, {@link #REPLY_MARGIN} later.
     */
    private record Budget(Duration timeout, Deadline instrument, Deadline reply) {
        static Budget of(Duration timeout) {
            long nanos = Deadline.nanos(timeout); // saturated: adding the margin cannot overflow
            return new Budget(timeout, Deadline.after(timeout),
                    Deadline.after(Duration.ofNanos(nanos + Deadline.nanos(REPLY_MARGIN))));
        }

        /**
         * What is left of this call's time, for the device_clear that ends it: its reply is due by
         * the same reply deadline; the instrument gets half of what remains until then as its
         * io_timeout, so that its answer at its own timeout still comes back in time.
         */
        Budget rest() {
            long left = reply.remainingNanos();
            return new Budget(Duration.ofNanos(left), Deadline.after(Duration.ofNanos(left / 2)),
                    Deadline.after(Duration.ofNanos(left)));
        }

        /** What is left of the instrument's time, as VXI-11's unsigned 32-bit milliseconds (saturated). */
        long instrumentMillis() {
            return Math.min(0xFFFF_FFFFL, instrument.remainingNanos() / 1_000_000);
        }
    }

    /** lock_timeout for I/O: the configured wait for another link's lock, within the instrument's time. */
    private long lockMillis(long instrumentMillis) {
        return Math.min(settings.lockWait().toMillis(), instrumentMillis);
    }

    /** Milliseconds for messages: saturated, never an overflow. */
    private static long ms(Duration d) {
        return Deadline.millis(d);
    }

    @Override
    public String toString() {
        return "Vxi11Connection[" + describe() + "]";
    }
}
