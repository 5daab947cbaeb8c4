package org.labhal.api.internal.session;

import org.labhal.api.MalformedResponseException;

/**
 * IEEE 488.2 arbitrary block headers: {@code #<n><n length digits>} before
 * definite-length data, {@code #0} before indefinite-length data that the message end closes.
 * Lengths come from the wire and are parsed, never trusted: at most nine digits, so a length is
 * never negative and never above 999,999,999, and nothing is ever allocated by it.
 */
final class BlockHeader {
    /** The largest length a definite-length header can announce. */
    static final long MAX_LENGTH = 999_999_999L;
    /** {@link #length}: the block has indefinite length. */
    static final long INDEFINITE = -1;
    /** {@link #dataEnd}: the response is not a definite-length block. */
    static final long NOT_A_BLOCK = Long.MAX_VALUE;
    /** {@link #dataEnd}: not enough bytes yet to tell. */
    static final long UNKNOWN = -1;

    private BlockHeader() {
    }

    /**
     * Looks at the start of an arbitrary response for a definite-length block, so its data is read
     * whole even when it contains the termination character. {@code #} followed by anything but
     * 1-9 is not a definite block: {@code #0} is indefinite, and {@code #H}, {@code #Q},
     * {@code #B} start IEEE 488.2 hexadecimal, octal and binary numbers.
     *
     * @param data the response so far
     * @param size how many bytes of {@code data} have arrived
     * @param resource names the resource in messages
     * @return the index just after the block's data, {@link #NOT_A_BLOCK} or {@link #UNKNOWN}
     * @throws MalformedResponseException when a length digit that arrived is not 0-9
     */
    static long dataEnd(byte[] data, int size, String resource) throws MalformedResponseException {
        if (size < 2) {
            return size == 1 && data[0] != '#' ? NOT_A_BLOCK : UNKNOWN;
        }
        int digits = digitCount(data[1]);
        if (data[0] != '#' || digits <= 0) {
            return NOT_A_BLOCK;
        }
        int available = Math.min(size, 2 + digits);
        checkDigits(data, available, resource);
        return available < 2 + digits ? UNKNOWN : 2 + digits + parse(data, digits);
    }

    /**
     * @param digitCount the byte after '#'
     * @return the number of length digits it announces, 0 for indefinite length, or -1 when it is
     *         not a digit
     */
    static int digitCount(byte digitCount) {
        return digitCount >= '0' && digitCount <= '9' ? digitCount - '0' : -1;
    }

    /**
     * Parses a complete header, checked byte by byte.
     *
     * @param header the header bytes, {@code #<n>} and then n digits
     * @param size the header's size, {@code 2 + n}
     * @param resource names the resource in messages
     * @return the data length, or {@link #INDEFINITE}
     * @throws MalformedResponseException naming the offending byte
     */
    static long length(byte[] header, int size, String resource) throws MalformedResponseException {
        if (header[0] != '#') {
            throw new MalformedResponseException(resource + ": expected an IEEE 488.2 binary block starting with '#', "
                    + "got " + Excerpt.of(header, 0, size));
        }
        int digits = digitCount(header[1]);
        if (digits < 0) {
            throw new MalformedResponseException(resource + ": malformed block header " + Excerpt.of(header, 0, size)
                    + ": '#' must be followed by the number of length digits, 0-9");
        }
        checkDigits(header, size, resource);
        return digits == 0 ? INDEFINITE : parse(header, digits);
    }

    /**
     * Checks the length digits that have arrived.
     *
     * @param header the header so far, '#' and a digit count first
     * @param size how many header bytes have arrived
     * @param resource names the resource in messages
     * @throws MalformedResponseException naming the first byte that is not 0-9
     */
    static void checkDigits(byte[] header, int size, String resource) throws MalformedResponseException {
        for (int i = 2; i < size; i++) {
            if (digitCount(header[i]) < 0) {
                throw new MalformedResponseException(resource + ": malformed block header " + Excerpt.of(header, 0, size)
                        + ": length digit " + (i - 1) + " of " + (header[1] - '0') + " is "
                        + Excerpt.of(header, i, 1) + ", expected 0-9");
            }
        }
    }

    private static long parse(byte[] header, int digits) {
        long length = 0;
        for (int i = 2; i < 2 + digits; i++) {
            length = length * 10 + (header[i] - '0');
        }
        return length;
    }
}
