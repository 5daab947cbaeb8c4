package org.labhal.transport.hislip.internal;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.function.BooleanSupplier;

import org.labhal.transport.hislip.HislipProtocolException;

/**
 * One HiSLIP TCP channel (synchronous or asynchronous), framing messages: a non-blocking
 * {@link SocketChannel} with a {@link Selector} of its own, so every call waits in {@code select}
 * until its deadline and {@link #close()} from any thread wakes it at once. Received bytes go through
 * a 64 KiB direct buffer (the socket reads straight into it; a heap buffer would make the JDK read into
 * a temporary direct buffer and copy); a header is consumed only once all 16 bytes are there, so a
 * timeout in the middle of one loses nothing. A message of up to {@link #OUTBOUND_SIZE} bytes, header
 * included, is copied into a direct buffer of the channel and goes out in one {@code write}; a longer
 * one in a gathering write of header and payload.
 *
 * <p>Used by one reading thread and one writing thread at a time (each side serialised by its owner);
 * {@link #close()} from any thread. Failures: {@link EOFException} when the peer closed the
 * connection, {@link SocketTimeoutException} when the deadline passed, {@link ClosedChannelException}
 * after {@link #close()}, {@link ReadAborted} when a read that would wait finds the owner's abort
 * condition true ({@link #abortReadsWhen}, woken by {@link #wakeReader()}), other {@link IOException}s
 * for a reset or broken link.
 */
public final class FrameChannel implements AutoCloseable {
    static final int BUFFER_SIZE = 64 * 1024;
    /** The largest message, header included, that goes out from the channel's own direct buffer. */
    static final int OUTBOUND_SIZE = 8 * 1024 + Header.SIZE;
    private static final byte[] NO_BYTES = new byte[0];
    private static final ByteBuffer NO_PAYLOAD = ByteBuffer.allocate(0);
    /** The action of {@code select(action, timeout)}: none; that form leaves the selected-key set alone. */
    private static final java.util.function.Consumer<SelectionKey> IGNORE_KEY = key -> { };

    private final SocketChannel channel;
    private final Selector readSelector;
    private final Selector writeSelector;
    private final ByteBuffer in = ByteBuffer.allocateDirect(BUFFER_SIZE).flip(); // read mode: unread bytes
    private final Object writing = new Object();
    private final ByteBuffer outbound = ByteBuffer.allocateDirect(OUTBOUND_SIZE); // guarded by writing
    private volatile BooleanSupplier abortReads = () -> false;
    private volatile Runnable activity = () -> { };

