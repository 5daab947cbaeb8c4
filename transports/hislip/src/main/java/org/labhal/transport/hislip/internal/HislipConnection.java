package org.labhal.transport.hislip.internal;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.transport.hislip.HislipErrorException;
import org.labhal.transport.hislip.HislipLink;
import org.labhal.transport.hislip.HislipLockException;
import org.labhal.transport.hislip.HislipProtocolException;

/**
 * A HiSLIP client session: a synchronous and an asynchronous {@link FrameChannel} to one instrument.
 *
 * <h2>Message ids</h2>
 * Every Data, DataEND and Trigger message sent carries the next message id, starting at 0xFFFFFF00
 * and stepping by 2 (wrapping at 32 bits); a device clear starts them again. In synchronized mode a
 * response belongs to the last message sent; Data/DataEND messages with another id (answers to
 * messages a timeout or clear gave up on) are discarded. In overlapped mode every response is taken
 * in order. The RMT-delivered bit is set on the first message sent after a whole response was read.
 *
 * <h2>Threads</h2>
 * See {@link HislipLink}: the synchronous side belongs to one step at a time; asynchronous requests
 * are serialised by {@link #asyncLock}; {@link #close()} from any thread closes both channels, which
 * wakes every blocked call.
 */
final class HislipConnection implements HislipLink {
    static final int FIRST_MESSAGE_ID = 0xFFFFFF00;
    static final int PROTOCOL_VERSION = 0x0100; // HiSLIP 1.0: no encryption or authentication
    static final String VENDOR_ID = "LH";
    private static final int UNSOLICITED_ID = 0xFFFFFFFF;
    /** How much longer than the lock timeout a lock request waits for its answer. */
    private static final Duration LOCK_ANSWER_GRACE = Duration.ofSeconds(5);
    /** Asynchronous requests other than locks: their answers come at once. */
    private static final Duration ASYNC_DEFAULT = Duration.ofSeconds(5);

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

    // Synchronous side, one step at a time
    private int nextMessageId = FIRST_MESSAGE_ID;
    private volatile int lastSentId = FIRST_MESSAGE_ID - 2; // for AsyncStatusQuery, AsyncLock release
    private boolean anySent;
    private volatile boolean rmtDelivered;
    private long payloadRemaining; // of the Data/DataEND being read
    private boolean payloadEnds; // whether it is a DataEND
    private long dataMessagesReceived; // for tests: how many Data/DataEND messages made up responses
    private long staleDiscarded;

    // Asynchronous side
    private final ReentrantLock asyncLock = new ReentrantLock();
    private final int[] owed = new int[MessageType.values().length]; // guarded by asyncLock: late answers
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
            serverVersion = h.parameter() >>> 16;
            sessionId = h.parameter() & 0xffff;
            sync.skip(h.length(), deadline);

