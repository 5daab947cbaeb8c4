package org.labhal.api.internal.session;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;

import org.labhal.api.BlockProgress;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.MalformedResponseException;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.transport.Deadline;

/**
 * Reads one response message that must be an IEEE 488.2 arbitrary block and hands its data on in
 * pieces of at most {@link #CHUNK} bytes, so memory stays bounded however long the block is.
 * Lengths from the wire only bound how far it reads.
 * <p>
 * What a message end means depends on the transport. On stream transports (socket, serial) the
 * connection reports one after every termination character, so inside definite-length data it
 * means nothing, and the block is always followed by its terminator (LF or CR LF), which is read
 * and checked. On message transports (VXI-11, HiSLIP, the simulator) it is the END indicator: one
 * inside definite-length data means the instrument sent less than it announced, and one on the
 * last data byte means no terminator follows.
 * <p>
 * One instance per transfer, used under the session lock.
 */
final class BlockReader {
    /** The largest piece of data read, handed on and buffered at once. */
    static final int CHUNK = 64 * 1024;
    private static final int MAX_TERMINATOR = 2;

    /** Where the data goes. */
    interface Target {
        /** @param length the announced data length, or -1 for an indefinite-length block */
        default void expect(long length) {
        }

        /** Takes the next piece of data, at most {@link #CHUNK} bytes. */
        void accept(byte[] data, int offset, int length) throws IOException, LabHalException;
    }

    private final Channel connection;
    private final String resource;
    private final boolean streamTransport;
    private final Duration io;
    /** Renewed for every piece: a block may take as long as it keeps arriving, one piece per timeout. */
    private Deadline deadline;
    private final ByteBuffer buffer = ByteBuffer.allocate(CHUNK);
    private boolean messageOpen = true;
    /** Where the transfer is, for messages: data bytes delivered, announced length (-1: indefinite). */
    private Phase phase = Phase.HEADER;
    private long done;
    private long total;

    private enum Phase {
        HEADER, DATA, TERMINATOR
    }

    /**
     * @param connection where the response comes from
     * @param resource names the resource in messages
     * @param streamTransport whether message ends are termination characters rather than END
     * @param io the I/O timeout: it bounds the header and each piece of up to {@link #CHUNK} data
     *        bytes as a whole, and the terminator
     */
    BlockReader(Channel connection, String resource, boolean streamTransport, Duration io) {
        this.connection = connection;
        this.deadline = Deadline.after(io);
        this.resource = resource;
        this.streamTransport = streamTransport;
        this.io = io;
    }

    /**
     * @return whether bytes of the response may still be unread, so that after a failure the
     *         session must resynchronise before the next step
     */
    boolean messageOpen() {
        return messageOpen;
    }

    /**
     * Reads the block, checks what follows it, and passes the data to {@code target}.
     *
     * @return the number of data bytes
     * @throws MalformedResponseException when the response is not a well-formed block
     * @throws IoTimeoutException when the block or its terminator stopped arriving
     * @throws StepInterruptedException when the thread was interrupted between pieces
     * @throws LabHalException when the connection failed or {@code target} could not take the data
     */
    long read(Target target, BlockProgress progress) throws LabHalException {
        byte[] header = buffer.array();
        buffer.clear().limit(2);
        boolean end = fillHeader();
        if (buffer.position() < 2) {
            throw malformed("the response " + Excerpt.of(header, 0, buffer.position())
                    + " ended where an IEEE 488.2 binary block header (#<n><length>) was expected");
        }
        int digits = BlockHeader.digitCount(header[1]);
        if (header[0] != '#' || digits < 0) {
            BlockHeader.length(header, 2, resource); // throws, naming what is wrong
        }
        if (digits > 0) {
            if (!end) {
                buffer.limit(2 + digits);
                end = fillHeader();
            }
            BlockHeader.checkDigits(header, buffer.position(), resource);
            if (buffer.position() < 2 + digits) {
                throw malformed("the message ended inside the block header " + Excerpt.of(header, 0, buffer.position())
                        + ", before its " + digits + " length digits");
            }
        }
        total = BlockHeader.length(header, 2 + digits, resource);
        phase = Phase.DATA;
        target.expect(total);
        progress.update(0, total);
        return total == BlockHeader.INDEFINITE ? readIndefinite(end, target, progress)
                : readDefinite(end, target, progress);
    }

    private long readDefinite(boolean headerEnded, Target target, BlockProgress progress) throws LabHalException {
        boolean end = headerEnded;
        while (done < total) {
            deadline = Deadline.after(io);
            buffer.clear().limit((int) Math.min(CHUNK, total - done));
            while (buffer.hasRemaining()) {
                if (end && !streamTransport) {
                    messageOpen = false;
                    throw malformed("the message ended after " + (done + buffer.position()) + " of the " + total
                            + " data bytes its block header announced");
                }
                end = read();
            }
            deliver(target, buffer.position());
            progress.update(done, total);
        }
        phase = Phase.TERMINATOR;
        if (end && !streamTransport) {
            messageOpen = false; // END came with the last data byte: no terminator follows
        } else {
            readTerminator();
        }
        return total;
    }