    private FrameChannel(SocketChannel channel) throws IOException {
        this.channel = channel;
        channel.configureBlocking(false);
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        Selector r = Selector.open();
        Selector w = null;
        try {
            w = Selector.open();
            channel.register(r, SelectionKey.OP_READ);
            channel.register(w, SelectionKey.OP_WRITE);
        } catch (IOException | RuntimeException e) {
            closeQuietly(r);
            closeQuietly(w);
            throw e;
        }
        this.readSelector = r;
        this.writeSelector = w;
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            if (c != null) {
                c.close();
            }
        } catch (Exception ignored) {
            // the descriptor is released either way
        }
    }

    /**
     * Wraps an accepted or connected channel (the server side).
     *
     * @throws IOException when the channel cannot be configured; it is closed then
     */
    public static FrameChannel of(SocketChannel channel) throws IOException {
        try {
            return new FrameChannel(channel);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /**
     * Connects to {@code target} within the deadline.
     *
     * @param target the address
     * @param deadline in {@link System#nanoTime()} terms
     * @param onCreated told the channel before connecting, so that a concurrent close can abort the
     *        connect; may be {@code null}
     * @throws IOException when refused, unreachable, closed meanwhile, or ({@link SocketTimeoutException})
     *         not accepted by the deadline
     */
    public static FrameChannel connect(InetSocketAddress target, long deadline,
            java.util.function.Consumer<FrameChannel> onCreated) throws IOException {
        FrameChannel c = of(SocketChannel.open());
        try {
            if (onCreated != null) {
                onCreated.accept(c);
            }
            if (!c.channel.connect(target)) {
                SelectionKey key = c.channel.keyFor(c.writeSelector);
                key.interestOps(SelectionKey.OP_CONNECT);
                while (!c.channel.finishConnect()) {
                    c.await(c.writeSelector, deadline, "connecting to " + target);
                }
                key.interestOps(SelectionKey.OP_WRITE);
            }
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    private void await(Selector selector, long deadline, String what) throws IOException {
        long remaining = deadline - System.nanoTime();
        if (remaining <= 0) {
            throw new SocketTimeoutException(what + " timed out");
        }
        if (Thread.currentThread().isInterrupted()) { // select would return at once, again and again
            throw new InterruptedIOException(what + " was interrupted");
        }
        try {
            // the form with an action leaves the selected-key set alone: no set to fill and clear per wait
            selector.select(IGNORE_KEY, Math.max(1, (remaining + 999_999) / 1_000_000)); // 0 would mean forever
        } catch (ClosedSelectorException | CancelledKeyException closedMeanwhile) {
            throw new ClosedChannelException();
        }
        if (!channel.isOpen()) {
            throw new ClosedChannelException();
        }
    }

    /**
     * Ensures at least {@code count} (at most the buffer size) unread bytes are buffered. The deadline
     * bounds the whole call, not only its waits: once it passed, no more bytes are taken from the
     * network, so a peer that floods the channel (with stale answers or notices the caller skips)
     * cannot keep a call going. Bytes already buffered are still delivered.
     */
    private void fill(int count, long deadline, String what) throws IOException {
        while (in.remaining() < count) {
            if (deadline - System.nanoTime() <= 0) {
                throw new SocketTimeoutException(what + " timed out");
            }
            in.compact(); // write mode
            int n;
            try {
                n = channel.read(in);
            } finally {
                in.flip();
            }
            if (n < 0) {
                throw new EOFException("the peer closed the connection" + (in.hasRemaining()
                        ? " in the middle of a message (" + in.remaining() + " bytes of it had arrived)" : ""));
            }
            if (n > 0) {
                activity.run();
            }
            if (n == 0) {
                if (abortReads.getAsBoolean()) {
                    throw new ReadAborted(what + " was abandoned");
                }
                await(readSelector, deadline, what);
            }
        }
    }

    /**
     * Sets the condition under which a read that has to wait gives up with {@link ReadAborted}
     * instead; it is checked before every wait and after {@link #wakeReader()}. Bytes already
     * buffered are still delivered, and no header is consumed in part.
     *
     * @param condition checked in the reading thread; must not block
     */
    public void abortReadsWhen(BooleanSupplier condition) {
        this.abortReads = Objects.requireNonNull(condition, "condition");
    }

    /**
     * Sets what to tell when bytes move: after each read that brings bytes, and before each write (so a
     * peer cannot have an answer before the channel counts as busy). A server uses it to tell idle
     * connections from busy ones.
     *
     * @param action called in the reading or writing thread; must be cheap and must not block
     */
    public void onActivity(Runnable action) {
        this.activity = Objects.requireNonNull(action, "action");
    }

    /** Wakes a read waiting in {@code select} so that it checks its abort condition; from any thread. */
    public void wakeReader() {
        readSelector.wakeup(); // a no-op once the selector is closed
    }

    /** A read was abandoned because the owner's abort condition held when it had to wait. */
    public static final class ReadAborted extends IOException {
        private static final long serialVersionUID = 1L;

        ReadAborted(String message) {
            super(message);
        }
    }

    /** @return how many received bytes are buffered and not yet consumed */
    public int buffered() {
        return in.remaining();
    }

    /**
     * Reads the next header.
     *
     * @param deadline in {@link System#nanoTime()} terms
     * @param maxDataPayload the largest Data/DataEND payload accepted
     * @throws HislipProtocolException when the header is malformed (see {@link Header#decode})
     * @throws IOException as described in the class comment
     */
    public Header readHeader(long deadline, long maxDataPayload) throws IOException, HislipProtocolException {
        fill(Header.SIZE, deadline, "waiting for a message");
        return Header.decode(in, maxDataPayload);
    }

    /**
     * Copies payload bytes into {@code into}: at least one, at most {@code max} and what fits; waits
     * only when none are buffered.
     *
     * @return the number of bytes copied, at least 1
     */
    public int readPayload(ByteBuffer into, long max, long deadline) throws IOException {
        fill(1, deadline, "waiting for message data");
        int n = (int) Math.min(Math.min(max, into.remaining()), in.remaining());
        into.put(into.position(), in, in.position(), n); // absolute: no slice to allocate
        into.position(into.position() + n);
        in.position(in.position() + n);
        return n;
    }

    /** Same as {@link #readPayload(ByteBuffer, long, long)} into an array range. */
    public int readPayload(byte[] into, int offset, int length, long max, long deadline) throws IOException {
        return readPayload(ByteBuffer.wrap(into, offset, length), max, deadline);
    }

    /**
     * Reads a whole payload of a message that carries no data (its length already checked against
     * {@link Header#CONTROL_PAYLOAD_LIMIT}).
     *
     * @throws FrameCutException when the deadline passes before the whole payload arrived: its header
     *         is consumed, so the channel is out of step
     */
    public byte[] readControlPayload(Header header, long deadline) throws IOException {
        if (header.length() == 0) {
            return NO_BYTES;
        }
        if (header.length() > Header.CONTROL_PAYLOAD_LIMIT) {
            throw new IllegalArgumentException(header + " is not a control message");
        }
        ByteBuffer b = ByteBuffer.allocate((int) header.length());
        try {
            while (b.hasRemaining()) {
                readPayload(b, b.remaining(), deadline);
            }
        } catch (SocketTimeoutException e) {
            throw cutShort(header, b.remaining(), e);
        }
        return b.array();
    }

    /**
     * Reads and discards the whole payload of a message whose header was just read.
     *
     * @throws FrameCutException when the deadline passes before the whole payload arrived: its header
     *         is consumed, so the channel is out of step
     */
    public void skipPayload(Header header, long deadline) throws IOException {
        long remaining = header.length();
        try {
            while (remaining > 0) {
                remaining -= skipSome(remaining, deadline);
            }
        } catch (SocketTimeoutException e) {
            throw cutShort(header, remaining, e);
        }
    }

    /**
     * @param header the message whose payload did not come whole
     * @param missing how many of its payload bytes did not come
     * @param cause the timeout
     * @return the failure that says the channel is out of step, naming what was announced and what came
     */
    public static FrameCutException cutShort(Header header, long missing, SocketTimeoutException cause) {
        FrameCutException e = new FrameCutException(header.type() + " message 0x"
                + Integer.toHexString(header.parameter()) + " announced " + header.length() + " payload bytes; "
                + (header.length() - missing) + " arrived and the other " + missing + " did not come in time, "
                + "so the rest of the channel cannot be framed");
        e.initCause(cause);
        return e;
    }

    /**
     * Discards at least one and at most {@code max} payload bytes; waits only when none are buffered.
     * With {@link #abortReadsWhen} a caller that must not lose its place counts what this returns.
     *
     * @return how many bytes were discarded, at least 1
     */
    public long skipSome(long max, long deadline) throws IOException {
        fill(1, deadline, "skipping message data");
        int n = (int) Math.min(max, in.remaining());
        in.position(in.position() + n);
        return n;
    }

    /** Reads and discards {@code count} payload bytes. */
    public void skip(long count, long deadline) throws IOException {
        while (count > 0) {
            fill(1, deadline, "skipping message data");
            int n = (int) Math.min(count, in.remaining());
            in.position(in.position() + n);
            count -= n;
        }
    }

    /** Writes one message with an empty payload. */
    public void send(MessageType type, int control, int parameter, long deadline) throws IOException {
        send(type, control, parameter, NO_PAYLOAD.duplicate(), deadline);
    }

    /** Writes one message whose payload is ASCII text. */
    public void send(MessageType type, int control, int parameter, String text, long deadline) throws IOException {
        send(type, control, parameter, ByteBuffer.wrap(text.getBytes(StandardCharsets.ISO_8859_1)), deadline);
    }

    /**
     * Writes one message: the header and the payload's remaining bytes, which are consumed.
     *
     * @throws IOException as described in the class comment; after a timeout the message was cut short
     */
    public void send(MessageType type, int control, int parameter, ByteBuffer payload, long deadline)
            throws IOException {
        if (control < 0 || control > 255) {
            throw new IllegalArgumentException("control code " + control + " is not 0 to 255");
        }
        long size = Header.SIZE + (long) payload.remaining();
        synchronized (writing) {
            if (size <= OUTBOUND_SIZE) {
                sendWhole(type, control, parameter, payload, size, deadline);
                return;
            }
            ByteBuffer[] parts = {new Header(type, control, parameter, payload.remaining()).encode(), payload};
            long sent = 0;
            while (parts[0].hasRemaining() || parts[1].hasRemaining()) {
                activity.run();
                long n = channel.write(parts);
                sent += n;
                if (n == 0) {
                    awaitWritable(type, sent, size, deadline);
                }
            }
        }
    }

    /**
     * The usual message, a short one: header and payload copied into the channel's direct buffer and
     * handed to the socket in one {@code write} (a gathering write of heap buffers would make the JDK
     * copy each into a temporary direct buffer and build an I/O vector first). The payload counts as
     * consumed once the whole message went out.
     */
    private void sendWhole(MessageType type, int control, int parameter, ByteBuffer payload, long size,
            long deadline) throws IOException {
        ByteBuffer out = outbound.clear();
        out.put((byte) 'H').put((byte) 'S').put((byte) type.code()).put((byte) control).putInt(parameter)
                .putLong(payload.remaining());
        int start = payload.position();
        out.put(payload).flip();
        payload.position(start); // nothing went out yet, should the write fail
        long sent = 0;
        while (out.hasRemaining()) {
            activity.run();
            int n = channel.write(out);
            sent += n;
            if (n == 0) {
                awaitWritable(type, sent, size, deadline);
            }
        }
        payload.position(payload.limit());
    }

    /** Waits until the socket takes more of a message of which {@code sent} bytes went out. */
    private void awaitWritable(MessageType type, long sent, long size, long deadline) throws IOException {
        try {
            await(writeSelector, deadline, "sending " + type);
        } catch (InterruptedIOException e) {
            if (sent == 0) {
                throw e; // nothing of the frame went out: the channel is still in step
            }
            throw new FrameCutException(e.getMessage() + " after " + sent + " of " + size
                    + " bytes of the message; the rest of the channel cannot be framed");
        }
    }

    /**
     * A message was cut short (timed out or interrupted after part of it was sent, or its payload did
     * not all arrive in time after its header was read): whatever follows would be taken for the rest
     * of it, so the channel is out of step for good.
     */
    public static final class FrameCutException extends IOException {
        private static final long serialVersionUID = 1L;

        FrameCutException(String message) {
            super(message);
        }
    }

    /** Closes the channel and its selectors; wakes blocked calls. Idempotent, from any thread. */
    @Override
    public void close() {
        closeQuietly(channel);
        closeQuietly(readSelector);
        closeQuietly(writeSelector);
    }

    /** Closes with a TCP reset instead of an orderly close, as a crashing peer does. */
    public void abort() {
        try {
            channel.setOption(StandardSocketOptions.SO_LINGER, 0);
        } catch (IOException ignored) {
            // closing anyway
        }
        close();
    }

    /** @return whether {@link #close()} has not been called and the peer has not been found gone */
    public boolean isOpen() {
        return channel.isOpen();
    }

    @Override
    public String toString() {
        try {
            return "FrameChannel[" + channel.getRemoteAddress() + "]";
        } catch (IOException e) {
            return "FrameChannel[closed]";
        }
    }
}
