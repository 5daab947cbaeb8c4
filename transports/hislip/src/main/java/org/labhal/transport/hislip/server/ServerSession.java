package org.labhal.transport.hislip.server;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.labhal.server.ServerConnection;
import org.labhal.transport.hislip.HislipProtocolException;
import org.labhal.transport.hislip.internal.FrameChannel;
import org.labhal.transport.hislip.internal.Header;
import org.labhal.transport.hislip.internal.MessageType;
import org.labhal.transport.sim.LineEnding;
import org.labhal.transport.sim.SimConnection;
import org.labhal.transport.sim.SimStreamBridge;

/**
 * One HiSLIP session of a {@link HislipServer}: a synchronous channel feeding one
 * {@link SimConnection} through a {@link SimStreamBridge} (Data/DataEND payloads in, responses out as
 * Data/DataEND fragments no larger than the client's maximum message size, tagged with the id of the
 * message that produced them), and an asynchronous channel answering locks, device clear, status and
 * size negotiation. One thread serves each channel; {@link #close(boolean)} from any thread ends
 * both.
 *
 * <h2>Locks</h2>
 * Before a Data, DataEND or Trigger reaches the instrument, and before a device clear or remote/local
 * control is carried out, the session waits until the instrument's lock lets it through
 * ({@link InstrumentLocks}). A device clear discards at once whatever of this session waits there. A
 * lock release waits until the message whose id it names has been carried out, so that the holder's
 * last message still runs under the lock.
 *
 * <h2>Status byte</h2>
 * AsyncStatusQuery answers the instrument's status byte for this session's connection, with MAV also
 * set while a response sent to the client is not delivered yet: in synchronized mode until a message
 * or status query carries RMT-delivered (or a new message abandons it), in overlapped mode while a
 * response newer than the message id in the query was sent.
 */
final class ServerSession {
    private static final int NONE = 0xFFFFFF00 - 2; // "before the first message id"

    private final int id;
    private final HislipServer server;
    private final SimConnection connection;
    private final FrameChannel sync;
    private volatile FrameChannel async;
    private volatile long clientMaxMessage = 1 << 20; // IVI-6.1 default until negotiated
    private volatile boolean clearing; // between AsyncDeviceClear and DeviceClearComplete: traffic is dropped
    private volatile boolean sending; // a response is being sent: MAV in the status byte
    private volatile boolean closed;

    // How far the synchronous channel got, for lock releases; guarded by progress
    private final Object progress = new Object();
    private int completedId = NONE;
    private long clears;

    // Responses sent and not yet known to be delivered, for MAV
    private volatile boolean rmtExpected; // synchronized mode
    private volatile boolean anyResponse; // overlapped mode: since the last clear
    private volatile int lastResponseId;

    private final ServerConnection syncConnection;

    ServerSession(int id, HislipServer server, SimConnection connection, FrameChannel sync,
            ServerConnection syncConnection) {
        this.id = id;
        this.server = server;
        this.connection = connection;
        this.sync = sync;
        this.syncConnection = syncConnection;
    }

    /** The server base's connection of the synchronous channel. */
    ServerConnection syncConnection() {
        return syncConnection;
    }

    int id() {
        return id;
    }

    boolean hasAsync() {
        return async != null;
    }

    /** Serves the synchronous channel until the client or the server closes it. */
    void serveSync() {
        try {
            new SimStreamBridge(connection, new SyncInput(), output, LineEnding.LF).serve();
        } catch (IOException e) {
            // the client went away or broke the protocol (it was told), or the server closes
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the server shuts down
        } finally {
            close(false);
        }
    }

    /** Serves the asynchronous channel, already initialised, until either side closes it. */
    void serveAsync(FrameChannel channel) {
        this.async = channel;
        if (closed) {
            channel.close();
            return;
        }
        try {
            while (true) {
                Header h;
                try {
                    h = channel.readHeader(forever(), server.maxMessageSize());
                } catch (HislipProtocolException e) {
                    channel.send(MessageType.FATAL_ERROR, 1, 0, e.getMessage(), soon());
                    return;
                }
                if (!serveAsyncMessage(channel, h)) {
                    return;
                }
            }
        } catch (IOException e) {
            // the client went away, or the server closes
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the server shuts down
        } finally {
            close(false);
        }
    }

