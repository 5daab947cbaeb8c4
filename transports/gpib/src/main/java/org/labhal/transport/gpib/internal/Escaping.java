package org.labhal.transport.gpib.internal;

/**
 * Prologix host-side framing: a host line ends at an unescaped CR or LF and a line starting with
 * {@code ++} is a controller command, so data for an instrument has CR, LF, ESC and {@code +} escaped
 * with ESC (27); every {@code +} is escaped, not only a leading pair, which the controller accepts
 * and which keeps the rule simple.
 */
final class Escaping {
    static final byte ESC = 27;

    private Escaping() {
    }

    /** @return whether the byte must be escaped */
    static boolean special(byte b) {
        return b == '\r' || b == '\n' || b == ESC || b == '+';
    }

    /** @return {@code data} escaped and followed by the LF that ends the host line */
    static byte[] line(byte[] data) {
        int extra = 0;
        for (byte b : data) {
            if (special(b)) {
                extra++;
            }
        }
        byte[] out = new byte[data.length + extra + 1];
        int j = 0;
        for (byte b : data) {
            if (special(b)) {
                out[j++] = ESC;
            }
            out[j++] = b;
        }
        out[j] = '\n';
        return out;
    }
}
