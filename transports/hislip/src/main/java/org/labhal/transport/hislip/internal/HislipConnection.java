package org.labhal.transport.hislip.internal;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.IntSupplier;

import org.labhal.api.AnswerTooLargeException;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.transport.Deadline;
import org.labhal.api.transport.Uninterruptibly;
import org.labhal.transport.hislip.HislipClearedException;
import org.labhal.transport.hislip.HislipErrorException;
import org.labhal.transport.hislip.HislipLink;
import org.labhal.transport.hislip.HislipLockException;
import org.labhal.transport.hislip.HislipProtocolException;

/**
 * A HiSLIP client session: a synchronous and an asynchronous {@link FrameChannel} to one instrument.
 *
 * <h2>Message ids</h2>
 * {@link MessageIds} numbers what is sent and decides which response belongs to it: synchronized
 * mode takes the answer to the last message sent and discards older ones; overlapped mode takes
 * answers in the order of the messages, discarding those a timed-out read gave up on once the caller
 * sends again; both discard answers from before the last device clear, and an id this client never
 * sent is a {@link HislipProtocolException}. The RMT-delivered bit rides on the first message sent
 * (or status query) after a whole response was read, exactly once.
 *
 * <h2>Device clear</h2>
 * {@link #clear} sends AsyncDeviceClear, waits for AsyncDeviceClearAcknowledge, then sends
 * DeviceClearComplete and discards the synchronous channel up to DeviceClearAcknowledge; ids start
 * again. It may come from another thread while a read waits: that read ends with
 * {@link HislipClearedException} (a write in progress is not cut short; the clear waits for it). An
 * instrument holds a device clear back while another client holds its lock; a clear whose
 * acknowledgement does not come in time stays pending ({@link IoTimeoutException}) and is completed
 * by the next clear, read, write or trigger, so the instrument is never left discarding data that the
 * client believes it delivered.
 *
 * <h2>Threads</h2>
 * See {@link HislipLink}. Locks, always taken in this order: {@link #clearLock} (one clear at a
 * time), {@link #syncSide} (the synchronous channel and its state), {@link #asyncLock} (one
 * asynchronous request at a time). {@link #close()} from any thread closes both channels, which
 * wakes every blocked call.
 */
final class HislipConnection implements HislipLink {
    static final int FIRST_MESSAGE_ID = MessageIds.FIRST;
    static final int PROTOCOL_VERSION = 0x0100; // HiSLIP 1.0: no encryption or authentication
    static final String VENDOR_ID = "LH";
    /** The most of a lock call's timeout kept for the instrument's answer to come back. */
    static final Duration LOCK_ANSWER_RESERVE = Duration.ofSeconds(1);
    /** The least time a lock call gives the answer, even with a zero timeout ("try once"). */
    static final Duration LOCK_ANSWER_MIN = Duration.ofSeconds(1);
    /**
     * How long after its request's own wait an answer that did not come in time is still expected;
     * asynchronous answers other than lock grants come at once, so one this late never comes.
     */
    static final Duration LATE_ANSWER_GRACE = Duration.ofSeconds(2);

    /** Where a device clear stands; anything but IDLE is finished by the next synchronous call. */
    private enum ClearPhase {
        IDLE, SENT, ACKNOWLEDGED, COMPLETING
    }

    private final ResourceAddress address;
    private final String resource;
    private final HislipSettings settings;
    private final Consumer<HislipConnection> onClosed;

    private final Object state = new Object();
    private FrameChannel sync; // guarded by state until open() returns, then final in effect
    private FrameChannel async;
    private String closedBecause; // guarded by state

    // Negotiated in open()
    private volatile int sessionId;
    private volatile int serverVersion;
    private volatile String serverVendor = "";
    private volatile boolean overlapped;
    private volatile long serverMaxMessage = 1 << 20;

    // Synchronous side, guarded by syncSide
    private final ReentrantLock syncSide = new ReentrantLock();
    private final MessageIds ids = new MessageIds(false);
    private final AtomicBoolean rmtDelivered = new AtomicBoolean();
    private Header payloadHeader; // of the Data/DataEND being read
    private long payloadRemaining; // of it
    private boolean payloadEnds; // whether it is a DataEND
    private int payloadId; // its message id
    private boolean payloadDiscarded; // it is stale: its bytes are skipped, not delivered
    private volatile boolean abortable; // a read in progress may be ended by a clear from another thread
    private int readerEpoch; // the clear requests a read in progress has seen
    private long dataMessagesReceived; // for tests: how many Data/DataEND messages made up responses
    private volatile long staleDiscarded; // for tests: responses discarded as stale

    // Device clear
    private final ReentrantLock clearLock = new ReentrantLock();
    private final AtomicInteger clearRequests = new AtomicInteger(); // incremented by every clear() call
    private volatile int clearsDone; // the clear requests the last finished clear served
    private volatile ClearPhase clearPhase = ClearPhase.IDLE;
    private volatile int clearAcknowledgeControl;

    // Asynchronous side
    private final ReentrantLock asyncLock = new ReentrantLock();
    private final ArrayDeque<Owed> owed = new ArrayDeque<>(); // guarded by asyncLock: answers still to come
    private volatile long lateGrantsReleased; // for tests
    private volatile int lastServiceRequest = -1;

    HislipConnection(ResourceAddress address, HislipSettings settings, Consumer<HislipConnection> onClosed) {
        this.address = address;
        this.resource = address.canonical();
        this.settings = settings;
        this.onClosed = onClosed;
    }

    // ---------------------------------------------------------------- opening

