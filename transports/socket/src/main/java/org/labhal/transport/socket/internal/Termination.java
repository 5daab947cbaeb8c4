package org.labhal.transport.socket.internal;

import java.util.Locale;

/** The byte sequence that ends a message on a raw socket, which has no END signal of its own. */
enum Termination {
    /** Newline, the IEEE 488.2 terminator: the default both ways. */
    LF(new byte[] {'\n'}),
    /** Carriage return then newline; the message ends at the newline of the pair. */
    CRLF(new byte[] {'\r', '\n'}),
    /** Carriage return alone. */
    CR(new byte[] {'\r'}),
    /** Nothing: written messages get no terminator; read messages end when the peer falls quiet. */
    NONE(new byte[0]);

    private final byte[] bytes;

    Termination(byte[] bytes) {
        this.bytes = bytes;
    }

    /** The terminator's bytes; callers must not change them. */
    byte[] bytes() {
        return bytes;
    }

    /**
     * Whether the byte at {@code b} ends a message, given the byte before it.
     *
     * @param b the byte
     * @param previous the byte before it, or -1 if none
     */
    boolean ends(byte b, int previous) {
        return switch (this) {
            case LF -> b == '\n';
            case CR -> b == '\r';
            case CRLF -> b == '\n' && previous == '\r';
            case NONE -> false;
        };
    }

    static Termination parse(String value) {
        return valueOf(value.toUpperCase(Locale.ROOT));
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
