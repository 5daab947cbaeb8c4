package org.labhal.api.internal.session;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import org.labhal.api.BlockProgress;
import org.labhal.api.LabHalException;
import org.labhal.api.StepInterruptedException;

/**
 * Sends one program message made of a command prefix and an IEEE 488.2 arbitrary block, the data
 * in pieces of at most {@link BlockReader#CHUNK} bytes. The message end (the transport's write
 * termination, or END) follows the last data byte. One instance per transfer, used under the
 * session lock.
 */
final class BlockWriter {
    private final Channel connection;
    private final String resource;
    private final Duration io;
    private boolean sent;

    /**
     * @param connection where the message goes
     * @param resource names the resource in messages
     * @param io the I/O timeout: it bounds each piece of up to {@link BlockReader#CHUNK} bytes as a
     *        whole, so a block may take as long as it keeps moving
     */
    BlockWriter(Channel connection, String resource, Duration io) {
        this.connection = connection;
        this.resource = resource;
        this.io = io;
    }

    /**
     * @param commandPrefix sent verbatim before the block
     * @param length the data length, or -1 for an indefinite-length block
     * @return the prefix and the block header, ISO-8859-1
     * @throws IllegalArgumentException when a definite length does not fit the header's nine digits
     */
    static byte[] header(String commandPrefix, long length) {
        if (length < -1 || length > BlockHeader.MAX_LENGTH) {
            throw new IllegalArgumentException("block length " + length + " is outside 0.." + BlockHeader.MAX_LENGTH
                    + ", what a definite-length header's nine digits can announce; -1 sends an indefinite-length block");
        }
        String digits = length < 0 ? "" : Long.toString(length);
        return (commandPrefix + "#" + digits.length() + digits).getBytes(StandardCharsets.ISO_8859_1);
    }

    /**
     * @return whether any part of the message reached the instrument, so that after a failure the
     *         instrument holds a fragment the session must get rid of
     */
    boolean sent() {
        return sent;
    }

    /** Sends a block whose data is already in memory, without copying large data. */
    void write(byte[] header, byte[] data) throws LabHalException {
        if (header.length + data.length <= BlockReader.CHUNK) {
            send(ByteBuffer.allocate(header.length + data.length).put(header).put(data).flip(), true);
        } else {
            send(ByteBuffer.wrap(header), false);
            for (int at = 0; at < data.length; at += BlockReader.CHUNK) {
                int piece = Math.min(BlockReader.CHUNK, data.length - at);
                send(ByteBuffer.wrap(data, at, piece), at + piece == data.length);
            }
        }
    }

    /**
     * Streams a block from {@code source}, which is read exactly {@code length} bytes far (to its end
     * for an indefinite-length block) and not closed.
     *
     * @return the number of data bytes sent
     */
    long write(byte[] header, InputStream source, long length, BlockProgress progress) throws LabHalException {
        byte[] chunk = new byte[Math.max(BlockReader.CHUNK, header.length)];
        System.arraycopy(header, 0, chunk, 0, header.length);
        int fill = header.length;
        long done = 0;
        progress.update(0, length);
        while (true) {
            int data = 0; // data bytes in this piece
            boolean exhausted = false;
            while (fill < chunk.length && (length < 0 || done + data < length)) {
                int wanted = (int) Math.min(chunk.length - fill, length < 0 ? Long.MAX_VALUE : length - done - data);
                int count = readSource(source, chunk, fill, wanted, done + data, length);
                if (count < 0) {
                    exhausted = true;
                    break;
                }
                fill += count;
                data += count;
            }
            if (exhausted && length >= 0) {
                throw new LabHalException(resource + ": the block's data source ended after " + (done + data)
                        + " of the " + length + " bytes announced in the block header");
            }
            boolean last = length < 0 ? exhausted : done + data == length;
            send(ByteBuffer.wrap(chunk, 0, fill), last);
            done += data;
            progress.update(done, last ? done : length);
            if (last) {
                return done;
            }
            if (Thread.currentThread().isInterrupted()) {
                throw new StepInterruptedException("Interrupted writing a binary block to " + resource + " after "
                        + done + (length < 0 ? "" : " of " + length) + " bytes",
                        new InterruptedException("interrupt status was set"));
            }
            fill = 0;
        }
    }

    private int readSource(InputStream source, byte[] into, int offset, int wanted, long done, long length)
            throws LabHalException {
        try {
            return source.read(into, offset, wanted);
        } catch (IOException e) {
            throw new LabHalException(resource + ": reading the block's data source failed after " + done
                    + (length < 0 ? "" : " of " + length) + " bytes: " + e.getMessage(), e);
        }
    }

    /** One piece, bounded as a whole by the I/O timeout. */
    private void send(ByteBuffer data, boolean end) throws LabHalException {
        int start = data.position();
        try {
            connection.write(data, end, io);
        } finally {
            sent |= data.position() > start;
        }
    }
}