    /**
     * Connects both channels and negotiates: Initialize, AsyncInitialize, AsyncMaximumMessageSize.
     */
    void open(Duration timeout) throws LabHalException {
        long deadline = deadline(timeout);
        String host = address.host().orElseThrow();
        String literal = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        InetSocketAddress target;
        try {
            target = new InetSocketAddress(InetAddress.getByName(literal), address.port().orElseThrow());
        } catch (UnknownHostException e) {
            throw new LabHalException("Cannot open " + resource + ": unknown host '" + literal + "'", e);
        }
        String step = "connecting the synchronous channel to " + target;
        try {
            FrameChannel.connect(target, deadline, c -> adopt(c, true));
            step = "Initialize";
            sync.send(MessageType.INITIALIZE, 0, PROTOCOL_VERSION << 16 | vendorCode(VENDOR_ID),
                    address.lanDevice().orElse("hislip0"), deadline);
            Header h = expect(sync, MessageType.INITIALIZE_RESPONSE, deadline);
            overlapped = (h.control() & 1) != 0;
            ids.cleared(overlapped); // the first epoch, in the negotiated mode
            serverVersion = h.parameter() >>> 16;
            sessionId = h.parameter() & 0xffff;
            sync.skipPayload(h, deadline);

            step = "connecting the asynchronous channel to " + target;
            FrameChannel.connect(target, deadline, c -> adopt(c, false));
            step = "AsyncInitialize";
            async.send(MessageType.ASYNC_INITIALIZE, 0, sessionId, deadline);
            h = expect(async, MessageType.ASYNC_INITIALIZE_RESPONSE, deadline);
            serverVendor = vendorText(h.parameter() & 0xffff);
            async.skipPayload(h, deadline);

            step = "AsyncMaximumMessageSize";
            ByteBuffer size = ByteBuffer.allocate(8).putLong(0, settings.maxMessageSize());
            async.send(MessageType.ASYNC_MAXIMUM_MESSAGE_SIZE, 0, 0, size, deadline);
            h = expect(async, MessageType.ASYNC_MAXIMUM_MESSAGE_SIZE_RESPONSE, deadline);
            if (h.length() != 8) {
                throw new HislipProtocolException(resource + ": AsyncMaximumMessageSizeResponse carries "
                        + h.length() + " bytes instead of 8");
            }
            long max = ByteBuffer.wrap(async.readControlPayload(h, deadline)).getLong();
            if (max < Header.SIZE + 1) {
                throw new HislipProtocolException(resource + ": the instrument's maximum message size "
                        + Long.toUnsignedString(max) + " leaves no room for data");
            }
            serverMaxMessage = max;
        } catch (IOException e) {
            close();
            throw failure(e, "Cannot open " + resource + ": " + step, timeout);
        } catch (HislipErrorException e) {
            close();
            throw e; // the instrument's own reason, e.g. too many clients
        } catch (LabHalException | RuntimeException e) {
            close();
            throw closedOr(e instanceof LabHalException l ? l : new LabHalException("Cannot open " + resource
                    + ": " + step + " failed: " + e, e));
        }
    }

    private void adopt(FrameChannel channel, boolean synchronous) {
        boolean closed;
        synchronized (state) {
            closed = closedBecause != null;
            if (synchronous) {
                sync = channel;
                channel.abortReadsWhen(() -> abortable && readerEpoch != clearRequests.get());
            } else {
                async = channel;
            }
        }
        if (closed) {
            channel.close(); // the connect then fails with ClosedChannelException
        }
    }

    /** Reads the next header, which must be {@code type}; an Error or FatalError becomes its exception. */
    private Header expect(FrameChannel channel, MessageType type, long deadline) throws IOException, LabHalException {
        Header h = readHeader(channel, deadline);
        if (h.type() == type) {
            return h;
        }
        if (h.type() == MessageType.ERROR || h.type() == MessageType.FATAL_ERROR) {
            throw errorFrom(channel, h, deadline);
        }
        throw new HislipProtocolException(resource + ": expected " + type + " but the instrument sent " + h);
    }

    // ---------------------------------------------------------------- synchronous channel

    @Override
    public void write(ByteBuffer data, boolean end, Duration timeout) throws LabHalException {
        FrameChannel s = sync();
        long deadline = deadline(timeout);
        finishPendingClear(s, deadline, timeout);
        enter(syncSide, deadline, timeout, "another call on the synchronous channel");
        long maxPayload = Math.max(1, Math.min(serverMaxMessage - Header.SIZE, Integer.MAX_VALUE));
        try {
            do {
                int n = (int) Math.min(data.remaining(), maxPayload);
                boolean last = n == data.remaining();
                if (last && !end && n == 0) {
                    return; // nothing to send and no END to mark
                }
                // a short last piece goes as it is (FrameChannel consumes it only once it all went out, as
                // with a slice); a slice per message would be one more object per query
                ByteBuffer chunk = last && Header.SIZE + n <= FrameChannel.OUTBOUND_SIZE ? data
                        : data.slice(data.position(), n);
                send(s, last && end ? MessageType.DATA_END : MessageType.DATA, chunk, deadline);
                if (chunk != data) {
                    data.position(data.position() + n);
                }
            } while (data.hasRemaining());
        } catch (IOException e) {
            throw failure(e, resource + ": sending " + (data.remaining()) + " more bytes", timeout);
        } finally {
            syncSide.unlock();
        }
    }

    /** Sends Data, DataEND or Trigger with the next message id and, once, the RMT-delivered bit. */
    private void send(FrameChannel s, MessageType type, ByteBuffer payload, long deadline) throws IOException {
        int id = ids.next();
        s.send(type, rmtDelivered.getAndSet(false) ? 1 : 0, id, payload, deadline);
    }

