package org.labhal.transport.vxi11.internal;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;

/**
 * ONC RPC record marking over TCP (RFC 5531 section 11): each record is one or more fragments,
 * each behind a four-byte header whose top bit marks the last fragment and whose low 31 bits give
 * the fragment's length. Records are read whole into memory, up to a limit checked before any
 * allocation, so a peer announcing 2 GB or a never-ending chain of fragments costs nothing.
 * <p>
 * A fragment header is read with whatever else has arrived, into a small buffer: a short reply
 * (header and body) costs one read from the socket, not five. Fragment bodies are read from that
 * buffer and then straight into the record. Not thread-safe: one reader per stream, and nobody
 * else reads the stream (this one may hold bytes of the next record).
 */
public final class RecordStream {
    /** More fragments than this in one record is an attack or a bug, not a message. */
    static final int MAX_FRAGMENTS = 1024;
    private static final int LAST_FRAGMENT = 0x8000_0000;

    /** What one read from the stream may bring ahead of a fragment header. */
    static final int BUFFER = 8192;

    private final InputStream in;
    private final int maxRecord;
    private boolean midRecord;
    private final byte[] buffer = new byte[BUFFER];
    private int position; // the next byte of the buffer to hand out
    private int limit; // after the last byte read into the buffer

    /**
     * @param in the stream, typically a socket's
     * @param maxRecord the largest record accepted, in bytes without fragment headers
     */
    public RecordStream(InputStream in, int maxRecord) {
        this.in = in;
        this.maxRecord = maxRecord;
    }

    /**
     * Whether the last {@link #read()} stopped (by a timeout or an error) after consuming part of a
     * record: the stream is then out of step and must be closed.
     */
    public boolean midRecord() {
        return midRecord;
    }

    /**
     * Reads the next whole record.
     *
     * @return the record's bytes
     * @throws EOFException when the peer closed the stream; the message says whether mid-record
     * @throws XdrException when a fragment is too long for the limit or the record has too many fragments
     * @throws java.net.SocketTimeoutException when the socket's read timeout passed; see {@link #midRecord()}
     * @throws IOException when reading failed
     */
    public byte[] read() throws IOException {
        midRecord = false;
        byte[] record = new byte[0];
        int fragments = 0;
        while (true) {
            int header = readHeader(record.length, fragments);
            midRecord = true;
            int length = header & ~LAST_FRAGMENT;
            if (length > maxRecord - record.length) {
                throw new XdrException("RPC record fragment of " + Integer.toUnsignedString(length) + " bytes after "
                        + record.length + " bytes exceeds the record limit of " + maxRecord + " bytes");
            }
            if (++fragments > MAX_FRAGMENTS) {
                throw new XdrException("RPC record has more than " + MAX_FRAGMENTS + " fragments");
            }
            int start = record.length;
            record = Arrays.copyOf(record, start + length);
            int done = Math.min(length, limit - position);
            System.arraycopy(buffer, position, record, start, done);
            position += done;
            while (done < length) {
                int n = in.read(record, start + done, length - done);
                if (n < 0) {
                    throw new EOFException("the peer closed the connection in the middle of an RPC record ("
                            + done + " of " + length + " fragment bytes received)");
                }
                done += n;
            }
            if ((header & LAST_FRAGMENT) != 0) {
                midRecord = false;
                return record;
            }
        }
    }

    private int readHeader(int received, int fragments) throws IOException {
        while (limit - position < 4) {
            if (limit > position) {
                midRecord = true; // part of a header is in: a timeout now leaves the stream out of step
            }
            if (position > 0) { // room at the end for the rest
                System.arraycopy(buffer, position, buffer, 0, limit - position);
                limit -= position;
                position = 0;
            }
            int n = in.read(buffer, limit, buffer.length - limit);
            if (n < 0) {
                throw new EOFException(limit == 0 && fragments == 0 ? "the peer closed the connection"
                        : "the peer closed the connection in the middle of an RPC record header (after "
                                + received + " record bytes)");
            }
            limit += n;
        }
        midRecord = true;
        int header = (buffer[position] & 0xFF) << 24 | (buffer[position + 1] & 0xFF) << 16
                | (buffer[position + 2] & 0xFF) << 8 | buffer[position + 3] & 0xFF;
        position += 4;
        return header;
    }

    /**
     * Writes the encoder's items as one record of one fragment, in one write.
     *
     * @throws IOException when writing failed
     */
    public static void write(OutputStream out, XdrEncoder message) throws IOException {
        out.write(message.array(), 0, mark(message));
        out.flush();
    }

    /**
     * Writes two messages as two records, each of one fragment, in one write: one segment on the wire
     * where the server reads both with one system call.
     *
     * @throws IOException when writing failed
     */
    public static void write(OutputStream out, XdrEncoder first, XdrEncoder second) throws IOException {
        int firstLength = mark(first);
        int secondLength = mark(second);
        byte[] both = new byte[firstLength + secondLength];
        System.arraycopy(first.array(), 0, both, 0, firstLength);
        System.arraycopy(second.array(), 0, both, firstLength, secondLength);
        out.write(both);
        out.flush();
    }

    /** Writes the record mark into the encoder's first bytes; returns the record's length with its mark. */
    private static int mark(XdrEncoder message) {
        int length = message.length();
        byte[] bytes = message.array();
        int header = LAST_FRAGMENT | length;
        bytes[0] = (byte) (header >>> 24);
        bytes[1] = (byte) (header >>> 16);
        bytes[2] = (byte) (header >>> 8);
        bytes[3] = (byte) header;
        return XdrEncoder.MARK + length;
    }
}