    /** @return whether to go on serving */
    private boolean serveAsyncMessage(FrameChannel channel, Header h) throws IOException, InterruptedException {
        InstrumentLocks locks = server.locks();
        switch (h.type()) {
            case ASYNC_MAXIMUM_MESSAGE_SIZE -> {
                byte[] payload = channel.readControlPayload(h, forever());
                if (payload.length != 8) {
                    channel.send(MessageType.ERROR, 0, 0, "AsyncMaximumMessageSize needs an 8-byte payload", soon());
                    return true;
                }
                long size = ByteBuffer.wrap(payload).getLong();
                clientMaxMessage = size < 0 ? Long.MAX_VALUE : Math.max(Header.SIZE + 1, size);
                channel.send(MessageType.ASYNC_MAXIMUM_MESSAGE_SIZE_RESPONSE, 0, 0,
                        ByteBuffer.allocate(8).putLong(0, server.maxMessageSize()), soon());
            }
            case ASYNC_DEVICE_CLEAR -> {
                channel.skip(h.length(), forever());
                clearing = true; // what waits on the synchronous side is discarded now ...
                locks.wake();
                if (!locks.awaitAccess(id, HislipServer.HeldOperation.DEVICE_CLEAR, () -> closed)) { // ... the instrument is cleared under the lock rules
                    return false;
                }
                connection.deviceClear();
                channel.send(MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, server.overlapped() ? 1 : 0, 0, soon());
            }
            case ASYNC_LOCK -> {
                String lockString = new String(channel.readControlPayload(h, forever()), StandardCharsets.ISO_8859_1);
                int result;
                if (h.control() == 1) {
                    result = locks.acquire(id, lockString, h.unsignedParameter(), () -> closed);
                } else {
                    if (locks.holds(id)) { // a holder is never held off, so its last message completes
                        awaitCompleted(h.parameter()); // the holder's last message still runs under the lock
                    }
                    result = locks.release(id); // holding none: 3 at once, while its messages may wait
                }
                channel.send(MessageType.ASYNC_LOCK_RESPONSE, result, 0, soon());
            }
            case ASYNC_LOCK_INFO -> {
                channel.skip(h.length(), forever());
                channel.send(MessageType.ASYNC_LOCK_INFO_RESPONSE, locks.exclusiveHeld() ? 1 : 0, locks.holders(),
                        soon());
            }
            case ASYNC_REMOTE_LOCAL_CONTROL -> {
                channel.skip(h.length(), forever());
                if (h.control() > 6) {
                    channel.send(MessageType.ERROR, 2, 0, "AsyncRemoteLocalControl " + h.control() + " is not 0 to 6",
                            soon());
                    return true;
                }
                if (!locks.awaitAccess(id, HislipServer.HeldOperation.REMOTE_LOCAL, () -> closed)) {
                    return false;
                }
                channel.send(MessageType.ASYNC_REMOTE_LOCAL_RESPONSE, 0, 0, soon());
            }
            case ASYNC_STATUS_QUERY -> {
                channel.skip(h.length(), forever());
                if ((h.control() & 1) != 0) {
                    rmtExpected = false; // the client has taken the last response
                }
                boolean undelivered = server.overlapped()
                        ? anyResponse && lastResponseId - h.parameter() > 0 // sent after what it has taken
                        : rmtExpected;
                channel.send(MessageType.ASYNC_STATUS_RESPONSE, connection.statusByte(undelivered || sending), 0,
                        soon());
            }
            case FATAL_ERROR -> {
                return false;
            }
            case ERROR -> channel.skip(h.length(), forever());
            default -> {
                channel.skip(h.length(), forever());
                channel.send(MessageType.ERROR, 1, 0, h.type() + " is not an asynchronous-channel message", soon());
            }
        }
        return true;
    }

    /** Waits until the synchronous message with this id was carried out (or a clear or close ends the wait). */
    private void awaitCompleted(int messageId) throws InterruptedException {
        synchronized (progress) {
            long clearsBefore = clears;
            while (!closed && clears == clearsBefore && completedId - messageId < 0) {
                progress.wait();
            }
        }
    }

    private void completed(int messageId) {
        synchronized (progress) {
            completedId = messageId;
            progress.notifyAll();
        }
    }

    /** Closes both channels and the simulator connection and releases this session's locks. */
    void close(boolean reset) {
        if (closed && !reset) {
            return;
        }
        closed = true;
        if (reset) {
            sync.abort();
        } else {
            sync.close();
        }
        FrameChannel a = async;
        if (a != null) {
            if (reset) {
                a.abort();
            } else {
                a.close();
            }
        }
        connection.close();
        synchronized (progress) {
            progress.notifyAll();
        }
        server.forget(this); // releases the locks and wakes what waits on them
    }

    private static long forever() {
        return System.nanoTime() + Long.MAX_VALUE / 4;
    }

    private static long soon() {
        return System.nanoTime() + 10_000_000_000L; // a client that stops reading for 10 s is gone
    }