    @Override
    public void trigger(Duration timeout) throws LabHalException {
        FrameChannel s = sync();
        long deadline = deadline(timeout);
        finishPendingClear(s, deadline, timeout);
        enter(syncSide, deadline, timeout, "another call on the synchronous channel");
        try {
            send(s, MessageType.TRIGGER, ByteBuffer.allocate(0), deadline);
        } catch (IOException e) {
            throw failure(e, resource + ": sending Trigger", timeout);
        } finally {
            syncSide.unlock();
        }
    }

    @Override
    public boolean read(ByteBuffer into, Duration timeout) throws LabHalException {
        if (!into.hasRemaining()) {
            throw new IllegalArgumentException("read needs room for at least one byte");
        }
        FrameChannel s = sync();
        long deadline = deadline(timeout);
        int epoch = clearRequests.get();
        finishPendingClear(s, deadline, timeout);
        enter(syncSide, deadline, timeout, "another call on the synchronous channel");
        try {
            if (clearRequests.get() != epoch) {
                throw cleared();
            }
            readerEpoch = epoch;
            abortable = true;
            return readMessage(s, into, deadline, timeout);
        } finally {
            abortable = false;
            syncSide.unlock();
        }
    }

    private boolean readMessage(FrameChannel s, ByteBuffer into, long deadline, Duration timeout)
            throws LabHalException {
        boolean copied = false;
        try {
            while (true) {
                if (payloadRemaining > 0 && !payloadDiscarded
                        && ids.classify(payloadId) == MessageIds.Verdict.STALE) {
                    // the rest of a response nobody waits for any more: a message was sent since
                    // (IVI-6.1 3.1.2 rule 3), or its read timed out before the caller moved on
                    payloadDiscarded = true;
                    staleDiscarded++;
                }
                if (payloadDiscarded) {
                    discardPayload(s, deadline);
                    continue;
                }
                if (payloadRemaining == 0) {
                    if (copied && s.buffered() < Header.SIZE) {
                        return false; // return what we have rather than wait
                    }
                    Header h = readHeader(s, deadline); // whole or not at all
                    abortable = false; // what the header starts is handled to its end
                    boolean accepted;
                    try {
                        accepted = acceptResponse(s, h, deadline);
                    } finally {
                        abortable = true;
                    }
                    payloadId = h.parameter();
                    payloadHeader = h;
                    payloadRemaining = h.type().carriesData() ? h.length() : 0;
                    payloadDiscarded = !accepted;
                    if (!accepted) {
                        continue;
                    }
                    dataMessagesReceived++;
                    payloadEnds = h.type() == MessageType.DATA_END;
                    if (payloadRemaining == 0 && payloadEnds) {
                        delivered();
                        return true; // an empty DataEND ends the message with no byte
                    }
                    continue;
                }
                if (copied && s.buffered() == 0) {
                    return false;
                }
                int n = s.readPayload(into, payloadRemaining, deadline);
                payloadRemaining -= n;
                copied = true;
                if (payloadRemaining == 0 && payloadEnds) {
                    delivered();
                    return true;
                }
                if (!into.hasRemaining()) {
                    return false;
                }
            }
        } catch (FrameChannel.ReadAborted e) {
            throw cleared();
        } catch (SocketTimeoutException e) {
            if (payloadRemaining > 0) { // the header is consumed and its payload did not all come
                throw failure(FrameChannel.cutShort(payloadHeader, payloadRemaining, e),
                        resource + ": reading the response", timeout);
            }
            ids.readTimedOut();
            throw failure(e, resource + ": reading the response", timeout);
        } catch (IOException e) {
            throw failure(e, resource + ": reading the response", timeout);
        } catch (HislipProtocolException e) {
            throw broken(e);
        }
    }

    /**
     * Reads the next header. A Data or DataEND payload beyond the maximum message size this client
     * announced is refused before any of it is read (nothing is allocated from a length anyway: data
     * streams through a fixed buffer into the caller's): the link closes, since the rest of that
     * message would be read as the next header.
     */
    private Header readHeader(FrameChannel channel, long deadline) throws IOException, LabHalException {
        long limit = settings.maxMessageSize();
        Header h = channel.readHeader(deadline, Long.MAX_VALUE); // control messages keep their own limit
        if (h.type().carriesData() && h.length() > limit) {
            shutDown("closed after a " + h.type() + " message larger than the maximum message size");
            throw new AnswerTooLargeException(resource + ": the instrument sent a " + h.type() + " message of "
                    + h.length() + " bytes, more than the maximum message size of " + limit + " bytes this client "
                    + "announced (option max_message_size); the connection was closed", limit);
        }
        return h;
    }

    /** Skips the payload being read, counting as it goes, so that an abort never loses the frame. */
    private void discardPayload(FrameChannel s, long deadline) throws IOException {
        try {
            while (payloadRemaining > 0) {
                payloadRemaining -= s.skipSome(payloadRemaining, deadline);
            }
        } catch (SocketTimeoutException e) {
            throw FrameChannel.cutShort(payloadHeader, payloadRemaining, e);
        }
        payloadDiscarded = false;
    }

    private void delivered() {
        ids.delivered(payloadId);
        rmtDelivered.set(true);
    }

    private HislipClearedException cleared() {
        return new HislipClearedException(resource + ": the read was ended by a device clear from another thread; "
                + "the response it waited for is discarded");
    }

