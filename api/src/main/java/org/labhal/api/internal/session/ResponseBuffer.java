package org.labhal.api.internal.session;

import java.util.Arrays;

import org.labhal.api.AnswerTooLargeException;
import org.labhal.api.LabHalException;

/**
 * A response, or a block's data, collected in memory. It grows with the bytes that really arrive,
 * never by a length announced on the wire; an announced length only caps the growth so that a
 * block that does arrive in full ends up in an array of exactly its size, without a final copy.
 */
final class ResponseBuffer implements BlockReader.Target {
    /** The largest array the JVM reliably allocates. */
    static final int MAX_SIZE = Integer.MAX_VALUE - 8;
    private static final int FIRST_SIZE = 8192;

    private final String resource;
    private int limit;
    private final int indefiniteLimit;
    private byte[] data = new byte[0];
    private int size;
    private long expected = -1;

    /** @param resource names the resource in messages */
    ResponseBuffer(String resource) {
        this(resource, MAX_SIZE);
    }

    /**
     * @param resource names the resource in messages
     * @param limit the most bytes it takes, at most {@link #MAX_SIZE}
     */
    ResponseBuffer(String resource, int limit) {
        this(resource, limit, limit);
    }

    /**
     * @param resource names the resource in messages
     * @param limit the most bytes it takes, at most {@link #MAX_SIZE}
     * @param indefiniteLimit the most bytes it takes once told the data is an indefinite-length block,
     *        which only the message end bounds
     */
    ResponseBuffer(String resource, int limit, int indefiniteLimit) {
        this.resource = resource;
        this.limit = Math.min(limit, MAX_SIZE);
        this.indefiniteLimit = Math.min(indefiniteLimit, this.limit);
    }

    @Override
    public void expect(long length) {
        expected = length;
        if (length < 0) {
            limit = indefiniteLimit;
        }
    }

    @Override
    public void accept(byte[] bytes, int offset, int length) throws LabHalException {
        ensureRoom(length);
        System.arraycopy(bytes, offset, data, size, length);
        size += length;
    }

    private void ensureRoom(int length) throws LabHalException {
        long needed = (long) size + length;
        if (needed <= data.length) {
            return;
        }
        if (needed > limit) {
            throw new AnswerTooLargeException(resource + ": the answer exceeds " + limit + " bytes, "
                    + (limit == MAX_SIZE ? "more than fits in a byte array"
                            : "the session's maximum answer size (Session.setMaxAnswerSize, configuration key "
                                    + "maxAnswerSize)")
                    + "; stream binary blocks with queryBlock(query, sink, progress)", limit);
        }
        long grown = Math.max((long) data.length * 2, FIRST_SIZE);
        if (expected >= 0 && needed <= expected) {
            grown = Math.min(grown, expected);
        }
        data = Arrays.copyOf(data, (int) Math.min(limit, Math.max(grown, needed)));
    }

    /** @return the array holding the bytes collected so far, at indices 0 to {@link #size()} */
    byte[] array() {
        return data;
    }

    /** @return how many bytes have been collected */
    int size() {
        return size;
    }

    /** @return the collected bytes, in an array of exactly their number */
    byte[] toByteArray() {
        return size == data.length ? data : Arrays.copyOf(data, size);
    }
}
