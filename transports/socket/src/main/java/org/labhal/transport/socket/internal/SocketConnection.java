package org.labhal.transport.socket.internal;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.Deadline;

/**
 * One raw TCP link to an instrument: a non-blocking {@link SocketChannel} with a {@link Selector}
 * of its own, so every read, write and connect waits in {@code select} with its own timeout, and
 * {@link #close()} from any thread wakes it at once. No threads of its own.
 *
 * <h2>Receiving</h2>
 * Bytes arrive into a buffer of {@value #FIRST_BUFFER_SIZE} bytes that doubles, when a read finds it
 * full, up to 64 KiB (an idle link of a lab of thousands keeps the small one), which a read scans
 * for the read termination and copies out of with {@link System#arraycopy}; bytes after a message
 * end stay buffered for the next read.
 * A response that starts with an IEEE 488.2 definite-length block header ({@code #<n><length>})
 * is framed by its length: termination bytes inside the block's data neither stop a read nor end
 * the message, which ends at the termination after the data.
 *
 * <h2>Late answers</h2>
 * A raw socket has no device clear, so after a timeout {@link #clear} can only drain: it throws
 * away what is buffered and what arrives until the link has been quiet for {@code drain_ms}
 * (bounded by its timeout and by {@code drain_bytes}: a peer that does not fall quiet by then has
 * its link closed). An answer later than that would reach the next query, so the
 * connection also keeps count: a read after a write waits for one answer, and a read that times
 * out before its answer (or before the end of it) leaves that answer owed. The next read after a
 * write first discards as many messages as are owed, whenever they arrive within its timeout,
 * then returns its own; a read with no write before it ({@code Session.read()}) gets the late
 * answer itself. The instrument may never send an owed answer (an unknown query makes none), so
 * owed answers are forgotten once {@code late_ms} have passed since reads began missing answers
 * without one getting its own answer since. Until then a query that is never answered costs each
 * following query its answer (it times out; it never returns another query's answer). An even later
 * answer is still kept from the next question when it arrives before that question goes out: input
 * that is there when a message starts while no question waits for its answer is dropped (an
 * instrument cannot answer a question before it is asked). Only one arriving while a question's read
 * already waits, more than {@code late_ms} after it was given up on, would reach that read.
 *
 * <h2>Out of step: the link is closed</h2>
 * Some failures leave the instrument and this side disagreeing about where a message starts, and
 * no drain can repair that: a message of which part went out (a write cut short by its timeout or
 * an interrupt, or a {@code clear} after a chunk without END), an answer of which part was read
 * when an interrupt came, a definite-length block that stopped short of its announced length (or
 * announced an absurd one) when the link fell quiet, a peer that never falls quiet. The link is
 * then closed, the call throws {@link ConnectionLostException} (or {@link StepInterruptedException}
 * for an interrupt) saying so, later calls throw {@code ConnectionLostException} with the same
 * reason, and {@link #isOpen()} turns false, unless {@code reconnect=true}, when the next write opens
 * a fresh link.
 *
 * <h2>Timeouts and interrupts</h2>
 * Each call makes one deadline from its timeout ({@link Deadline#nanos}, saturating) and every
 * wait inside it waits for what is left of it. A wait checks the interrupt flag: a set flag ends
 * the call with {@link StepInterruptedException} and the flag stays set (a selector returns at
 * once on an interrupted thread, so ignoring the flag would spin).
 *
 * <h2>Threads</h2>
 * Sessions call {@link #read}, {@link #write} and {@link #clear} under their lock, one step at a
 * time; the receive buffer and the answer count belong to that step. {@link #close()} and
 * {@link #kill} may come from any thread.
 */
final class SocketConnection implements Connection {
    static final int BUFFER_SIZE = 64 * 1024;
    /** The receive buffer's size until an answer needs more. */
    static final int FIRST_BUFFER_SIZE = 4096;
    /**
     * A write probes for a peer that closed the link only after this long without receiving: in a
     * busy exchange the next read notices a close just as well, and the probe costs a system call.
     */
    private static final long PROBE_AFTER_IDLE_NANOS = 20_000_000;
    /**
     * The most of a heap buffer one write hands to the channel: the JDK copies a heap buffer into a
     * temporary direct buffer as large as what it is given and keeps it cached per thread, so an
     * unsliced 64 MiB block would cost 64 MiB of native memory per writing thread.
     */
    private static final int WRITE_SLICE = 256 * 1024;
    /** Messages up to this long, termination included, go out in one write from {@link #outbound}. */
    private static final int OUTBOUND_SIZE = 8192;
    private static final byte[] NO_BYTES = new byte[0];
    /** Selected keys are not needed: after a wait the caller simply tries its operation again. */
    private static final Consumer<SelectionKey> IGNORE_KEY = key -> {
    };
    // Where the recogniser of a definite-length block header is, at the start of a message
    private static final int HEADER_START = 0; // expecting '#' or any other first byte
    private static final int HEADER_HASH = 1; // seen '#', expecting the digit count
    private static final int HEADER_DIGITS = 2; // reading the length digits
    private static final int HEADER_DONE = 3; // framed: block data, or a plain message