    /** Reads the LF or CR LF after a definite-length block; anything else there is malformed. */
    private void readTerminator() throws LabHalException {
        byte[] seen = new byte[MAX_TERMINATOR];
        int count = 0;
        deadline = Deadline.after(io);
        while (count < MAX_TERMINATOR) {
            buffer.clear().limit(1);
            boolean end = read();
            if (end) {
                messageOpen = false;
            }
            byte b = buffer.get(0);
            seen[count++] = b;
            if (b != '\n' && b != '\r') {
                break;
            }
            if (end) {
                return;
            }
        }
        throw malformed("expected the message terminator (LF or CR LF) after the " + total + "-byte block, got "
                + Excerpt.of(seen, 0, count) + (messageOpen ? " and more" : ""));
    }

    /**
     * An indefinite-length block runs to the end of the message, whose terminator (LF, and on
     * stream transports also CR LF or the configured termination character) is not data.
     */
    private long readIndefinite(boolean headerEnded, Target target, BlockProgress progress) throws LabHalException {
        if (headerEnded) {
            progress.update(0, 0); // "#0" carried END itself: no data
            return 0;
        }
        byte[] bytes = buffer.array();
        int carried = 0;
        while (true) {
            deadline = Deadline.after(io);
            buffer.clear().position(carried);
            boolean end = false;
            while (buffer.hasRemaining() && !end) {
                end = read();
            }
            int size = buffer.position();
            if (end) {
                messageOpen = false;
                deliver(target, withoutTerminator(bytes, size));
                progress.update(done, done);
                return done;
            }
            // A CR at a piece's end may start a CR LF terminator: hold it back until the next byte shows.
            carried = streamTransport && bytes[size - 1] == '\r' ? 1 : 0;
            deliver(target, size - carried);
            progress.update(done, BlockHeader.INDEFINITE);
            if (carried > 0) {
                bytes[0] = '\r';
            }
        }
    }

    private int withoutTerminator(byte[] bytes, int size) {
        int end = size;
        if (streamTransport && end > 0) {
            end--; // the termination character that ended the read
            if (bytes[end] == '\n' && end > 0 && bytes[end - 1] == '\r') {
                end--;
            }
        } else if (end > 0 && bytes[end - 1] == '\n') {
            end--;
        }
        return end;
    }

    /** Reads header bytes until the buffer's limit or a message end, which here is real on any transport. */
    private boolean fillHeader() throws LabHalException {
        boolean end = false;
        while (buffer.hasRemaining() && !end) {
            end = read();
        }
        if (end) {
            messageOpen = false;
        }
        return end;
    }

    /** One read from the connection; a timeout says how far the block had come. */
    private boolean read() throws LabHalException {
        int before = buffer.position();
        boolean end;
        try {
            if (deadline.expired()) {
                throw new IoTimeoutException(resource + ": the I/O timeout of " + Deadline.millis(io) + " ms passed "
                        + "before the " + (phase == Phase.DATA ? "next " + CHUNK / 1024 + " KiB of data" : phase
                        == Phase.HEADER ? "block header" : "terminator") + " had arrived", io);
            }
            end = connection.read(buffer, deadline.remaining());
        } catch (IoTimeoutException e) {
            if (phase == Phase.HEADER) {
                throw e; // no block yet: the connection's message says it best
            }
            IoTimeoutException stalled = new IoTimeoutException(resource + ": " + (phase == Phase.DATA
                    ? "binary block stopped arriving after " + (done + buffer.position()) + of() + " data bytes"
                    : "no message terminator after the " + total + "-byte binary block")
                    + ": " + e.getMessage(), e.timeout());
            stalled.initCause(e);
            throw stalled;
        }
        if (buffer.position() == before && !end) {
            // Connection.read promises at least one byte; looping on a broken transport would hang.
            throw new LabHalException(resource + ": the transport returned from a read with no data and no message "
                    + "end, breaking its contract");
        }
        return end;
    }

    private void deliver(Target target, int length) throws LabHalException {
        if (length > 0) {
            try {
                target.accept(buffer.array(), 0, length);
            } catch (IOException e) {
                throw new LabHalException(resource + ": writing binary block data to the sink failed after " + done
                        + of() + " bytes: " + e.getMessage(), e);
            }
        }
        done += length;
        if (Thread.currentThread().isInterrupted()) {
            throw new StepInterruptedException("Interrupted reading a binary block from " + resource + " after "
                    + done + of() + " bytes", new InterruptedException("interrupt status was set"));
        }
    }

    private String of() {
        return total < 0 ? "" : " of " + total;
    }

    private MalformedResponseException malformed(String problem) {
        return new MalformedResponseException(resource + ": " + problem);
    }
}
