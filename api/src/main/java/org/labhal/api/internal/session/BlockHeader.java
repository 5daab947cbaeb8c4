package org.labhal.api.internal.session;

import org.labhal.api.LabHalException;

/** Recognises an IEEE 488.2 definite-length block header at the start of a response. */
final class BlockHeader {
    /** The response is not a definite-length block (or is an indefinite one, ended by END). */
    static final long NOT_A_BLOCK = Long.MAX_VALUE;
    /** Not enough bytes yet to tell. */
    static final long UNKNOWN = -1;

    private BlockHeader() {
    }

    /**
     * @return the index just after the block's data, {@link #NOT_A_BLOCK} or {@link #UNKNOWN}
     * @throws LabHalException when the header is malformed
     */
    static long end(byte[] data, int size, String resource) throws LabHalException {
        if (size == 0) {
            return UNKNOWN;
        }
        if (data[0] != '#') {
            return NOT_A_BLOCK;
        }
        if (size < 2) {
            return UNKNOWN;
        }
        int digits = data[1] - '0';
        if (digits < 0 || digits > 9) {
            throw new LabHalException(resource + ": malformed block header: '#' followed by '" + (char) data[1]
                    + "', expected a digit 0-9");
        }
        if (digits == 0) {
            return NOT_A_BLOCK;
        }
        if (size < 2 + digits) {
            return UNKNOWN;
        }
        long length = 0;
        for (int i = 2; i < 2 + digits; i++) {
            int d = data[i] - '0';
            if (d < 0 || d > 9) {
                throw new LabHalException(resource + ": malformed block header: length digit '" + (char) data[i]
                        + "' at offset " + i + " is not 0-9");
            }
            length = length * 10 + d;
        }
        return 2 + digits + length;
    }
}