    private final ResourceAddress address;
    private final String resource;
    private final SocketSettings settings;
    private final Duration connectTimeout;
    private final Consumer<SocketConnection> onClosed;

    private final Object state = new Object();
    private Link link; // guarded by state; null before the first connect and while the link is lost
    private String closedBecause; // guarded by state; set once, when closed for good
    private String lostBecause; // guarded by state; why the last link was lost, for later calls

    // Receive side, used by one step at a time (see class comment)
    private byte[] buffer = new byte[FIRST_BUFFER_SIZE];
    private ByteBuffer inbound = ByteBuffer.wrap(buffer);
    private int head; // buffer[head, tail) is received and not yet consumed
    private int tail;
    private int previous = -1; // the last byte consumed, for CR LF that straddles two reads
    private long lastReceived; // System.nanoTime() when bytes last arrived
    // Framing of the message being consumed
    private boolean atMessageStart = true;
    private int headerState = HEADER_START;
    private int headerDigits;
    private long blockLength;
    private long blockRemaining;
    private boolean messageEnded; // set by frame(): whether the bytes it framed end the message
    // Answer accounting (see class comment)
    private boolean asked; // a message was written since the last read began
    private boolean waiting; // the read in progress (possibly over several calls) waits for an answer
    private int late; // answers owed to reads that gave up on them
    private long lateSince; // System.nanoTime() when the reads started missing answers; 0 while in step
    // Send side, used by one step at a time: bytes of a message that went out without its end (writes
    // with end=false), and the direct buffer short messages go out from (writeWhole)
    private long unfinished;
    private final ByteBuffer outbound = ByteBuffer.allocateDirect(OUTBOUND_SIZE);

    SocketConnection(ResourceAddress address, SocketSettings settings, Duration connectTimeout,
            Consumer<SocketConnection> onClosed) {
        this.address = address;
        this.resource = address.canonical();
        this.settings = settings;
        this.connectTimeout = connectTimeout;
        this.onClosed = onClosed;
    }

    /** The channel, its selector and its key: one TCP link. */
    private static final class Link {
        final SocketChannel channel;
        final Selector selector;
        final SelectionKey key;

        Link(SocketChannel channel, Selector selector, SelectionKey key) {
            this.channel = channel;
            this.selector = selector;
            this.key = key;
        }

        /**
         * Waits up to {@code nanos} for {@code op}; may return early.
         *
         * @throws Interrupted when the thread is interrupted, before or during the wait; the flag stays set
         */
        void await(int op, long nanos) throws IOException, Interrupted {
            if (Thread.currentThread().isInterrupted()) {
                throw new Interrupted(); // select would return at once: waiting would spin
            }
            try {
                if (key.interestOps() != op) {
                    key.interestOps(op);
                }
                // The form with an action leaves the selected-key set alone: no set to fill and clear per wait
                selector.select(IGNORE_KEY, Math.max(1, Math.min(Long.MAX_VALUE / 2, nanos) / 1_000_000 + 1)); // 0: forever
            } catch (ClosedSelectorException | CancelledKeyException closedMeanwhile) {
                throw new ClosedChannelException();
            }
            if (Thread.currentThread().isInterrupted()) {
                throw new Interrupted();
            }
        }

