package org.labhal.transport.sim;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * How a simulator served over a byte stream ({@link SimStreamBridge}) marks the end of its
 * messages, both the program messages it accepts and the response messages it sends. Byte
 * streams (sockets, serial lines) carry no END signal, so the terminator is all there is.
 */
public enum LineEnding {

    /** Newline (0x0A), the IEEE 488.2 terminator and what most socket instruments use. */
    LF("\n"),

    /**
     * Carriage return and newline. Accepted input may end with LF alone: a carriage return is
     * white space to the parser.
     */
    CRLF("\r\n"),

    /** Carriage return (0x0D) alone, as some serial instruments do; it ends input messages too. */
    CR("\r");

    private final String text;

    LineEnding(String text) {
        this.text = text;
    }

    /** The terminator's bytes, a fresh copy. */
    public byte[] bytes() {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * @param name {@code lf}, {@code crlf} or {@code cr}, case-insensitive
     * @throws IllegalArgumentException naming the value and the accepted ones
     */
    public static LineEnding parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown line ending '" + name + "'; expected lf, crlf or cr", e);
        }
    }
}
