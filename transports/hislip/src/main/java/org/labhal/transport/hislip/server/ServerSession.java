package org.labhal.transport.hislip.server;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

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
 * Data/DataEND fragments no larger than the client's maximum message size), and an asynchronous
 * channel answering locks, device clear, status and size negotiation. One thread serves each
 * channel; {@link #close()} from any thread ends both.
 */
final class ServerSession {
    private static final long STATUS_MAV = 0x10;

    private final int id;
    private final HislipServer server;
    private final SimConnection connection;
    private final FrameChannel sync;
    private volatile FrameChannel async;
    private volatile long clientMaxMessage = 1 << 20; // IVI-6.1 default until negotiated
    private volatile boolean clearing; // between AsyncDeviceClear and DeviceClearComplete: responses are dropped
    private volatile boolean sending; // a response is being sent: MAV in the status byte
    private volatile boolean closed;

    ServerSession(int id, HislipServer server, SimConnection connection, FrameChannel sync) {
        this.id = id;
        this.server = server;
        this.connection = connection;
        this.sync = sync;
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
                switch (h.type()) {
                    case ASYNC_MAXIMUM_MESSAGE_SIZE -> {
                        byte[] payload = channel.readControlPayload(h, forever());
                        if (payload.length != 8) {
                            channel.send(MessageType.ERROR, 0, 0, "AsyncMaximumMessageSize needs an 8-byte payload",
                                    soon());
                            continue;
                        }
                        long size = ByteBuffer.wrap(payload).getLong();
                        clientMaxMessage = size < 0 ? Long.MAX_VALUE : Math.max(Header.SIZE + 1, size);
                        channel.send(MessageType.ASYNC_MAXIMUM_MESSAGE_SIZE_RESPONSE, 0, 0,
                                ByteBuffer.allocate(8).putLong(0, server.maxMessageSize()), soon());
                    }
                    case ASYNC_DEVICE_CLEAR -> {
                        channel.skip(h.length(), forever());
                        clearing = true;
                        connection.deviceClear();
                        channel.send(MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, server.overlapped() ? 1 : 0, 0, soon());
                    }
                    case ASYNC_LOCK -> {
                        String lockString = new String(channel.readControlPayload(h, forever()),
                                StandardCharsets.ISO_8859_1);
                        int result = h.control() == 1
                                ? server.locks().acquire(id, lockString, h.unsignedParameter())
                                : server.locks().release(id);
                        channel.send(MessageType.ASYNC_LOCK_RESPONSE, result, 0, soon());
                    }
                    case ASYNC_LOCK_INFO -> {
                        channel.skip(h.length(), forever());
                        channel.send(MessageType.ASYNC_LOCK_INFO_RESPONSE, server.locks().exclusiveHeld() ? 1 : 0,
                                server.locks().holders(), soon());
                    }
                    case ASYNC_REMOTE_LOCAL_CONTROL -> {
                        channel.skip(h.length(), forever());
                        if (h.control() > 6) {
                            channel.send(MessageType.ERROR, 2, 0, "AsyncRemoteLocalControl " + h.control()
                                    + " is not 0 to 6", soon());
                            continue;
                        }
                        channel.send(MessageType.ASYNC_REMOTE_LOCAL_RESPONSE, 0, 0, soon());
                    }
                    case ASYNC_STATUS_QUERY -> {
                        channel.skip(h.length(), forever());
                        channel.send(MessageType.ASYNC_STATUS_RESPONSE, (int) (sending ? STATUS_MAV : 0), 0, soon());
                    }
                    case FATAL_ERROR -> {
                        return;
                    }
                    case ERROR -> channel.skip(h.length(), forever());
                    default -> {
                        channel.skip(h.length(), forever());
                        channel.send(MessageType.ERROR, 1, 0, h.type() + " is not an asynchronous-channel message",
                                soon());
                    }
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
        server.forget(this);
    }

    private static long forever() {
        return System.nanoTime() + Long.MAX_VALUE / 4;
    }

    private static long soon() {
        return System.nanoTime() + 10_000_000_000L; // a client that stops reading for 10 s is gone
    }

    /** Program messages from Data/DataEND payloads; a DataEND ends its message with LF if it has none. */
    private final class SyncInput extends InputStream {
        private long remaining;
        private boolean ends;
        private boolean pendingLf;
        private byte lastByte = '\n';

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            while (true) {
                if (pendingLf) {
                    pendingLf = false;
                    lastByte = '\n';
                    b[off] = '\n';
                    return 1;
                }
                if (remaining > 0) {
                    int n = sync.readPayload(b, off, len, remaining, forever());
                    remaining -= n;
                    lastByte = b[off + n - 1];
                    pendingLf = remaining == 0 && ends && lastByte != '\n';
                    return n;
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
                        ends = h.type() == MessageType.DATA_END;
                        if (ends) {
                            output.responseId = h.parameter();
                        }
                        remaining = h.length();
                        pendingLf = remaining == 0 && ends && lastByte != '\n';
                    }
                    case DEVICE_CLEAR_COMPLETE -> {
                        sync.skip(h.length(), forever());
                        remaining = 0;
                        pendingLf = false;
                        lastByte = '\n';
                        output.count = 0;
                        clearing = false;
                        sync.send(MessageType.DEVICE_CLEAR_ACKNOWLEDGE, server.overlapped() ? 1 : 0, 0, soon());
                    }
                    case TRIGGER -> sync.skip(h.length(), forever()); // the simulators have no trigger model
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
                    buffer = java.util.Arrays.copyOf(buffer, Math.min(max, Math.max(count + n, buffer.length * 2)));
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
                    sync.send(MessageType.DATA_END, 0, responseId, ByteBuffer.wrap(buffer, 0, count), soon());
                }
            } finally {
                count = 0;
                sending = false;
            }
        }
    }
}