    /**
     * Decides what to do with a message on the synchronous channel while reading a response: true
     * for a Data/DataEND that answers what was asked ({@link MessageIds}); false for stale responses
     * (whose payload the caller discards) and notices (whose payload is skipped here); errors and
     * unexpected ids become exceptions.
     */
    private boolean acceptResponse(FrameChannel s, Header h, long deadline) throws IOException, LabHalException {
        switch (h.type()) {
            case DATA, DATA_END -> {
                switch (ids.classify(h.parameter())) {
                    case ACCEPT -> {
                        ids.accepted(h.parameter());
                        return true;
                    }
                    case STALE -> {
                        staleDiscarded++;
                        return false;
                    }
                    default -> throw new HislipProtocolException(resource + ": " + ids.describeUnexpected(h.parameter())
                            + " (" + (ids.overlapped() ? "overlapped" : "synchronized") + " mode, " + h + ")");
                }
            }
            case INTERRUPTED -> {
                s.skipPayload(h, deadline); // the server dropped a response we no longer wait for
                return false;
            }
            case ERROR, FATAL_ERROR -> throw errorFrom(s, h, deadline);
            default -> throw new HislipProtocolException(resource + ": unexpected " + h
                    + " on the synchronous channel while reading a response");
        }
    }

    /**
     * Device clear: AsyncDeviceClear, then DeviceClearComplete on the synchronous channel, discarding
     * whatever arrives there until DeviceClearAcknowledge; message ids start again. From any thread: a
     * read waiting meanwhile ends with {@link HislipClearedException}.
     */
    @Override
    public void clear(Duration timeout) throws LabHalException {
        FrameChannel s = sync();
        long deadline = deadline(timeout);
        int request = clearRequests.incrementAndGet();
        s.wakeReader(); // a read waiting for the answer gives up: the clear discards it
        // what resynchronises after an aborted step runs to the end whatever the interrupt flag says;
        // an interrupt that comes while it waits still ends it (and closes the link)
        Uninterruptibly.run(() -> {
            enter(clearLock, deadline, timeout, "another device clear");
            try {
                if (clearsDone - request >= 0) {
                    return; // a clear that began after this request finished meanwhile
                }
                runClear(s, deadline, timeout);
            } finally {
                clearLock.unlock();
            }
        });
    }

    /**
     * Completes a device clear that an earlier call left pending, or that another thread asked for and
     * has not run yet, before using the synchronous channel: a call that began after the request goes
     * after the clear, and must not hold the synchronous channel the clear needs.
     */
    private void finishPendingClear(FrameChannel s, long deadline, Duration timeout) throws LabHalException {
        if (clearPhase == ClearPhase.IDLE && clearsDone == clearRequests.get()) {
            return;
        }
        enter(clearLock, deadline, timeout, "a device clear in progress");
        try {
            if (clearPhase != ClearPhase.IDLE || clearsDone != clearRequests.get()) {
                runClear(s, deadline, timeout);
            }
        } finally {
            clearLock.unlock();
        }
    }

    /** Runs (or resumes) a device clear; the caller holds {@link #clearLock}. */
    private void runClear(FrameChannel s, long deadline, Duration timeout) throws LabHalException {
        int serves = clearRequests.get();
        try {
            if (clearPhase == ClearPhase.IDLE) {
                asyncRequest(MessageType.ASYNC_DEVICE_CLEAR, () -> 0, () -> 0, ByteBuffer.allocate(0),
                        MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, deadline, timeout);
            } else if (clearPhase == ClearPhase.SENT) {
                asyncRequest(null, () -> 0, () -> 0, null, MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, deadline,
                        timeout);
            }
        } catch (IoTimeoutException e) {
            if (clearPhase != ClearPhase.SENT) {
                throw e; // not even sent: nothing is pending
            }
            throw new IoTimeoutException(resource + ": the instrument did not acknowledge the device clear within "
                    + Deadline.millis(timeout) + " ms (an instrument holds a clear back while another client holds its "
                    + "lock); the clear stays pending and the next clear, read, write or trigger completes it", timeout);
        }
        enter(syncSide, deadline, timeout, "the call in progress on the synchronous channel (a write is not cut short)");
        try {
            abortable = false;
            if (clearPhase == ClearPhase.ACKNOWLEDGED) {
                discardPayload(s, deadline); // the rest of a response being read
                s.send(MessageType.DEVICE_CLEAR_COMPLETE, clearAcknowledgeControl & 1, 0, deadline);
                clearPhase = ClearPhase.COMPLETING;
            }
            while (true) {
                Header h = readHeader(s, deadline);
                if (h.type() == MessageType.DEVICE_CLEAR_ACKNOWLEDGE) {
                    s.skipPayload(h, deadline);
                    overlapped = (h.control() & 1) != 0;
                    break;
                }
                if (h.type() == MessageType.FATAL_ERROR) {
                    throw errorFrom(s, h, deadline);
                }
                s.skipPayload(h, deadline); // responses the clear discards; one cut short closes the link
            }
            ids.cleared(overlapped);
            rmtDelivered.set(false);
            clearPhase = ClearPhase.IDLE;
            clearsDone = serves;
        } catch (IOException e) {
            throw failure(e, resource + ": device clear", timeout);
        } catch (HislipProtocolException e) {
            throw broken(e);
        } finally {
            syncSide.unlock();
        }
    }

