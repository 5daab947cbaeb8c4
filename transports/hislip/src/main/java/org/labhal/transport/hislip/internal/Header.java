package org.labhal.transport.hislip.internal;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

import org.labhal.transport.hislip.HislipProtocolException;

/**
 * The 16-byte header every HiSLIP message starts with: prologue {@code "HS"}, message type, control
 * code, 32-bit message parameter and 64-bit payload length, all big-endian.
 *
 * @param type the message type
 * @param control the control code, 0 to 255
 * @param parameter the message parameter, as 32 unsigned bits in an int
 * @param length the payload length in bytes
 */
public record Header(MessageType type, int control, int parameter, long length) {
    /** Size of the header on the wire. */
    public static final int SIZE = 16;
    /**
     * Largest payload accepted for messages that carry no instrument data (error texts, lock strings,
     * sub-addresses, sizes): no legitimate one comes near it.
     */
    public static final long CONTROL_PAYLOAD_LIMIT = 64 * 1024;

    /** Checks the fields; a header that could not be encoded is a programming error. */
    public Header {
        Objects.requireNonNull(type, "type");
        if (control < 0 || control > 255) {
            throw new IllegalArgumentException("control code " + control + " is not 0 to 255");
        }
        if (length < 0) {
            throw new IllegalArgumentException("payload length " + length + " is negative");
        }
    }

    /** @return the message parameter as an unsigned number */
    public long unsignedParameter() {
        return Integer.toUnsignedLong(parameter);
    }

    /**
     * Writes this header at the buffer's position, advancing it by {@link #SIZE}.
     *
     * @param into a big-endian buffer with at least 16 bytes remaining
     */
    public void encode(ByteBuffer into) {
        into.put((byte) 'H').put((byte) 'S').put((byte) type.code()).put((byte) control).putInt(parameter)
                .putLong(length);
    }

    /** @return this header as a new 16-byte buffer, ready to be written */
    public ByteBuffer encode() {
        ByteBuffer b = ByteBuffer.allocate(SIZE);
        encode(b);
        return b.flip();
    }

    /**
     * Reads a header from the buffer's next 16 bytes, trusting nothing: the prologue must be
     * {@code "HS"}, the type known, and the payload length within the limit for its type (messages
     * without instrument data never more than {@link #CONTROL_PAYLOAD_LIMIT}).
     *
     * @param from a buffer with at least 16 bytes remaining; advanced by 16 on success and failure
     * @param maxDataPayload the largest payload accepted for Data and DataEND messages
     * @return the header
     * @throws HislipProtocolException naming the field that is wrong and the bytes received
     * @throws java.nio.BufferUnderflowException when fewer than 16 bytes remain
     */
    public static Header decode(ByteBuffer from, long maxDataPayload) throws HislipProtocolException {
        int at = from.position();
        if (from.remaining() < SIZE) {
            throw new BufferUnderflowException();
        }
        from.position(at + SIZE);
        // absolute reads: no copy of the header per message
        if (from.get(at) != 'H' || from.get(at + 1) != 'S') {
            byte[] raw = raw(from, at);
            throw new HislipProtocolException("not a HiSLIP message: the header starts with "
                    + hex(raw, 2) + " instead of the prologue \"HS\" (header " + hex(raw, SIZE) + ")");
        }
        int code = from.get(at + 2) & 0xff;
        MessageType type = MessageType.of(code);
        if (type == null) {
            throw new HislipProtocolException("unknown HiSLIP message type " + code + " (header "
                    + hex(raw(from, at), SIZE) + "); known are 0 to " + (MessageType.values().length - 1));
        }
        int control = from.get(at + 3) & 0xff;
        boolean big = from.order() == ByteOrder.BIG_ENDIAN; // the wire's order, whatever the buffer's
        int parameter = big ? from.getInt(at + 4) : Integer.reverseBytes(from.getInt(at + 4));
        long length = big ? from.getLong(at + 8) : Long.reverseBytes(from.getLong(at + 8));
        long limit = type.carriesData() ? maxDataPayload : Math.min(maxDataPayload, CONTROL_PAYLOAD_LIMIT);
        if (length < 0 || length > limit) {
            throw new HislipProtocolException(type + " message announces a payload of "
                    + Long.toUnsignedString(length) + " bytes, more than the " + limit + " bytes allowed"
                    + (type.carriesData() ? " by the negotiated maximum message size" : " for this type"));
        }
        return new Header(type, control, parameter, length);
    }

    private static byte[] raw(ByteBuffer from, int at) {
        byte[] raw = new byte[SIZE];
        from.get(at, raw);
        return raw;
    }

    static String hex(byte[] bytes, int count) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < count && i < bytes.length; i++) {
            s.append(String.format("%02x", bytes[i] & 0xff));
        }
        return s.toString();
    }

    @Override
    public String toString() {
        return type + "(control=" + control + ", parameter=0x" + Integer.toHexString(parameter) + ", length="
                + length + ")";
    }
}
