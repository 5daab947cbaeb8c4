package org.labhal.transport.usbtmc.internal;

import java.util.Locale;
import java.util.Map;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportKind;

/**
 * What a {@code USB...::INSTR?key=value&...} or {@code ...::RAW?...} resource asks of its connection.
 * Every option is checked when the connection opens: a misspelt key or a bad value fails the open
 * with a message naming it.
 *
 * @param termChar INSTR: ask the device to end Bulk-IN transfers at {@code '\n'} (only when its
 *        capabilities say it can)
 * @param maxTransfer the most message bytes one Bulk transfer carries, both ways; longer messages are
 *        split into several transfers
 * @param readTermination RAW: the byte that ends a message read
 * @param writeTermination RAW: appended to every message written with END
 */
record UsbSettings(boolean termChar, int maxTransfer, byte readTermination, byte[] writeTermination) {

    static final String KNOWN_INSTR = "term_char (true|false), max_transfer (64 to 1048576 bytes)";
    static final String KNOWN_RAW = "read_termination (lf|cr), write_termination (lf|crlf|cr|none), "
            + "max_transfer (64 to 1048576 bytes)";
    static final int MAX_TRANSFER = 64 * 1024;
    static final UsbSettings DEFAULTS = new UsbSettings(false, MAX_TRANSFER, (byte) '\n', new byte[] {'\n'});

    /** @throws LabHalException naming the resource, the option and what it accepts */
    static UsbSettings of(ResourceAddress address, TransportKind kind) throws LabHalException {
        boolean raw = kind == TransportKind.USB_RAW;
        UsbSettings s = DEFAULTS;
        for (Map.Entry<String, String> option : address.options().entrySet()) {
            String key = option.getKey();
            String value = option.getValue();
            String v = value.toLowerCase(Locale.ROOT);
            if (key.equals("max_transfer")) {
                s = new UsbSettings(s.termChar, maxTransfer(address, value), s.readTermination, s.writeTermination);
            } else if (!raw && key.equals("term_char")) {
                boolean on = switch (v) {
                    case "true", "on", "1", "yes" -> true;
                    case "false", "off", "0", "no" -> false;
                    default -> throw bad(address, key, value, "true or false");
                };
                s = new UsbSettings(on, s.maxTransfer, s.readTermination, s.writeTermination);
            } else if (raw && key.equals("read_termination")) {
                byte t = switch (v) {
                    case "lf" -> (byte) '\n';
                    case "cr" -> (byte) '\r';
                    default -> throw bad(address, key, value, "lf or cr");
                };
                s = new UsbSettings(s.termChar, s.maxTransfer, t, s.writeTermination);
            } else if (raw && key.equals("write_termination")) {
                byte[] t = switch (v) {
                    case "lf" -> new byte[] {'\n'};
                    case "crlf" -> new byte[] {'\r', '\n'};
                    case "cr" -> new byte[] {'\r'};
                    case "none" -> new byte[0];
                    default -> throw bad(address, key, value, "lf, crlf, cr or none");
                };
                s = new UsbSettings(s.termChar, s.maxTransfer, s.readTermination, t);
            } else {
                throw new LabHalException("Unknown option '" + key + "' in " + address.canonical() + ": the "
                        + (raw ? "USB RAW" : "USBTMC") + " transport knows " + (raw ? KNOWN_RAW : KNOWN_INSTR));
            }
        }
        return s;
    }

    private static int maxTransfer(ResourceAddress address, String value) throws LabHalException {
        try {
            int n = Integer.parseInt(value);
            if (n >= 64 && n <= 1 << 20) {
                return n & ~3; // whole 4-byte words: the alignment of bulk messages
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw bad(address, "max_transfer", value, "a whole number of bytes from 64 to 1048576");
    }

    private static LabHalException bad(ResourceAddress address, String key, String value, String expected) {
        return new LabHalException("Option " + key + "=" + value + " in " + address.canonical() + " is not valid: expected "
                + expected);
    }
}
