package org.labhal.transport.gpib.internal;

import java.util.Map;

import org.labhal.api.InvalidResourceException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportKind;

/**
 * A checked board configuration.
 *
 * @param name the configuration's name for messages (its PID)
 * @param board the board number
 * @param controller the controller link, a {@code SERIAL} or {@code SOCKET} resource
 * @param readTimeoutMillis sent as {@code ++read_tmo_ms}
 * @param openTimeoutMillis the most opening the link may take
 * @param scan whether discovery may scan the board's addresses
 */
record BoardSettings(String name, int board, ResourceAddress controller, int readTimeoutMillis,
        int openTimeoutMillis, boolean scan) {

    /** The factory PID of board configurations. */
    static final String FACTORY_PID = "org.labhal.gpib.board";

    /**
     * Reads a configuration's raw properties, as DS hands them over.
     *
     * @throws IllegalArgumentException naming the configuration, the property and what was expected
     */
    static BoardSettings from(Map<String, ?> properties) {
        Object pid = properties.get("service.pid");
        String name = pid == null ? FACTORY_PID : pid.toString();
        int board = integer(name, properties, "board", 0, 0, 99);
        Object raw = properties.get("controller");
        if (raw == null || raw.toString().isBlank()) {
            throw bad(name, "controller", raw, "the controller link as a resource string, e.g. "
                    + "ASRL/dev/ttyUSB0::INSTR?baud=115200 or TCPIP::10.0.0.7::1234::SOCKET");
        }
        ResourceAddress controller;
        try {
            controller = ResourceAddress.parse(raw.toString());
        } catch (InvalidResourceException e) {
            throw bad(name, "controller", raw, "a resource string (" + e.getMessage() + ")");
        }
        if (controller.kind() != TransportKind.SERIAL && controller.kind() != TransportKind.SOCKET) {
            throw bad(name, "controller", raw, "a serial port (ASRL...::INSTR) or a TCP socket "
                    + "(TCPIP::host::port::SOCKET), not a " + controller.kind() + " resource");
        }
        int readTimeout = integer(name, properties, "read_tmo_ms", 500, 1, 3000);
        int openTimeout = integer(name, properties, "open_timeout_ms", 5000, 1, Integer.MAX_VALUE);
        Object rawScan = properties.get("scan");
        boolean scan = rawScan instanceof Boolean b ? b : rawScan != null && switch (rawScan.toString().strip()) {
            case "true" -> true;
            case "false" -> false;
            default -> throw bad(name, "scan", rawScan, "true or false");
        };
        return new BoardSettings(name, board, controller, readTimeout, openTimeout, scan);
    }

    private static int integer(String name, Map<String, ?> properties, String key, int fallback, int min, int max) {
        Object raw = properties.get(key);
        if (raw == null) {
            return fallback;
        }
        long value;
        try {
            value = raw instanceof Number n ? n.longValue() : Long.parseLong(raw.toString().trim());
        } catch (NumberFormatException e) {
            throw bad(name, key, raw, "a whole number from " + min + " to " + max);
        }
        if (value < min || value > max) {
            throw bad(name, key, raw, "a whole number from " + min + " to " + max);
        }
        return (int) value;
    }

    private static IllegalArgumentException bad(String name, String key, Object value, String expected) {
        return new IllegalArgumentException("GPIB board configuration " + name + ": " + key + "=" + value
                + " is not valid; expected " + expected);
    }

    /** @return e.g. {@code GPIB0 (org.labhal.gpib.board~bench, controller TCPIP0::10.0.0.7::1234::SOCKET)} */
    String describe() {
        return "GPIB" + board + " (" + name + ", controller " + controller.canonical() + ")";
    }
}
