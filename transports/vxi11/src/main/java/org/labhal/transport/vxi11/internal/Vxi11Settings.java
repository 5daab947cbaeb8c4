package org.labhal.transport.vxi11.internal;

import java.time.Duration;
import java.util.Map;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;

/**
 * What a {@code TCPIP::host[::device]::INSTR?key=value&...} resource asks of its VXI-11 link. Every
 * option is checked when the link opens: a misspelt key or a bad value fails the open, naming it.
 *
 * @param corePort the core channel's port, skipping the portmapper; 0 asks the portmapper
 * @param portmapperPort where the portmapper listens (111 unless given)
 * @param termChar the byte after which device_read stops (termchrset flag), or -1 for END only
 * @param lockWait how long other operations wait for a device lock held by another link (the
 *        waitlock flag and lock_timeout); zero fails them at once with error 11
 * @param maxRead the largest requestSize of one device_read
 * @param readAhead whether a query's device_read goes out with its device_write, in one write
 *        (one round trip per query instead of two); {@code read_ahead=off} for an instrument whose
 *        RPC server cannot take a call before it has answered the one before
 */
record Vxi11Settings(int corePort, int portmapperPort, int termChar, Duration lockWait, int maxRead,
        boolean readAhead) {

    /** The options a VXI-11 resource understands, for messages. */
    static final String KNOWN = "port (1-65535: the core channel, skips the portmapper), portmapper (1-65535), "
            + "termchar (0-255, lf or cr), lock_wait_ms (0-3600000), max_read (16-16777216), read_ahead (on or off)";
    static final int DEFAULT_MAX_READ = 1 << 20;

    static Vxi11Settings of(ResourceAddress address) throws LabHalException {
        int corePort = 0;
        int portmapperPort = Rpc.PORTMAPPER_PORT;
        int termChar = -1;
        Duration lockWait = Duration.ZERO;
        int maxRead = DEFAULT_MAX_READ;
        boolean readAhead = true;
        for (Map.Entry<String, String> option : address.options().entrySet()) {
            String key = option.getKey();
            String value = option.getValue();
            switch (key) {
                case "port" -> corePort = number(address, key, value, 1, 65535);
                case "portmapper" -> portmapperPort = number(address, key, value, 1, 65535);
                case "termchar" -> termChar = switch (value.toLowerCase(java.util.Locale.ROOT)) {
                    case "lf" -> '\n';
                    case "cr" -> '\r';
                    default -> number(address, key, value, 0, 255);
                };
                case "lock_wait_ms" -> lockWait = Duration.ofMillis(number(address, key, value, 0, 3_600_000));
                case "max_read" -> maxRead = number(address, key, value, 16, 1 << 24);
                case "read_ahead" -> readAhead = switch (value.toLowerCase(java.util.Locale.ROOT)) {
                    case "on", "true", "1" -> true;
                    case "off", "false", "0" -> false;
                    default -> throw new LabHalException("Option read_ahead=" + value + " in " + address.canonical()
                            + " is neither on nor off");
                };
                default -> throw new LabHalException("Unknown option '" + key + "' in " + address.canonical()
                        + ": the VXI-11 transport knows " + KNOWN);
            }
        }
        return new Vxi11Settings(corePort, portmapperPort, termChar, lockWait, maxRead, readAhead);
    }

    private static int number(ResourceAddress address, String key, String value, int min, int max)
            throws LabHalException {
        try {
            int n = Integer.parseInt(value);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new LabHalException("Option " + key + "=" + value + " in " + address.canonical()
                + " is not a whole number from " + min + " to " + max);
    }
}