    /** Takes a lock of this connection by the deadline, or fails naming what held it. */
    private void enter(ReentrantLock lock, long deadline, Duration timeout, String holder) throws LabHalException {
        if (!Thread.currentThread().isInterrupted() && lock.tryLock()) {
            return; // free: no clock read (an interrupted thread takes the timed path, which throws)
        }
        try {
            if (!lock.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                throw closedOr(new IoTimeoutException(resource + ": " + holder + " did not finish within "
                        + Deadline.millis(timeout) + " ms", timeout));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StepInterruptedException(resource + ": interrupted waiting for " + holder, e);
        }
    }

    // ---------------------------------------------------------------- asynchronous channel

    /**
     * An asynchronous request whose answer did not come in time. HiSLIP answers asynchronous requests
     * one at a time and in order, so the answer is still due before any later one.
     *
     * @param answer the answer type it is owed
     * @param lockRequest whether it asked for a lock: a late grant is released at once
     * @param expiresAt in {@link System#nanoTime()} terms: an instrument that has not answered by then
     *        never will (a lock request may take the wait it asked for, others answer at once), and
     *        the next request stops waiting for it
     */
    private record Owed(MessageType answer, boolean lockRequest, long expiresAt) {
    }

    /**
     * Sends one asynchronous request and waits for its answer, whose payload is skipped.
     * AsyncServiceRequest and AsyncInterrupted notices met meanwhile are noted.
     *
     * <p>HiSLIP allows one asynchronous request at a time, and answers carry nothing that says which
     * request they answer. So while an earlier request's answer is {@link Owed}, nothing new is sent:
     * the call first waits (within its own deadline) for that answer and discards it (releasing a late
     * lock grant), or for it to expire. An answer is therefore never taken for another request's, and a
     * lost one delays later requests by at most {@link #LATE_ANSWER_GRACE}. The acknowledgement of a
     * pending device clear is recorded whenever it comes.
     *
     * @param type the request, or {@code null} to send nothing and only wait for the acknowledgement
     *        of a pending device clear (returns {@code null} once it is recorded)
     * @param control the control code, asked for only when the request goes out
     * @param parameter the message parameter, asked for only when the request goes out
     * @param deadline bounds the whole call, in {@link System#nanoTime()} terms
     * @param timeout what the deadline was made from, for messages
     */
    private Header asyncRequest(MessageType type, IntSupplier control, IntSupplier parameter, ByteBuffer payload,
            MessageType answer, long deadline, Duration timeout) throws LabHalException {
        FrameChannel a = async();
        String what = type == null ? "waiting for " + answer : type.toString();
        enter(asyncLock, deadline, timeout, "another asynchronous request (HiSLIP allows one at a time)");
        boolean sent = false;
        boolean answered = false;
        int sentControl = 0;
        int sentParameter = 0;
        try {
            while (true) {
                if (type == null && clearPhase != ClearPhase.SENT) {
                    answered = true;
                    return null; // another request met the acknowledgement meanwhile
                }
                long now = System.nanoTime();
                owed.removeIf(o -> o.expiresAt() - now <= 0);
                if (type != null && !sent && owed.isEmpty()) {
                    sentControl = control.getAsInt();
                    sentParameter = parameter.getAsInt();
                    a.send(type, sentControl, sentParameter, payload, deadline);
                    sent = true;
                    if (type == MessageType.ASYNC_DEVICE_CLEAR) {
                        clearPhase = ClearPhase.SENT;
                    }
                }
                Header h;
                try {
                    // an owed answer is awaited only until it expires; then the request goes out
                    h = a.readHeader(owed.isEmpty() ? deadline : earlier(deadline, owed.peekFirst().expiresAt()),
                            settings.maxMessageSize());
                } catch (SocketTimeoutException e) {
                    if (deadline - System.nanoTime() > 0) {
                        continue; // the owed answer expired, not this call
                    }
                    throw e;
                }
                if (h.type() == MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE && clearPhase == ClearPhase.SENT) {
                    a.skipPayload(h, deadline);
                    clearAcknowledgeControl = h.control();
                    clearPhase = ClearPhase.ACKNOWLEDGED;
                    if (answer == h.type()) {
                        answered = true;
                        return h;
                    }
                    continue;
                }
                switch (h.type()) {
                    case ASYNC_SERVICE_REQUEST -> lastServiceRequest = h.control();
                    case ASYNC_INTERRUPTED -> { /* a synchronized-mode notice; the sync side handles it */ }
                    case ERROR, FATAL_ERROR -> {
                        if (owed.pollFirst() == null || h.type() == MessageType.FATAL_ERROR) {
                            answered = true;
                            throw errorFrom(a, h, deadline);
                        }
                        a.readControlPayload(h, deadline); // the instrument's answer to a request given up on
                        continue;
                    }
                    default -> {
                        Owed late = takeOwed(h.type());
                        if (late != null) {
                            a.skipPayload(h, deadline);
                            if (late.lockRequest() && h.control() == 1) {
                                releaseLateGrant(a, deadline);
                            }
                            continue;
                        }
                        if (sent && h.type() == answer) {
                            a.skipPayload(h, deadline);
                            answered = true;
                            return h;
                        }
                        throw new HislipProtocolException(resource + ": expected " + answer
                                + " on the asynchronous channel but the instrument sent " + h);
                    }
                }
                a.skipPayload(h, deadline);
            }
        } catch (IOException e) {
            if (e instanceof SocketTimeoutException && !sent && type != null) {
                answered = true; // nothing went out, nothing is owed
                throw closedOr(new NotSentException(resource + ": " + what + " was not sent within "
                        + Deadline.millis(timeout) + " ms: the answer to an earlier asynchronous request that "
                        + "timed out has not come yet, and HiSLIP allows one asynchronous request at a time", timeout));
            }
            throw failure(e, resource + ": " + what, timeout);
        } catch (HislipProtocolException e) {
            answered = true;
            throw broken(e);
        } finally {
            if (sent && !answered && a.isOpen() && type != MessageType.ASYNC_DEVICE_CLEAR) {
                // a clear's acknowledgement is not owed but awaited: the clear stays pending
                boolean lockRequest = type == MessageType.ASYNC_LOCK && sentControl == 1;
                long wait = lockRequest ? TimeUnit.MILLISECONDS.toNanos(Integer.toUnsignedLong(sentParameter)) : 0;
                owed.addLast(new Owed(answer, lockRequest,
                        System.nanoTime() + wait + Deadline.nanos(LATE_ANSWER_GRACE)));
            }
            asyncLock.unlock();
        }
    }

    /** An asynchronous request was not even sent in time: an earlier one's answer was still due. */
    private static final class NotSentException extends IoTimeoutException {
        private static final long serialVersionUID = 1L;

        NotSentException(String message, Duration timeout) {
            super(message, timeout);
        }
    }

    /**
     * Takes the owed entry that {@code answer} settles. Answers come in the order of the requests, so
     * owed entries before the first one of this type were never answered and never will be: dropped.
     *
     * @return the entry, or {@code null} when no answer of this type is owed
     */
    private Owed takeOwed(MessageType answer) {
        if (owed.stream().noneMatch(o -> o.answer() == answer)) {
            return null;
        }
        Owed o;
        do {
            o = owed.pollFirst();
        } while (o.answer() != answer);
        return o;
    }

    /**
     * The instrument granted a lock after the request for it had timed out: the caller was told it did
     * not get it, so it is released at once. Its answer is owed like any other. When the release
     * cannot even be sent, the link closes, which frees the lock too.
     */
    private void releaseLateGrant(FrameChannel a, long deadline) throws IOException {
        lateGrantsReleased++;
        try {
            a.send(MessageType.ASYNC_LOCK, 0, ids.lastSent(), ByteBuffer.allocate(0), deadline);
        } catch (IOException e) {
            FrameChannel.FrameCutException lost = new FrameChannel.FrameCutException("a lock the instrument "
                    + "granted after its request had timed out could not be released (" + e.getMessage()
                    + "); the connection is closed so that the instrument frees it");
            lost.initCause(e);
            throw lost;
        }
        owed.addLast(new Owed(MessageType.ASYNC_LOCK_RESPONSE, false,
                System.nanoTime() + Deadline.nanos(LATE_ANSWER_GRACE)));
    }

    private static long earlier(long a, long b) {
        return a - b <= 0 ? a : b;
    }

    /**
     * {@inheritDoc}
     *
     * <p>The whole call is bounded by {@code timeout}: the instrument is asked to wait a little less
     * (a quarter less, by at most {@link #LOCK_ANSWER_RESERVE}) so that its answer can come back in
     * time; a timeout shorter than {@link #LOCK_ANSWER_MIN} still gives the answer that long.
     */
    @Override
    public void lock(String lockString, Duration timeout) throws LabHalException {
        if (lockString.length() > 256 || !lockString.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException("A HiSLIP lock string is printable ASCII, at most 256 characters: '"
                    + lockString + "'");
        }
        long started = System.nanoTime();
        long total = Deadline.nanos(timeout);
        long reserve = Math.min(total / 4, Deadline.nanos(LOCK_ANSWER_RESERVE));
        long waitMs = Math.min(TimeUnit.NANOSECONDS.toMillis(total - reserve), 0xFFFF_FFFFL); // 32 bits, unsigned
        long deadline = started + Math.max(total, Deadline.nanos(LOCK_ANSWER_MIN));
        Duration asked = Duration.ofMillis(waitMs);
        String what = lockString.isEmpty() ? "the exclusive lock" : "the shared lock '" + lockString + "'";
        Header h;
        try {
            h = asyncRequest(MessageType.ASYNC_LOCK, () -> 1, () -> (int) waitMs,
                    ByteBuffer.wrap(lockString.getBytes(StandardCharsets.US_ASCII)), MessageType.ASYNC_LOCK_RESPONSE,
                    deadline, timeout);
        } catch (NotSentException e) {
            throw e;
        } catch (IoTimeoutException e) {
            throw closedOr(new IoTimeoutException(resource + ": no answer to the request for " + what + " within "
                    + Deadline.millis(timeout) + " ms (the instrument was asked to wait up to " + waitMs + " ms); "
                    + "should it grant the lock later, the next asynchronous call releases it", timeout));
        }
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        switch (h.control()) {
            case 1 -> {
                return;
            }
            case 0 -> {
                String how = tookMs < waitMs
                        ? "refused " + what + " at once (after " + tookMs + " ms; it was asked to wait up to "
                                + waitMs + " ms)"
                        : "did not grant " + what + ": it waited the " + waitMs + " ms it was asked to";
                throw new HislipLockException(resource + ": the instrument " + how + ": it is held by another session"
                        + holders(lockString, started + total), HislipLockException.Reason.HELD_ELSEWHERE, lockString,
                        asked);
            }
            case 3 -> throw new HislipLockException(resource + ": the instrument rejected the request for " + what
                    + " (AsyncLockResponse 3, e.g. this session holds it already)",
                    HislipLockException.Reason.REJECTED, lockString, asked);
            default -> {
                // No answer a lock request can have (a grant garbled on the way, say): the instrument may
                // hold the lock for this client, so it must be made to let go
                String why = "the instrument answered the request for " + what + " with AsyncLockResponse "
                        + h.control() + ", neither a grant (1), a refusal (0) nor an error (3), so whether it holds "
                        + "the lock for this client is unknown; the connection was closed so that the instrument "
                        + "frees it";
                shutDown("closed because " + why);
                throw new ConnectionLostException(resource + ": " + why, null);
            }
        }
    }

    /**
     * Who holds locks, for the message of a refused request, asked within what is left of the caller's
     * own timeout (not of the floor {@link #LOCK_ANSWER_MIN} that the lock answer gets).
     */
    private String holders(String lockString, long deadline) throws StepInterruptedException {
        Duration left = Duration.ofNanos(deadline - System.nanoTime());
        if (left.isNegative() || left.isZero()) {
            return "";
        }
        try {
            LockInfo info = lockInfo(deadline, left);
            return info.exclusive() ? ": another client holds the exclusive lock"
                    : info.holders() > 0 ? ": " + info.holders() + " other client(s) hold a shared lock"
                            + (lockString.isEmpty() ? "" : " under another lock string") : "";
        } catch (StepInterruptedException e) {
            throw e;
        } catch (LabHalException e) {
            return " (who holds it is not known: " + e.getMessage() + ")";
        }
    }

    /** An empty key would silently mean the exclusive lock, so it is refused. */
    @Override
    public void lockInstrument(Duration timeout, String sharedKey) throws LabHalException {
        if (sharedKey != null && sharedKey.isEmpty()) {
            throw new IllegalArgumentException(resource + ": a shared lock key is not empty; pass null for the "
                    + "exclusive lock");
        }
        lock(sharedKey == null ? "" : sharedKey, timeout);
    }

    @Override
    public void unlockInstrument(Duration timeout) throws LabHalException {
        unlock(timeout);
    }

    /**
     * {@inheritDoc}
     *
     * <p>A release path: it runs to the end whatever the interrupt flag says (the flag is restored).
     * When it cannot tell whether the lock was released (no answer in time, an interrupt while
     * waiting, a broken link) the link closes, so that the instrument frees whatever it holds for it.
     */
    @Override
    public LockKind unlock(Duration timeout) throws LabHalException {
        Header[] answer = new Header[1];
        try {
            Uninterruptibly.run(() -> answer[0] = asyncRequest(MessageType.ASYNC_LOCK, () -> 0, ids::lastSent,
                    ByteBuffer.allocate(0), MessageType.ASYNC_LOCK_RESPONSE, deadline(timeout), timeout));
        } catch (StepInterruptedException e) {
            // interrupted while it waited: whether the release got through is not known
            shutDown("closed because the release of the instrument lock was interrupted, so that the instrument "
                    + "frees it");
            throw e;
        } catch (ConnectionLostException e) {
            throw e; // the link is closed already
        } catch (HislipErrorException e) {
            throw e; // the instrument answered
        } catch (LabHalException e) {
            shutDown("closed because the release of the instrument lock did not complete, so that the "
                    + "instrument frees it");
            throw new ConnectionLostException(resource + ": releasing the instrument lock failed (" + e.getMessage()
                    + "); the connection was closed so that the instrument frees the lock", e);
        }
        Header h = answer[0];
        return switch (h.control()) {
            case 1 -> LockKind.EXCLUSIVE;
            case 2 -> LockKind.SHARED;
            default -> throw new HislipLockException(resource + ": the instrument refused to release a lock: this "
                    + "session holds none (AsyncLockResponse " + h.control() + ")",
                    HislipLockException.Reason.NOT_HELD, "", Duration.ZERO);
        };
    }

    @Override
    public LockInfo lockInfo(Duration timeout) throws LabHalException {
        return lockInfo(deadline(timeout), timeout);
    }

    private LockInfo lockInfo(long deadline, Duration timeout) throws LabHalException {
        Header h = asyncRequest(MessageType.ASYNC_LOCK_INFO, () -> 0, () -> 0, ByteBuffer.allocate(0),
                MessageType.ASYNC_LOCK_INFO_RESPONSE, deadline, timeout);
        return new LockInfo(h.control() == 1, h.unsignedParameter());
    }

    @Override
    public int statusQuery(Duration timeout) throws LabHalException {
        // synchronized mode: the last id sent; overlapped mode: the last response delivered (3.2.2). The
        // RMT-delivered bit is taken only when the query goes out, so a query never sent does not lose it.
        Header h = asyncRequest(MessageType.ASYNC_STATUS_QUERY, () -> rmtDelivered.getAndSet(false) ? 1 : 0,
                ids::statusQueryParameter, ByteBuffer.allocate(0), MessageType.ASYNC_STATUS_RESPONSE,
                deadline(timeout), timeout);
        return h.control();
    }

    @Override
    public void remoteLocal(RemoteLocal request, Duration timeout) throws LabHalException {
        asyncRequest(MessageType.ASYNC_REMOTE_LOCAL_CONTROL, request::code, ids::lastSent, ByteBuffer.allocate(0),
                MessageType.ASYNC_REMOTE_LOCAL_RESPONSE, deadline(timeout), timeout);
    }

    // ---------------------------------------------------------------- errors

    private HislipErrorException errorFrom(FrameChannel channel, Header h, long deadline) throws IOException {
        boolean fatal = h.type() == MessageType.FATAL_ERROR;
        String text = new String(channel.readControlPayload(h, deadline), StandardCharsets.ISO_8859_1);
        HislipErrorException e = new HislipErrorException(resource + ": the instrument reported "
                + (fatal ? "a fatal error" : "an error") + " " + h.control() + " ("
                + HislipErrorException.describe(fatal, h.control()) + ")" + (text.isEmpty() ? "" : ": " + text),
                fatal, h.control(), text);
        if (fatal) {
            shutDown("closed after the instrument's fatal error " + h.control());
        }
        return e;
    }

    /** Turns an I/O failure into the exception the contract names; a broken link closes the connection. */
    private LabHalException failure(IOException e, String what, Duration timeout) {
        if (e instanceof SocketTimeoutException) {
            return closedOr(new IoTimeoutException(what + ": no answer within " + Deadline.millis(timeout) + " ms",
                    timeout));
        }
        if (e instanceof InterruptedIOException) {
            // as an InterruptibleChannel does: the link closes, the thread keeps its interrupt status
            shutDown("closed by an interrupt of " + Thread.currentThread().getName());
            InterruptedException cause = new InterruptedException(e.getMessage());
            cause.initCause(e);
            return new StepInterruptedException(what + " was interrupted; the connection was closed", cause);
        }
        synchronized (state) {
            if (closedBecause != null) {
                return new ConnectionLostException(resource + ": the connection was " + closedBecause, e);
            }
        }
        if (e instanceof FrameChannel.FrameCutException && Thread.currentThread().isInterrupted()) {
            // an interrupt cut the message: out of step, so closed, but what the caller did is the news
            shutDown("closed by an interrupt of " + Thread.currentThread().getName() + " mid-message");
            InterruptedException cause = new InterruptedException(e.getMessage());
            cause.initCause(e);
            return new StepInterruptedException(what + " was interrupted mid-message (" + e.getMessage()
                    + "); the connection was closed", cause);
        }
        String why = e instanceof EOFException || e instanceof FrameChannel.FrameCutException ? e.getMessage()
                : e instanceof ClosedChannelException ? "the channel was closed" : "the link failed: " + e;
        shutDown("lost: " + why);
        return new ConnectionLostException(what + " failed: " + why, e);
    }

    /** After a frame that breaks the protocol the next frame cannot be found: the connection closes. */
    private HislipProtocolException broken(HislipProtocolException e) {
        String text = e.getMessage().startsWith(resource) ? e.getMessage() : resource + ": " + e.getMessage();
        shutDown("closed after a HiSLIP protocol error");
        return new HislipProtocolException(text + "; the connection was closed");
    }

    private LabHalException closedOr(LabHalException failure) {
        synchronized (state) {
            if (closedBecause == null) {
                return failure;
            }
            return new ConnectionLostException(resource + ": the connection was " + closedBecause, failure);
        }
    }

    private FrameChannel sync() throws ConnectionLostException {
        synchronized (state) {
            if (closedBecause != null) {
                throw new ConnectionLostException(resource + ": the connection was " + closedBecause, null);
            }
            return sync;
        }
    }

    private FrameChannel async() throws ConnectionLostException {
        synchronized (state) {
            if (closedBecause != null) {
                throw new ConnectionLostException(resource + ": the connection was " + closedBecause, null);
            }
            return async;
        }
    }

    // ---------------------------------------------------------------- accessors and closing

    @Override
    public int sessionId() {
        return sessionId;
    }

    @Override
    public int serverProtocolVersion() {
        return serverVersion;
    }

    @Override
    public String serverVendorId() {
        return serverVendor;
    }

    @Override
    public boolean overlapped() {
        return overlapped;
    }

    @Override
    public long serverMaximumMessageSize() {
        return serverMaxMessage;
    }

    /** @return Data/DataEND messages that made up responses so far (for tests of fragmentation) */
    long dataMessagesReceived() {
        return dataMessagesReceived;
    }

    /** @return whether a read is in progress that a clear from another thread would end (for tests) */
    boolean readInProgress() {
        return abortable;
    }

    /** @return whether an asynchronous request (a lock request, say) is waiting for its answer (for tests) */
    boolean asyncRequestInProgress() {
        return asyncLock.isLocked();
    }

    /** @return Data/DataEND messages discarded as stale so far (for tests of message-id matching) */
    long staleDiscarded() {
        return staleDiscarded;
    }

    /** @return the last AsyncServiceRequest status byte seen, or -1 */
    int lastServiceRequest() {
        return lastServiceRequest;
    }

    @Override
    public String describe() {
        return "HiSLIP session " + sessionId + " to " + address.host().orElseThrow() + ":"
                + address.port().orElseThrow() + " (" + resource + ")";
    }

    @Override
    public boolean isOpen() {
        synchronized (state) {
            return closedBecause == null;
        }
    }

    /** @return how many lock grants came after their request timed out and were released (for tests) */
    long lateGrantsReleased() {
        return lateGrantsReleased;
    }

    @Override
    public void close() {
        shutDown("closed by its owner");
    }

    /** Closes for good because the transport goes away. */
    void kill(String reason) {
        shutDown(reason);
    }

    private void shutDown(String reason) {
        FrameChannel s;
        FrameChannel a;
        synchronized (state) {
            if (closedBecause != null) {
                return;
            }
            closedBecause = reason;
            s = sync;
            a = async;
        }
        if (s != null) {
            s.close();
        }
        if (a != null) {
            a.close();
        }
        onClosed.accept(this);
    }

    static int vendorCode(String vendor) {
        return (vendor.charAt(0) & 0xff) << 8 | vendor.charAt(1) & 0xff;
    }

    static String vendorText(int code) {
        return new String(new byte[] {(byte) (code >> 8), (byte) code}, StandardCharsets.ISO_8859_1);
    }

    /**
     * @return the deadline of a whole call in {@link System#nanoTime()} terms, as {@link FrameChannel}
     *         takes it; huge timeouts saturate ({@link Deadline#nanos})
     */
    static long deadline(Duration timeout) {
        return System.nanoTime() + Deadline.nanos(timeout);
    }

    @Override
    public String toString() {
        return "HislipConnection[" + describe() + "]";
    }
}