    /**
     * Program messages from Data/DataEND payloads; a DataEND ends its message with LF if it has none.
     * A message is let through only when the lock allows this session to operate, and counts as
     * carried out when the bridge comes back for more after its last byte.
     */
    private final class SyncInput extends InputStream {
        private long remaining;
        private boolean ends;
        private boolean pendingLf;
        private byte lastByte = '\n';
        private boolean inMessage; // a Data/DataEND/Trigger was handed over and not yet marked completed
        private int messageId;
        private boolean handedBytes; // the last call returned bytes, which the bridge has given the instrument
        private boolean leakPossible; // bytes may have reached the instrument after a clear emptied its input

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (handedBytes && clearing) {
                // the bridge gave them to the instrument before or after the asynchronous side emptied
                // its input; which one cannot be told, so DeviceClearComplete empties it again
                leakPossible = true;
            }
            handedBytes = false;
            while (true) {
                if (clearing && (remaining > 0 || pendingLf)) {
                    sync.skip(remaining, forever()); // the rest of a message the clear discards
                    remaining = 0;
                    pendingLf = false;
                }
                if (pendingLf) {
                    pendingLf = false;
                    lastByte = '\n';
                    b[off] = '\n';
                    handedBytes = true;
                    return 1;
                }
                if (remaining > 0) {
                    int n = sync.readPayload(b, off, len, remaining, forever());
                    remaining -= n;
                    lastByte = b[off + n - 1];
                    pendingLf = remaining == 0 && ends && lastByte != '\n';
                    handedBytes = true;
                    return n;
                }
                if (inMessage) {
                    inMessage = false;
                    completed(messageId); // the bridge ran what it was given and came back
                }
                Header h;
                try {
                    h = sync.readHeader(forever(), server.maxMessageSize());
                } catch (EOFException e) {
                    return -1;
                } catch (HislipProtocolException e) {
                    sync.send(MessageType.FATAL_ERROR, 1, 0, e.getMessage(), soon());
                    throw new IOException(e.getMessage(), e);
                }
                switch (h.type()) {
                    case DATA, DATA_END -> {
                        if (!admit(h)) {
                            sync.skip(h.length(), forever()); // discarded by a device clear
                            completed(h.parameter());
                            continue;
                        }
                        ends = h.type() == MessageType.DATA_END;
                        if (ends) {
                            output.responseId = h.parameter();
                        }
                        inMessage = true;
                        messageId = h.parameter();
                        remaining = h.length();
                        pendingLf = remaining == 0 && ends && lastByte != '\n';
                    }
                    case DEVICE_CLEAR_COMPLETE -> {
                        sync.skip(h.length(), forever());
                        if (leakPossible) {
                            connection.deviceClear();
                            leakPossible = false;
                        }
                        remaining = 0;
                        pendingLf = false;
                        lastByte = '\n';
                        inMessage = false;
                        output.count = 0;
                        synchronized (progress) {
                            completedId = NONE; // message ids start again
                            clears++;
                            progress.notifyAll();
                        }
                        rmtExpected = false;
                        anyResponse = false;
                        clearing = false;
                        sync.send(MessageType.DEVICE_CLEAR_ACKNOWLEDGE, server.overlapped() ? 1 : 0, 0, soon());
                    }
                    case TRIGGER -> {
                        sync.skip(h.length(), forever());
                        admit(h); // the simulators have no trigger model; it still waits for the lock
                        completed(h.parameter());
                    }
                    case FATAL_ERROR -> {
                        return -1;
                    }
                    case ERROR -> sync.skip(h.length(), forever());
                    default -> {
                        sync.skip(h.length(), forever());
                        sync.send(MessageType.ERROR, 1, 0, h.type() + " is not a synchronous-channel message", soon());
                    }
                }
            }
        }

        /**
         * A new Data, DataEND or Trigger: the previous response is taken (RMT-delivered) or abandoned
         * either way; then it waits for the lock to let this session through.
         *
         * @return whether to carry it out; {@code false} when a device clear discards it
         */
        private boolean admit(Header h) throws IOException {
            rmtExpected = false;
            if (clearing) {
                return false;
            }
            try {
                if (!server.locks().awaitAccess(id, HislipServer.HeldOperation.MESSAGE, () -> clearing || closed) && closed) {
                    throw new IOException("session " + id + " closed while waiting for the instrument's lock");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted waiting for the instrument's lock");
            }
            return !clearing;
        }
    }

    private final SyncOutput output = new SyncOutput();

    /** Responses as Data fragments and a final DataEND, each no larger than the client accepts. */
    private final class SyncOutput extends OutputStream {
        private byte[] buffer = new byte[4096];
        private int count;
        private int responseId = 0xFFFFFFFF;

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (clearing) {
                return;
            }
            sending = true;
            int max = (int) Math.max(1, Math.min(clientMaxMessage - Header.SIZE, 1 << 24));
            while (len > 0) {
                if (count >= max) {
                    sync.send(MessageType.DATA, 0, responseId, ByteBuffer.wrap(buffer, 0, count), soon());
                    count = 0;
                    if (clearing) {
                        return;
                    }
                }
                int n = Math.min(len, max - count);
                if (buffer.length < count + n) {
                    buffer = Arrays.copyOf(buffer, Math.min(max, Math.max(count + n, buffer.length * 2)));
                }
                System.arraycopy(b, off, buffer, count, n);
                count += n;
                off += n;
                len -= n;
            }
        }

        @Override
        public void flush() throws IOException {
            try {
                if (!clearing) {
                    // undelivered from now on, set before the client can see the end: a status query
                    // that follows it finds this state, not the one before
                    lastResponseId = responseId;
                    anyResponse = true;
                    rmtExpected = true;
                    sending = false;
                    sync.send(MessageType.DATA_END, 0, responseId, ByteBuffer.wrap(buffer, 0, count), soon());
                }
            } finally {
                count = 0;
                sending = false;
            }
        }
    }
}
