package org.labhal.transport.vxi11.internal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Reads XDR (RFC 4506) items from one received record. Never trusts the wire: every length is
 * checked against its limit and against the bytes that are there before anything is allocated or
 * copied, so a huge, negative or truncated item is an {@link XdrException}, never an
 * {@link OutOfMemoryError} or an index error. Not thread-safe.
 */
public final class XdrDecoder {
    private final byte[] bytes;
    private final int end;
    private int position;

    /** Decodes {@code bytes[offset, offset + length)}. */
    public XdrDecoder(byte[] bytes, int offset, int length) {
        if (offset < 0 || length < 0 || offset + length > bytes.length) {
            throw new IndexOutOfBoundsException(offset + "+" + length + " outside " + bytes.length);
        }
        this.bytes = bytes;
        this.position = offset;
        this.end = offset + length;
    }

    /** Decodes all of {@code bytes}. */
    public XdrDecoder(byte[] bytes) {
        this(bytes, 0, bytes.length);
    }

    /** The bytes not yet decoded. */
    public int remaining() {
        return end - position;
    }

    private void need(long count, String what) throws XdrException {
        if (count > end - position) {
            throw new XdrException("truncated XDR data: " + what + " needs " + count + " bytes, "
                    + (end - position) + " left");
        }
    }

    /** Reads a signed 32-bit integer (XDR int, enum). */
    public int getInt() throws XdrException {
        need(4, "an int");
        int value = (bytes[position] & 0xFF) << 24 | (bytes[position + 1] & 0xFF) << 16
                | (bytes[position + 2] & 0xFF) << 8 | bytes[position + 3] & 0xFF;
        position += 4;
        return value;
    }

    /** Reads an XDR unsigned int as 0 to 2^32-1. */
    public long getUnsignedInt() throws XdrException {
        return getInt() & 0xFFFF_FFFFL;
    }

    /** Reads an XDR bool; anything but 0 or 1 is malformed. */
    public boolean getBool() throws XdrException {
        int value = getInt();
        if (value != 0 && value != 1) {
            throw new XdrException("XDR bool must be 0 or 1, was " + value);
        }
        return value == 1;
    }

    /**
     * Reads the length of a variable-length opaque and checks it before anyone allocates.
     *
     * @param max the largest length the caller accepts
     * @return a length from 0 to {@code max} whose bytes (and padding) are all present
     */
    private int opaqueLength(int max, String what) throws XdrException {
        long length = getUnsignedInt();
        if (length > max) {
            throw new XdrException(what + " of " + length + " bytes exceeds the limit of " + max
                    + (length > Integer.MAX_VALUE ? " (a negative length on the wire)" : ""));
        }
        int n = (int) length;
        need((long) n + ((4 - (n & 3)) & 3), what + " of " + n + " bytes"); // long: 2^31-1 plus padding overflows
        return n;
    }

    private void skipPadding(int length) {
        position += (4 - (length & 3)) & 3;
    }

    /** Reads a variable-length opaque of at most {@code max} bytes. */
    public byte[] getOpaque(int max) throws XdrException {
        int n = opaqueLength(max, "opaque");
        byte[] out = new byte[n];
        System.arraycopy(bytes, position, out, 0, n);
        position += n;
        skipPadding(n);
        return out;
    }

    /**
     * Reads a variable-length opaque straight into {@code into}, which must have room for it.
     *
     * @return the number of bytes copied
     */
    public int getOpaqueInto(ByteBuffer into) throws XdrException {
        int n = opaqueLength(into.remaining(), "opaque");
        into.put(bytes, position, n);
        position += n;
        skipPadding(n);
        return n;
    }

    /**
     * Reads a variable-length opaque of at most {@code max} bytes as a read-only view of the decoded
     * bytes, without copying them.
     */
    public ByteBuffer getOpaqueView(int max) throws XdrException {
        int n = opaqueLength(max, "opaque");
        ByteBuffer view = ByteBuffer.wrap(bytes, position, n).slice().asReadOnlyBuffer();
        position += n;
        skipPadding(n);
        return view;
    }

    /** Skips a variable-length opaque of at most {@code max} bytes (e.g. an RPC credential body). */
    public void skipOpaque(int max) throws XdrException {
        int n = opaqueLength(max, "opaque");
        position += n;
        skipPadding(n);
    }

    /** Reads an XDR string of at most {@code max} bytes, as ISO-8859-1. */
    public String getString(int max) throws XdrException {
        int n = opaqueLength(max, "string");
        String text = new String(bytes, position, n, StandardCharsets.ISO_8859_1);
        position += n;
        skipPadding(n);
        return text;
    }
}
