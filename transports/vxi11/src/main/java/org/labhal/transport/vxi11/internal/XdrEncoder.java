package org.labhal.transport.vxi11.internal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Writes XDR (RFC 4506) big-endian items into a growing array, with the first four bytes kept free
 * for the ONC RPC record mark (RFC 5531 section 11), so a whole record goes out in one write.
 * Not thread-safe: one encoder per message.
 */
public final class XdrEncoder {
    /** Bytes reserved at the start for the record mark. */
    static final int MARK = 4;
    private byte[] bytes;
    private int size = MARK;

    /** An encoder with room for {@code capacity} bytes of items before it grows. */
    public XdrEncoder(int capacity) {
        bytes = new byte[MARK + Math.max(16, capacity)];
    }

    private void ensure(int more) {
        if (size + more > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
        }
    }

    /** Appends a signed or unsigned 32-bit integer (XDR int, unsigned int, enum). */
    public XdrEncoder putInt(int value) {
        ensure(4);
        bytes[size] = (byte) (value >>> 24);
        bytes[size + 1] = (byte) (value >>> 16);
        bytes[size + 2] = (byte) (value >>> 8);
        bytes[size + 3] = (byte) value;
        size += 4;
        return this;
    }

    /**
     * Appends an XDR unsigned int.
     *
     * @throws IllegalArgumentException when the value is outside 0 to 2^32-1
     */
    public XdrEncoder putUnsignedInt(long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("not an XDR unsigned int: " + value);
        }
        return putInt((int) value);
    }

    /** Appends an XDR bool (0 or 1). */
    public XdrEncoder putBool(boolean value) {
        return putInt(value ? 1 : 0);
    }

    /** Appends a variable-length opaque: length, bytes, zero padding to a multiple of four. */
    public XdrEncoder putOpaque(byte[] data, int offset, int length) {
        putInt(length);
        ensure(length + 3);
        System.arraycopy(data, offset, bytes, size, length);
        size += length;
        pad(length);
        return this;
    }

    /** Appends the bytes from position to limit of {@code data} as an opaque; the buffer's position moves to its limit. */
    public XdrEncoder putOpaque(ByteBuffer data) {
        int length = data.remaining();
        putInt(length);
        ensure(length + 3);
        data.get(bytes, size, length);
        size += length;
        pad(length);
        return this;
    }

    /** Appends an XDR string in ISO-8859-1 (VXI-11 device names are ASCII). */
    public XdrEncoder putString(String text) {
        byte[] data = text.getBytes(StandardCharsets.ISO_8859_1);
        return putOpaque(data, 0, data.length);
    }

    private void pad(int length) {
        int padding = (4 - (length & 3)) & 3;
        for (int i = 0; i < padding; i++) {
            bytes[size++] = 0;
        }
    }

    /** The number of item bytes written, without the record mark. */
    public int length() {
        return size - MARK;
    }

    /** The backing array: the record mark's four bytes, then {@link #length()} item bytes. */
    byte[] array() {
        return bytes;
    }

    /** A copy of the item bytes, for tests and logging. */
    public byte[] toByteArray() {
        return Arrays.copyOfRange(bytes, MARK, size);
    }
}