        /** Closing the selector wakes a thread selecting on it. */
        void close() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // the descriptor is released either way
            }
            try {
                selector.close();
            } catch (IOException ignored) {
                // the descriptor is released either way
            }
        }
    }

    /**
     * An interrupt ended a wait; the caller turns it into a {@link StepInterruptedException} that
     * says what was interrupted, closing the link first when it is out of step.
     */
    private static final class Interrupted extends Exception {
        private static final long serialVersionUID = 1L;

        Interrupted() {
            super("interrupt status was set", null, false, false);
        }
    }

    /**
     * @param what completes "Interrupted ... resource"
     * @param outOfStep why the link is out of step, which closes it; {@code null} keeps it
     */
    private StepInterruptedException interrupted(String what, Interrupted cause, String outOfStep) {
        String message = "Interrupted " + what + " " + resource;
        if (outOfStep != null) {
            closeLink(outOfStep);
            message += ": " + outcome(outOfStep);
        }
        return new StepInterruptedException(message, new InterruptedException(cause.getMessage()));
    }

    // ---------------------------------------------------------------- connecting

    /**
     * Opens the link. Name resolution happens first and is not bounded by {@code timeout}: the JDK
     * offers no timeout for it.
     *
     * @throws LabHalException naming the resource: unknown host, refused, unreachable
     * @throws ConnectionLostException when the connection was refused or closed meanwhile
     * @throws IoTimeoutException when the peer did not accept within {@code timeout}
     */
    void connect(Duration timeout) throws LabHalException {
        connect(timeout, deadline(timeout));
    }

    /** Connects by {@code deadline}, which is {@code timeout} from now or earlier. */
    private void connect(Duration timeout, long deadline) throws LabHalException {
        String host = address.host().orElseThrow();
        String literal = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        InetSocketAddress target;
        try {
            target = new InetSocketAddress(InetAddress.getByName(literal), address.port().orElseThrow());
        } catch (UnknownHostException e) {
            throw new LabHalException("Cannot open " + resource + ": unknown host '" + literal + "'", e);
        }
        Link fresh = null;
        try {
            SocketChannel channel = SocketChannel.open();
            Selector selector;
            try {
                channel.configureBlocking(false);
                channel.setOption(StandardSocketOptions.TCP_NODELAY, settings.noDelay());
                channel.setOption(StandardSocketOptions.SO_KEEPALIVE, settings.keepAlive());
                selector = Selector.open();
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
            fresh = new Link(channel, selector, channel.register(selector, 0));
            synchronized (state) {
                if (closedBecause != null) {
                    throw new ClosedChannelException();
                }
                link = fresh; // from now on close() can wake us
            }
            if (!channel.connect(target)) {
                while (!channel.finishConnect()) {
                    long remaining = deadline - System.nanoTime();
                    if (remaining <= 0) {
                        throw new IoTimeoutException("Cannot open " + resource + ": " + target
                                + " did not accept the connection within " + ms(timeout) + " ms", timeout);
                    }
                    fresh.await(SelectionKey.OP_CONNECT, remaining);
                }
            }
            fresh.key.interestOps(SelectionKey.OP_READ);
            resetLinkState();
        } catch (LabHalException e) {
            drop(fresh);
            throw e;
        } catch (Interrupted e) {
            drop(fresh);
            throw interrupted("connecting to " + target + " for", e, null);
        } catch (ConnectException e) {
            drop(fresh);
            throw closedOr(new ConnectionLostException("Cannot open " + resource + ": " + target
                    + " refused the connection (" + e.getMessage() + ")", e));
        } catch (NoRouteToHostException e) {
            drop(fresh);
            throw closedOr(new ConnectionLostException("Cannot open " + resource + ": no route to " + target, e));
        } catch (IOException | CancelledKeyException | ClosedSelectorException e) {
            drop(fresh);
            throw closedOr(new ConnectionLostException("Cannot open " + resource + ": connecting to " + target
                    + " failed: " + e, e));
        }
    }

    /** Forgets a link that failed to connect. */
    private void drop(Link failed) {
        if (failed == null) {
            return;
        }
        synchronized (state) {
            if (link == failed) {
                link = null;
            }
        }
        failed.close();
    }

    /**
     * The link for the next operation: reconnects a lost one when allowed and {@code reopen}.
     */
    private Link link(boolean reopen, long deadline) throws LabHalException {
        Link current;
        String lost;
        synchronized (state) {
            if (closedBecause != null) {
                throw closedFailure(null);
            }
            current = link;
            lost = lostBecause == null ? "" : " (" + lostBecause + ")";
        }
        if (current != null) {
            return current;
        }
        if (!settings.reconnect()) {
            throw new ConnectionLostException(resource + ": the link was lost earlier" + lost + " and reconnect is off",
                    null);
        }
        if (!reopen) {
            throw new ConnectionLostException(resource + ": the link was lost earlier" + lost
                    + "; the next write reconnects", null);
        }
        // The call's timeout bounds the reconnect too, and so does the open timeout
        long connectDeadline = deadline(connectTimeout);
        connect(connectTimeout, earlier(deadline, connectDeadline));
        synchronized (state) {
            if (closedBecause != null || link == null) {
                throw closedFailure(null);
            }
            return link;
        }
    }

    // ---------------------------------------------------------------- writing

    @Override
    public void write(ByteBuffer data, boolean end, Duration timeout) throws LabHalException {
        long now = System.nanoTime();
        long deadline = now + Deadline.nanos(timeout);
        Link l = link(true, deadline);
        byte[] termination = end ? settings.writeTermination().bytes() : NO_BYTES;
        int start = data.position();
        int length = data.remaining();
        long total = length + (long) termination.length;
        ByteBuffer ending = null; // the termination's bytes, once the first attempt fell short
        try {
            if (unfinished == 0 && !asked) {
                dropStale(l);
            }
            if (now - lastReceived > PROBE_AFTER_IDLE_NANOS) { // "now" is the call's start: close enough
                probe(l);
            }
            long sent = total <= outbound.capacity() ? writeWhole(l, data, termination) : 0;
            if (sent < total) {
                ending = ByteBuffer.wrap(termination);
                ending.position((int) Math.max(0, sent - length));
                ByteBuffer[] parts = ending.hasRemaining() ? new ByteBuffer[] {data, ending} : new ByteBuffer[] {data};
                while (data.hasRemaining() || ending.hasRemaining()) {
                    if (writeSome(l, data, parts) == 0) {
                        long remaining = deadline - System.nanoTime();
                        if (remaining <= 0) {
                            long out = sent(data, start, ending);
                            String why = "the instrument did not accept the rest within " + ms(timeout) + " ms";
                            if (unfinished + out > 0) {
                                throw lose(cutShort(out, total, why), null);
                            }
                            throw new IoTimeoutException(resource + " did not accept a message of " + total
                                    + " bytes within " + ms(timeout) + " ms; nothing of it went out", timeout);
                        }
                        l.await(SelectionKey.OP_WRITE, remaining);
                    }
                }
            }
        } catch (IOException e) {
            throw failure(e);
        } catch (Interrupted e) {
            long out = sent(data, start, ending);
            throw interrupted("writing to", e,
                    unfinished + out > 0 ? cutShort(out, total, "the writing thread was interrupted") : null);
        } finally {
            restoreReadInterest(l);
        }
        if (end) {
            unfinished = 0;
            asked = true;
        } else {
            unfinished += total;
        }
    }

    /**
     * The usual write, a short message: message and termination copied into the connection's direct
     * buffer and handed to the socket in one {@code write}. A heap buffer or a gathering write would
     * make the JDK copy each part into a temporary direct buffer and build an I/O vector first.
     *
     * @return how many bytes went out; {@code data}'s position is advanced past those of its bytes
     */
    private long writeWhole(Link l, ByteBuffer data, byte[] termination) throws IOException {
        int start = data.position();
        outbound.clear();
        outbound.put(data).put(termination).flip();
        data.position(start); // nothing went out yet, should the write fail
        int sent = l.channel.write(outbound);
        data.position(start + Math.min(sent, data.remaining()));
        return sent;
    }

    /**
     * Writes what the socket takes now, a slice at a time for large heap buffers; between slices of
     * a large write an interrupt ends it (it does not wait, but it may go on for long).
     */
    private static long writeSome(Link l, ByteBuffer data, ByteBuffer[] parts) throws IOException, Interrupted {
        if (data.remaining() <= WRITE_SLICE || data.isDirect()) {
            return l.channel.write(parts);
        }
        if (Thread.currentThread().isInterrupted()) {
            throw new Interrupted();
        }
        int limit = data.limit();
        data.limit(data.position() + WRITE_SLICE);
        try {
            return l.channel.write(data);
        } finally {
            data.limit(limit);
        }
    }

    /** @return how many bytes of this write went out, the termination's included */
    private static long sent(ByteBuffer data, int start, ByteBuffer ending) {
        long sent = data.position() - start;
        return ending == null ? sent : sent + ending.position();
    }

    /**
     * Why a link on which a message went out in part is closed: the instrument would join the next
     * command to the fragment, and a fresh link starts with an empty parser.
     */
    private String cutShort(long sent, long total, String why) {
        return "a write was cut short after " + (unfinished + sent) + " of " + (unfinished + total) + " bytes ("
                + why + "); the link was closed so the instrument does not join the next command to the fragment";
    }

    /**
     * Notices a peer that closed the link since the last step, so that a write does not vanish
     * into a half-closed socket; whatever data arrived meanwhile is kept for the next read. Best
     * effort: a peer that closes after the probe still swallows the write, and the next read fails.
     */
    private void probe(Link l) throws IOException, ConnectionLostException {
        if (head == tail) {
            head = tail = 0;
        }
        if (tail == buffer.length) {
            return; // full: the next read will find out
        }
        inbound.limit(buffer.length).position(tail);
        int n = l.channel.read(inbound);
        if (n < 0) {
            throw lose("the peer closed the connection", null);
        }
        tail += n;
    }

    /**
     * Drops the input that arrived before a message goes out while no question waits for its answer:
     * an instrument cannot answer a question before it is asked, so it belongs to questions given up
     * on and pays their late answers; an answer that has begun to arrive leaves its rest owed. This
     * keeps an answer later than {@code late_ms} (one that a stalled peer releases at last) from the
     * next question, where it would shift every answer after it by one. The socket is read without
     * waiting each time, also on a link that seems in step: an instrument may send what nobody on
     * this link asked for (a shared-buffer instrument the answer meant for another client, say), and
     * taken for the next answer it would shift every later one by one for as long as the link lives
     * (the soak saw it). That costs one system call per question.
     */
    private void dropStale(Link l) throws IOException, ConnectionLostException, Interrupted {
        if (!atMessageStart) { // a message read in part and left: its rest is owed, not the next answer
            late++;
            if (lateSince == 0) {
                lateSince = System.nanoTime();
            }
        }
        waiting = false;
        discardBuffered();
        if (moreWithin(l, System.nanoTime())) { // reads what is there; never waits
            discardBuffered();
        }
        if (!atMessageStart && late == 0) {
            late = 1; // the rest of a message that began before this question
            lateSince = System.nanoTime();
        }
    }

    private static void restoreReadInterest(Link l) {
        try {
            if (l.key.isValid() && l.key.interestOps() != SelectionKey.OP_READ) {
                l.key.interestOps(SelectionKey.OP_READ);
            }
        } catch (CancelledKeyException closedMeanwhile) {
            // the next operation reports it
        }
    }

    // ---------------------------------------------------------------- reading

    @Override
    public boolean read(ByteBuffer into, Duration timeout) throws LabHalException {
        if (!into.hasRemaining()) {
            throw new IllegalArgumentException("read needs room for at least one byte");
        }
        long deadline = deadline(timeout);
        Link l = link(false, deadline);
        if (asked) {
            asked = false;
            waiting = true;
        }
        try {
            if (late > 0 && System.nanoTime() - lateSince >= Deadline.nanos(settings.late())) {
                forgetLate();
            }
            while (waiting && late > 0) {
                discardMessage(l, deadline, timeout);
            }
            if (head == tail) {
                fill(l, deadline, timeout);
            }
            int count = frame(head, Math.min(into.remaining(), tail - head));
            boolean end = messageEnded;
            into.put(buffer, head, count);
            consumed(count);
            if (!end && settings.readTermination() == Termination.NONE && head == tail
                    && !moreWithin(l, earlier(deadline, System.nanoTime() + settings.drain().toNanos()))) {
                end = true; // with no terminator, a pause ends the message
            }
            if (end) {
                framingDone();
                if (waiting) {
                    waiting = false;
                    lateSince = 0; // the answer asked for arrived: in step again
                } else if (late > 0) {
                    late--; // an explicit read took a late answer
                }
            }
            return end;
        } catch (IoTimeoutException e) {
            owe();
            throw e;
        } catch (Interrupted e) {
            if (!atMessageStart) {
                throw interrupted("reading from", e, "the reading thread was interrupted after part of a message "
                        + "had been read; the link was closed because the rest would reach a later read");
            }
            owe();
            throw interrupted("reading from", e, null);
        } catch (IOException e) {
            throw failure(e);
        }
    }

    /** A read gave up: its answer, or the rest of it, may still come and is discarded then. */
    private void owe() {
        if (waiting || !atMessageStart) {
            late++;
            if (lateSince == 0) {
                lateSince = System.nanoTime();
            }
        }
        waiting = false;
    }

    /**
     * Late answers are taken to be lost (the instrument may never send them), and with them the
     * framing of a message given up on: a block that announced more than it brought must not swallow
     * the answers after it.
     */
    private void forgetLate() {
        late = 0;
        lateSince = 0;
        framingDone();
    }

    /**
     * Decides how many of the {@code limit} bytes from {@code from} belong to the message being
     * consumed, up to and including its end, and updates the block framing for them.
     *
     * @return the count; {@link #messageEnded} says whether the message ends with it
     */
    private int frame(int from, int limit) {
        messageEnded = false;
        int i = from;
        int stop = from + limit;
        while (i < stop) {
            if (blockRemaining > 0) {
                int skip = (int) Math.min(blockRemaining, stop - i);
                i += skip;
                blockRemaining -= skip;
                continue;
            }
            if (headerState != HEADER_DONE && header(buffer[i])) {
                i++;
                continue;
            }
            int end = terminator(i, stop, i == from ? previous : buffer[i - 1]);
            if (end >= 0) {
                messageEnded = true;
                return end - from;
            }
            return limit;
        }
        return limit;
    }

    /**
     * Feeds one byte to the block-header recogniser.
     *
     * @return whether the byte belongs to a block header (else it is ordinary message content)
     */
    private boolean header(byte b) {
        switch (headerState) {
            case HEADER_START -> {
                if (b == '#') {
                    headerState = HEADER_HASH;
                    return true;
                }
            }
            case HEADER_HASH -> {
                if (b >= '1' && b <= '9') {
                    headerDigits = b - '0';
                    blockLength = 0;
                    headerState = HEADER_DIGITS;
                    return true;
                }
            }
            case HEADER_DIGITS -> {
                if (b >= '0' && b <= '9') {
                    blockLength = blockLength * 10 + (b - '0');
                    if (--headerDigits == 0) {
                        blockRemaining = blockLength;
                        headerState = HEADER_DONE;
                    }
                    return true;
                }
            }
            default -> {
                return false;
            }
        }
        headerState = HEADER_DONE; // not a definite-length block (or a malformed one): plain text
        return false;
    }

    /** @return the index after the first terminator in {@code buffer[from, to)}, or -1 */
    private int terminator(int from, int to, int before) {
        switch (settings.readTermination()) {
            case LF -> {
                for (int i = from; i < to; i++) {
                    if (buffer[i] == '\n') {
                        return i + 1;
                    }
                }
            }
            case CR -> {
                for (int i = from; i < to; i++) {
                    if (buffer[i] == '\r') {
                        return i + 1;
                    }
                }
            }
            case CRLF -> {
                int prev = before;
                for (int i = from; i < to; i++) {
                    byte b = buffer[i];
                    if (b == '\n' && prev == '\r') {
                        return i + 1;
                    }
                    prev = b;
                }
            }
            default -> {
                return -1;
            }
        }
        return -1;
    }

    private void consumed(int count) {
        if (count > 0) {
            head += count;
            previous = buffer[head - 1];
            atMessageStart = false;
        }
    }

    /** A message ended: the next byte starts a new one. */
    private void framingDone() {
        atMessageStart = true;
        headerState = HEADER_START;
        blockRemaining = 0;
    }

    /** A message that nobody reads ended; it pays an owed late answer, if any. */
    private void discarded() {
        framingDone();
        if (late > 0) {
            late--;
        }
    }

    /** Consumes one whole message that a timed-out read gave up on. */
    private void discardMessage(Link l, long deadline, Duration timeout)
            throws IOException, LabHalException, Interrupted {
        while (true) {
            if (head == tail) {
                try {
                    fill(l, deadline, timeout);
                } catch (IoTimeoutException e) {
                    IoTimeoutException late = new IoTimeoutException(resource + " sent neither the late answer to an "
                            + "earlier query nor this one's within " + ms(timeout) + " ms", timeout);
                    late.initCause(e);
                    throw late;
                }
            }
            int count = frame(head, tail - head);
            boolean end = messageEnded;
            consumed(count);
            if (!end && settings.readTermination() == Termination.NONE && head == tail
                    && !moreWithin(l, earlier(deadline, System.nanoTime() + settings.drain().toNanos()))) {
                end = true;
            }
            if (end) {
                discarded();
                return;
            }
        }
    }

    /**
     * Waits for at least one more byte.
     *
     * @throws IoTimeoutException when none came before {@code deadline}
     * @throws ConnectionLostException when the peer closed the link
     */
    private void fill(Link l, long deadline, Duration timeout) throws IOException, LabHalException, Interrupted {
        if (!moreWithin(l, deadline)) {
            throw new IoTimeoutException(resource + (atMessageStart ? " sent no answer" : " sent part of an answer "
                    + "but not its end") + " within " + ms(timeout) + " ms", timeout);
        }
    }

    /**
     * Reads what has arrived, waiting until {@code until} for at least one byte.
     *
     * @return whether at least one byte was added to the buffer
     * @throws ConnectionLostException when the peer closed the link
     * @throws Interrupted when the thread was interrupted while it had to wait
     */
    private boolean moreWithin(Link l, long until) throws IOException, ConnectionLostException, Interrupted {
        if (head == tail) {
            head = tail = 0;
        } else if (tail == buffer.length) {
            System.arraycopy(buffer, head, buffer, 0, tail - head);
            tail -= head;
            head = 0;
        }
        if (tail == buffer.length && buffer.length < BUFFER_SIZE) {
            buffer = Arrays.copyOf(buffer, Math.min(BUFFER_SIZE, buffer.length * 2));
            inbound = ByteBuffer.wrap(buffer);
        }
        while (true) {
            inbound.limit(buffer.length).position(tail);
            int n = l.channel.read(inbound);
            if (n > 0) {
                tail += n;
                lastReceived = System.nanoTime();
                return true;
            }
            if (n < 0) {
                throw lose("the peer closed the connection", null);
            }
            long remaining = until - System.nanoTime();
            if (remaining <= 0) {
                return false;
            }
            l.await(SelectionKey.OP_READ, remaining);
        }
    }

    // ---------------------------------------------------------------- clearing

    /**
     * Sockets have no device clear: drains instead. Discards what is buffered, then reads and
     * discards until nothing has arrived for {@code drain_ms} (at most a quarter of {@code timeout}),
     * bounded by {@code timeout} and {@code drain_bytes}. Answers still owed after that are discarded
     * by later reads when they come (class comment). Closes the link when the drain cannot put it in
     * step: a peer that sent without a quiet gap for half the timeout and is still sending when it
     * ends, or past {@code drain_bytes}, a definite-length block that stopped short of its length, a message
     * of which part was sent. A lost link with {@code reconnect=true} needs no drain: the next write
     * opens a fresh one.
     */
    @Override
    public void clear(Duration timeout) throws LabHalException {
        long bound = deadline(timeout);
        Link l;
        synchronized (state) {
            if (closedBecause != null) {
                throw closedFailure(null);
            }
            l = link;
        }
        if (l == null) {
            if (settings.reconnect()) {
                return;
            }
            l = link(false, bound); // throws, naming why the link was lost
        }
        if (unfinished > 0) {
            throw lose("a message was left unfinished after " + unfinished + " bytes went out; a drain cannot "
                    + "take them back, so the link was closed so the instrument does not join the next command to "
                    + "the fragment", null);
        }
        // The quiet that ends the drain: drain_ms, but at most a quarter of the timeout, so that a drain
        // can end in quiet within its timeout and only a peer that keeps sending reaches the bound
        long quiet = Math.min(settings.drain().toNanos(), Deadline.nanos(timeout) / 4);
        asked = false;
        if (waiting) { // the caller gave up on an answer without a timeout (e.g. a malformed one)
            waiting = false;
            late++;
            if (lateSince == 0) {
                lateSince = System.nanoTime();
            }
        }
        long drained = 0;
        boolean fellQuiet = false;
        try {
            drained += discardBuffered();
            long burstStart = System.nanoTime(); // when the bytes without a quiet gap began, if any came
            boolean bursting = drained > 0;
            long quietUntil = burstStart + quiet;
            while (true) {
                boolean more = moreWithin(l, earlier(bound, quietUntil));
                long now = System.nanoTime();
                if (more) {
                    if (!bursting) {
                        bursting = true;
                        burstStart = now;
                    }
                    drained += discardBuffered();
                    quietUntil = now + quiet;
                }
                if (now - quietUntil >= 0) {
                    fellQuiet = true;
                    break; // quiet: in step, unless an answer stopped half way (below)
                }
                // Out of time or bytes. A peer that has been sending for half the timeout without a
                // quiet gap is still sending; a short burst at the end is a late answer, which the
                // answer count discards when it comes
                boolean outOfTime = now - bound >= 0;
                if (drained > settings.drainBytes()
                        || outOfTime && bursting && now - burstStart >= Deadline.nanos(timeout) / 2) {
                    throw lose("still sending after " + drained + " bytes drained (a drain ends after "
                            + TimeUnit.NANOSECONDS.toMillis(quiet) + " ms of quiet, within " + ms(timeout) + " ms and "
                            + settings.drainBytes() + " bytes); the link was closed because its input cannot be "
                            + "put in step", null);
                }
                if (outOfTime) {
                    break;
                }
            }
        } catch (Interrupted e) {
            throw interrupted("clearing", e, atMessageStart ? null : "the clearing thread was interrupted in the "
                    + "middle of a message; the link was closed because the rest would reach a later read");
        } catch (IOException e) {
            throw failure(e);
        }
        if (blockRemaining > 0) {
            throw lose("a definite-length block announced " + blockLength + " bytes and " + (blockLength
                    - blockRemaining) + " came before the link fell quiet; the link was closed because the rest "
                    + "would be taken for later answers", null);
        }
        if (fellQuiet && !atMessageStart) {
            throw lose("an answer stopped after part of it and its end did not come before the link fell quiet; the "
                    + "link was closed because the rest would reach a later read", null);
        }
        if (late == 0) {
            lateSince = 0; // every late answer arrived and was drained
        }
    }

    /**
     * Consumes everything buffered, counting the messages that end in it.
     *
     * @return how many bytes it consumed
     */
    private int discardBuffered() {
        int buffered = tail - head;
        while (head < tail) {
            int count = frame(head, tail - head);
            boolean end = messageEnded;
            consumed(count);
            if (end) {
                discarded();
            }
        }
        return buffered;
    }

    // ---------------------------------------------------------------- failures and closing

    /** An I/O failure: the link is gone, either closed by us or broken by the peer. */
    private ConnectionLostException failure(IOException e) {
        synchronized (state) {
            if (closedBecause != null) {
                return closedFailure(e);
            }
        }
        if (e instanceof ClosedChannelException) {
            return lose("the link was closed", e);
        }
        String message = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        if (message.contains("reset")) {
            return lose("the peer reset the connection", e);
        }
        if (message.contains("broken pipe")) {
            return lose("the peer closed the connection (broken pipe)", e);
        }
        return lose("the link failed: " + e, e);
    }

    /** The link broke or is out of step: closes it so that reconnect, if on, starts afresh. */
    private ConnectionLostException lose(String why, Throwable cause) {
        closeLink(why);
        return new ConnectionLostException(resource + ": " + outcome(why), cause);
    }

    /** What happened and what comes next, for messages. */
    private String outcome(String why) {
        return why + (settings.reconnect() ? "; the next write reconnects" : "");
    }

    private void closeLink(String why) {
        Link broken;
        synchronized (state) {
            broken = link;
            link = null;
            lostBecause = why;
        }
        if (broken != null) {
            broken.close();
        }
        resetLinkState();
    }

    /** A new link, or none: nothing received, nothing owed, nothing half sent. */
    private void resetLinkState() {
        head = tail = 0;
        previous = -1;
        lastReceived = System.nanoTime() - PROBE_AFTER_IDLE_NANOS - 1;
        atMessageStart = true;
        headerState = HEADER_START;
        blockRemaining = 0;
        asked = false;
        waiting = false;
        late = 0;
        lateSince = 0;
        unfinished = 0;
    }

    /** Closes are reported as what they are, even when they surface as another failure. */
    private LabHalException closedOr(LabHalException failure) {
        synchronized (state) {
            if (closedBecause == null) {
                return failure;
            }
        }
        return closedFailure(failure);
    }

    /**
     * A lost connection, whoever closed it: the session above knows why its owner closed it and
     * reports the step as closed with that reason (as it does for the SIM transport).
     *
     * @param cause how the closure surfaced, or {@code null}
     */
    private ConnectionLostException closedFailure(Throwable cause) {
        synchronized (state) {
            return new ConnectionLostException(resource + ": the connection was " + closedBecause, cause);
        }
    }

    @Override
    public String describe() {
        Link current;
        synchronized (state) {
            current = link;
        }
        String remote = address.host().orElseThrow() + ":" + address.port().orElseThrow();
        try {
            if (current != null && current.channel.getRemoteAddress() != null) {
                remote = current.channel.getRemoteAddress().toString();
            }
        } catch (IOException closedMeanwhile) {
            // keep the address from the resource
        }
        return "TCP socket to " + remote + " (" + resource + ")";
    }

    /** Closes for good; blocked callers get a {@link ConnectionLostException} at once. */
    @Override
    public void close() {
        shutDown("closed by its owner");
    }

    /**
     * Closes for good because the transport goes away; blocked callers get a
     * {@link ConnectionLostException} naming the reason.
     *
     * @param reason completes "the connection was ..."
     */
    void kill(String reason) {
        shutDown(reason);
    }

    private void shutDown(String reason) {
        Link current;
        synchronized (state) {
            if (closedBecause != null) {
                return;
            }
            closedBecause = reason;
            current = link;
            link = null;
        }
        if (current != null) {
            current.close(); // wakes a thread waiting in select
        }
        onClosed.accept(this);
    }

    /**
     * @return false once closed, or once the link was lost or closed out of step and
     *         {@code reconnect} is off; with {@code reconnect=true} a lost link is opened again by
     *         the next write, so the connection stays usable
     */
    @Override
    public boolean isOpen() {
        synchronized (state) {
            return closedBecause == null && (link != null || settings.reconnect());
        }
    }

    /** Whether this connection still holds a socket, for tests and the factory. */
    boolean hasSocket() {
        synchronized (state) {
            return link != null;
        }
    }

    /**
     * A deadline as a {@code nanoTime} value (compared by subtraction, so it may wrap), saturated so
     * that huge timeouts mean "practically forever"; a long rather than a {@link Deadline} keeps the
     * hot path of a query free of allocation.
     */
    private static long deadline(Duration timeout) {
        return System.nanoTime() + Deadline.nanos(timeout);
    }

    /** @return the earlier of two {@code nanoTime} deadlines, which may wrap */
    private static long earlier(long a, long b) {
        return a - b < 0 ? a : b;
    }

    /** A caller's timeout in milliseconds for messages, saturated. */
    private static long ms(Duration timeout) {
        return Deadline.millis(timeout);
    }

    @Override
    public String toString() {
        return "SocketConnection[" + describe() + "]";
    }
}
