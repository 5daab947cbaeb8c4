package org.labhal.transport.socket.internal;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;

/**
 * What a {@code TCPIP::host::port::SOCKET?key=value&...} resource asks of its connection. Every
 * option is checked when the connection opens: a misspelt key or a bad value fails the open with
 * a message naming it, instead of being ignored.
 *
 * @param writeTermination appended to every message written with END
 * @param readTermination the byte sequence that ends a message read
 * @param drain how long the link must stay quiet for a {@link SocketConnection#clear drain} to end,
 *        and, with {@code read_termination=none}, for a message to end
 * @param late how long after a read timed out its answer is still expected and discarded when it
 *        arrives; zero forgets late answers at once
 * @param drainBytes the most a {@link SocketConnection#clear drain} discards before it gives up on a
 *        peer that does not stop sending and closes the link
 * @param reconnect whether a connection that lost its link reconnects on the next write
 * @param noDelay TCP_NODELAY: send small messages at once instead of waiting to fill a segment
 * @param keepAlive SO_KEEPALIVE: let the operating system probe an idle link
 */
record SocketSettings(Termination writeTermination, Termination readTermination, Duration drain, Duration late,
        long drainBytes, boolean reconnect, boolean noDelay, boolean keepAlive) {

    /** The options a socket resource understands, for messages. */
    static final String KNOWN = "write_termination, read_termination (lf|crlf|cr|none), drain_ms, late_ms, "
            + "drain_bytes, reconnect, nodelay, keepalive (true|false)";

    /** Default of {@code drain_bytes}: more than any answer worth waiting for, little time on a LAN. */
    static final long DRAIN_BYTES = 64L << 20;
    private static final long MIN_DRAIN_BYTES = 64L << 10;
    private static final long MAX_DRAIN_BYTES = 1L << 40;

    static final SocketSettings DEFAULTS = new SocketSettings(Termination.LF, Termination.LF, Duration.ofMillis(100),
            Duration.ofSeconds(5), DRAIN_BYTES, false, true, true);

    /**
     * @throws LabHalException naming the resource, the option and what it accepts
     */
    static SocketSettings of(ResourceAddress address) throws LabHalException {
        SocketSettings s = DEFAULTS;
        for (Map.Entry<String, String> option : address.options().entrySet()) {
            String key = option.getKey();
            String value = option.getValue();
            switch (key) {
                case "write_termination" -> s = new SocketSettings(termination(address, key, value), s.readTermination,
                        s.drain, s.late, s.drainBytes, s.reconnect, s.noDelay, s.keepAlive);
                case "read_termination" -> s = new SocketSettings(s.writeTermination, termination(address, key, value),
                        s.drain, s.late, s.drainBytes, s.reconnect, s.noDelay, s.keepAlive);
                case "drain_ms" -> s = new SocketSettings(s.writeTermination, s.readTermination,
                        millis(address, key, value, 1), s.late, s.drainBytes, s.reconnect, s.noDelay, s.keepAlive);
                case "late_ms" -> s = new SocketSettings(s.writeTermination, s.readTermination, s.drain,
                        millis(address, key, value, 0), s.drainBytes, s.reconnect, s.noDelay, s.keepAlive);
                case "drain_bytes" -> s = new SocketSettings(s.writeTermination, s.readTermination, s.drain, s.late,
                        bytes(address, key, value), s.reconnect, s.noDelay, s.keepAlive);
                case "reconnect" -> s = new SocketSettings(s.writeTermination, s.readTermination, s.drain, s.late,
                        s.drainBytes, bool(address, key, value), s.noDelay, s.keepAlive);
                case "nodelay" -> s = new SocketSettings(s.writeTermination, s.readTermination, s.drain, s.late,
                        s.drainBytes, s.reconnect, bool(address, key, value), s.keepAlive);
                case "keepalive" -> s = new SocketSettings(s.writeTermination, s.readTermination, s.drain, s.late,
                        s.drainBytes, s.reconnect, s.noDelay, bool(address, key, value));
                default -> throw new LabHalException("Unknown option '" + key + "' in " + address.canonical()
                        + ": the socket transport knows " + KNOWN);
            }
        }
        return s;
    }

    private static Termination termination(ResourceAddress address, String key, String value) throws LabHalException {
        try {
            return Termination.parse(value);
        } catch (IllegalArgumentException e) {
            throw new LabHalException("Option " + key + "=" + value + " in " + address.canonical()
                    + " is not a termination: expected lf, crlf, cr or none", e);
        }
    }

    private static Duration millis(ResourceAddress address, String key, String value, long min)
            throws LabHalException {
        try {
            long ms = Long.parseLong(value);
            if (ms >= min && ms <= 3_600_000) {
                return Duration.ofMillis(ms);
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new LabHalException("Option " + key + "=" + value + " in " + address.canonical()
                + " is not a whole number of milliseconds from " + min + " to 3600000");
    }

    private static long bytes(ResourceAddress address, String key, String value) throws LabHalException {
        try {
            long n = Long.parseLong(value);
            if (n >= MIN_DRAIN_BYTES && n <= MAX_DRAIN_BYTES) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new LabHalException("Option " + key + "=" + value + " in " + address.canonical()
                + " is not a whole number of bytes from " + MIN_DRAIN_BYTES + " to " + MAX_DRAIN_BYTES);
    }

    private static boolean bool(ResourceAddress address, String key, String value) throws LabHalException {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "true", "1", "yes", "on" -> true;
            case "false", "0", "no", "off" -> false;
            default -> throw new LabHalException("Option " + key + "=" + value + " in " + address.canonical()
                    + " is not a boolean: expected true or false");
        };
    }
}