            step = "connecting the asynchronous channel to " + target;
            FrameChannel.connect(target, deadline, c -> adopt(c, false));
            step = "AsyncInitialize";
            async.send(MessageType.ASYNC_INITIALIZE, 0, sessionId, deadline);
            h = expect(async, MessageType.ASYNC_INITIALIZE_RESPONSE, deadline);
            serverVendor = vendorText(h.parameter() & 0xffff);
            async.skip(h.length(), deadline);

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
        Header h = channel.readHeader(deadline, settings.maxMessageSize());
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
        long maxPayload = Math.max(1, Math.min(serverMaxMessage - Header.SIZE, Integer.MAX_VALUE));
        try {
            do {
                int n = (int) Math.min(data.remaining(), maxPayload);
                boolean last = n == data.remaining();
                if (last && !end && n == 0) {
                    return; // nothing to send and no END to mark
                }
                ByteBuffer chunk = data.slice(data.position(), n);
                sendData(s, last && end ? MessageType.DATA_END : MessageType.DATA, chunk, deadline);
                data.position(data.position() + n);
            } while (data.hasRemaining());
        } catch (IOException e) {
            throw failure(e, resource + ": sending " + (data.remaining()) + " more bytes", timeout);
        }
    }

    private void sendData(FrameChannel s, MessageType type, ByteBuffer payload, long deadline) throws IOException {
        int id = nextMessageId;
        s.send(type, rmtDelivered ? 1 : 0, id, payload, deadline);
        rmtDelivered = false;
        lastSentId = id;
        anySent = true;
        nextMessageId = id + 2;
    }

    @Override
    public void trigger(Duration timeout) throws LabHalException {
        FrameChannel s = sync();
        try {
            int id = nextMessageId;
            s.send(MessageType.TRIGGER, rmtDelivered ? 1 : 0, id, deadline(timeout));
            rmtDelivered = false;
            lastSentId = id;
            anySent = true;
            nextMessageId = id + 2;
        } catch (IOException e) {
            throw failure(e, resource + ": sending Trigger", timeout);
        }
    }

    @Override
    public boolean read(ByteBuffer into, Duration timeout) throws LabHalException {
        if (!into.hasRemaining()) {
            throw new IllegalArgumentException("read needs room for at least one byte");
        }
        FrameChannel s = sync();
        long deadline = deadline(timeout);
        boolean copied = false;
        try {
            while (true) {
                if (payloadRemaining == 0) {
                    if (copied && s.buffered() < Header.SIZE) {
                        return false; // return what we have rather than wait
                    }
                    Header h = s.readHeader(deadline, settings.maxMessageSize());
                    if (!acceptResponse(s, h, deadline)) {
                        continue;
                    }
                    dataMessagesReceived++;
                    payloadRemaining = h.length();
                    payloadEnds = h.type() == MessageType.DATA_END;
                    if (payloadRemaining == 0 && payloadEnds) {
                        rmtDelivered = true;
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
                    rmtDelivered = true;
                    return true;
                }
                if (!into.hasRemaining()) {
                    return false;
                }
            }
        } catch (IOException e) {
            throw failure(e, resource + ": reading the response", timeout);
        } catch (HislipProtocolException e) {
            throw broken(e);
        }
    }

    /**
     * Decides what to do with a message on the synchronous channel while reading a response: true
     * for a Data/DataEND that belongs to the last message sent; false (payload skipped) for stale
     * responses and notices; errors become exceptions.
     */
    private boolean acceptResponse(FrameChannel s, Header h, long deadline) throws IOException, LabHalException {
        switch (h.type()) {
            case DATA, DATA_END -> {
                if (overlapped || !anySent || h.parameter() == UNSOLICITED_ID || h.parameter() == lastSentId) {
                    return true;
                }
                staleDiscarded++;
                s.skip(h.length(), deadline);
                return false;
            }
            case INTERRUPTED -> {
                s.skip(h.length(), deadline); // the server dropped a response we no longer wait for
                return false;
            }
            case ERROR, FATAL_ERROR -> throw errorFrom(s, h, deadline);
            default -> throw new HislipProtocolException(resource + ": unexpected " + h
                    + " on the synchronous channel while reading a response");
        }
    }

    /**
     * Device clear: AsyncDeviceClear, then DeviceClearComplete on the synchronous channel, discarding
     * whatever arrives there until DeviceClearAcknowledge; message ids start again.
     */
    @Override
    public void clear(Duration timeout) throws LabHalException {
        FrameChannel s = sync();
        long deadline = deadline(timeout);
        Header ack = asyncRequest(MessageType.ASYNC_DEVICE_CLEAR, 0, 0, ByteBuffer.allocate(0),
                MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, timeout);
        try {
            async.skip(ack.length(), deadline);
            s.skip(payloadRemaining, deadline); // the rest of a response being read
            payloadRemaining = 0;
            s.send(MessageType.DEVICE_CLEAR_COMPLETE, ack.control() & 1, 0, deadline);
            while (true) {
                Header h = s.readHeader(deadline, settings.maxMessageSize());
                if (h.type() == MessageType.DEVICE_CLEAR_ACKNOWLEDGE) {
                    s.skip(h.length(), deadline);
                    overlapped = (h.control() & 1) != 0;
                    break;
                }
                if (h.type() == MessageType.FATAL_ERROR) {
                    throw errorFrom(s, h, deadline);
                }
                s.skip(h.length(), deadline); // responses the clear discards
            }
        } catch (IOException e) {
            throw failure(e, resource + ": device clear", timeout);
        } catch (HislipProtocolException e) {
            throw broken(e);
        }
        nextMessageId = FIRST_MESSAGE_ID;
        lastSentId = FIRST_MESSAGE_ID - 2;
        anySent = false;
        rmtDelivered = false;
    }

    // ---------------------------------------------------------------- asynchronous channel

    /**
     * Sends one asynchronous request and waits for its answer. AsyncServiceRequest and
     * AsyncInterrupted notices met meanwhile are noted; answers to earlier requests that timed out
     * are discarded.
     */
    private Header asyncRequest(MessageType type, int control, int parameter, ByteBuffer payload, MessageType answer,
            Duration timeout) throws LabHalException {
        FrameChannel a = async();
        long deadline = deadline(timeout);
        try {
            if (!asyncLock.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                throw new IoTimeoutException(resource + ": another " + "asynchronous request did not finish within "
                        + timeout.toMillis() + " ms, so " + type + " could not be sent", timeout);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StepInterruptedException(resource + ": interrupted waiting to send " + type, e);
        }
        boolean answered = false;
        try {
            a.send(type, control, parameter, payload, deadline);
            while (true) {
                Header h = a.readHeader(deadline, settings.maxMessageSize());
                switch (h.type()) {
                    case ASYNC_SERVICE_REQUEST -> lastServiceRequest = h.control();
                    case ASYNC_INTERRUPTED -> { /* a synchronized-mode notice; the sync side handles it */ }
                    case ERROR, FATAL_ERROR -> {
                        answered = true;
                        throw errorFrom(a, h, deadline);
                    }
                    default -> {
                        if (h.type() == answer && owed[answer.ordinal()] == 0) {
                            answered = true;
                            return h;
                        }
                        if (owed[h.type().ordinal()] > 0) {
                            owed[h.type().ordinal()]--; // the late answer to a request that timed out
                        } else {
                            throw new HislipProtocolException(resource + ": expected " + answer
                                    + " on the asynchronous channel but the instrument sent " + h);
                        }
                    }
                }
                a.skip(h.length(), deadline);
            }
        } catch (IOException e) {
            if (e instanceof SocketTimeoutException) {
                owed[answer.ordinal()]++;
                answered = true;
            }
            throw failure(e, resource + ": " + type, timeout);
        } catch (HislipProtocolException e) {
            answered = true;
            throw broken(e);
        } finally {
            if (!answered && a.isOpen()) {
                owed[answer.ordinal()]++;
            }
            asyncLock.unlock();
        }
    }

    @Override
    public void lock(String lockString, Duration timeout) throws LabHalException {
        if (lockString.length() > 256 || !lockString.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException("A HiSLIP lock string is printable ASCII, at most 256 characters: '"
                    + lockString + "'");
        }
        long millis = Math.min(Math.max(0, timeout.toMillis()), 0xFFFFFFFFL);
        String what = lockString.isEmpty() ? "the exclusive lock" : "the shared lock '" + lockString + "'";
        Header h = asyncRequest(MessageType.ASYNC_LOCK, 1, (int) millis,
                ByteBuffer.wrap(lockString.getBytes(StandardCharsets.US_ASCII)), MessageType.ASYNC_LOCK_RESPONSE,
                Duration.ofMillis(millis).plus(LOCK_ANSWER_GRACE));
        skipAsync(h);
        switch (h.control()) {
            case 1 -> {
                return;
            }
            case 0 -> {
                String holders = "";
                try {
                    LockInfo info = lockInfo(ASYNC_DEFAULT);
                    holders = info.exclusive() ? ": another client holds the exclusive lock"
                            : info.holders() > 0 ? ": " + info.holders() + " other client(s) hold a shared lock"
                                    + (lockString.isEmpty() ? "" : " under another lock string") : "";
                } catch (LabHalException e) {
                    // the message just says less
                }
                throw new HislipLockException(resource + ": the instrument did not grant " + what + " within "
                        + millis + " ms: it is held by another session" + holders,
                        HislipLockException.Reason.HELD_ELSEWHERE, lockString, Duration.ofMillis(millis));
            }
            default -> throw new HislipLockException(resource + ": the instrument rejected the request for " + what
                    + " (AsyncLockResponse " + h.control() + ", e.g. this session holds it already)",
                    HislipLockException.Reason.REJECTED, lockString, Duration.ofMillis(millis));
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

    @Override
    public LockKind unlock(Duration timeout) throws LabHalException {
        Header h = asyncRequest(MessageType.ASYNC_LOCK, 0, lastSentId, ByteBuffer.allocate(0),
                MessageType.ASYNC_LOCK_RESPONSE, timeout);
        skipAsync(h);
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
        Header h = asyncRequest(MessageType.ASYNC_LOCK_INFO, 0, 0, ByteBuffer.allocate(0),
                MessageType.ASYNC_LOCK_INFO_RESPONSE, timeout);
        skipAsync(h);
        return new LockInfo(h.control() == 1, h.unsignedParameter());
    }

    @Override
    public int statusQuery(Duration timeout) throws LabHalException {
        Header h = asyncRequest(MessageType.ASYNC_STATUS_QUERY, rmtDelivered ? 1 : 0, lastSentId,
                ByteBuffer.allocate(0), MessageType.ASYNC_STATUS_RESPONSE, timeout);
        rmtDelivered = false;
        skipAsync(h);
        return h.control();
    }

    @Override
    public void remoteLocal(RemoteLocal request, Duration timeout) throws LabHalException {
        skipAsync(asyncRequest(MessageType.ASYNC_REMOTE_LOCAL_CONTROL, request.code(), lastSentId,
                ByteBuffer.allocate(0), MessageType.ASYNC_REMOTE_LOCAL_RESPONSE, timeout));
    }

    /** Answers have empty payloads; a non-empty one is skipped so the channel stays in step. */
    private void skipAsync(Header h) throws LabHalException {
        if (h.length() > 0) {
            try {
                async().skip(h.length(), deadline(ASYNC_DEFAULT));
            } catch (IOException e) {
                throw failure(e, resource + ": reading " + h.type(), ASYNC_DEFAULT);
            }
        }
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
            return closedOr(new IoTimeoutException(what + ": no answer within " + timeout.toMillis() + " ms", timeout));
        }
        synchronized (state) {
            if (closedBecause != null) {
                return new ConnectionLostException(resource + ": the connection was " + closedBecause, e);
            }
        }
        String why = e instanceof EOFException ? e.getMessage()
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

    static long deadline(Duration timeout) {
        long nanos;
        try {
            nanos = timeout.toNanos();
        } catch (ArithmeticException e) {
            nanos = Long.MAX_VALUE / 4;
        }
        return System.nanoTime() + Math.max(0, Math.min(nanos, Long.MAX_VALUE / 4));
    }

    @Override
    public String toString() {
        return "HislipConnection[" + describe() + "]";
    }
}
