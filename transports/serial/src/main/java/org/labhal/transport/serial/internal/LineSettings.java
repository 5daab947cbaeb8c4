package org.labhal.transport.serial.internal;

import java.time.Duration;
import java.util.Map;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;

import com.fazecast.jSerialComm.SerialPort;

/**
 * Everything a serial resource's options say about the line and its framing, with the VISA
 * defaults (9600 baud, 8 data bits, no parity, 1 stop bit, no flow control) and LF termination.
 * {@link ResourceAddress} has already checked each value's form; this adds what depends on the
 * operating system.
 *
 * @param baud bits per second
 * @param dataBits 5-8
 * @param parity one of jSerialComm's parity constants
 * @param stopBits one of jSerialComm's stop-bit constants
 * @param flow jSerialComm flow-control flags
 * @param writeTermination appended to every message end; may be empty
 * @param readTermination the byte that ends a response message
 * @param drainQuiet how long the line must stay silent for {@code clear} to finish draining
 * @param late how long after reads began missing answers those answers are still expected (and
 *        discarded when they come); zero forgets them at once
 * @param summary the settings in the usual short form, e.g. {@code 9600 8N1 rtscts}
 */
record LineSettings(int baud, int dataBits, int parity, int stopBits, int flow, byte[] writeTermination,
        byte readTermination, Duration drainQuiet, Duration late, String summary) {

    static final Duration DEFAULT_DRAIN_QUIET = Duration.ofMillis(100);
    static final Duration DEFAULT_LATE = Duration.ofSeconds(5);
    private static final byte LF = '\n';
    private static final byte CR = '\r';

    /**
     * @param address a {@code SERIAL} resource
     * @param windows whether the port is opened on Windows, where 1.5 stop bits and DSR/DTR flow
     *        control exist; POSIX termios has neither
     * @throws LabHalException naming the option when the settings cannot be used here
     */
    static LineSettings of(ResourceAddress address, boolean windows) throws LabHalException {
        Map<String, String> o = address.options();
        int baud = Integer.parseInt(o.getOrDefault("baud", "9600"));
        int dataBits = Integer.parseInt(o.getOrDefault("data_bits", "8"));
        String parityName = o.getOrDefault("parity", "none");
        String stopName = o.getOrDefault("stop_bits", "1");
        String flowName = o.getOrDefault("flow", "none");
        int parity = switch (parityName) {
            case "none" -> SerialPort.NO_PARITY;
            case "odd" -> SerialPort.ODD_PARITY;
            case "even" -> SerialPort.EVEN_PARITY;
            case "mark" -> SerialPort.MARK_PARITY;
            case "space" -> SerialPort.SPACE_PARITY;
            default -> throw unknown(address, "parity", parityName);
        };
        int stopBits = switch (stopName) {
            case "1" -> SerialPort.ONE_STOP_BIT;
            case "2" -> SerialPort.TWO_STOP_BITS;
            case "1.5" -> {
                if (!windows) {
                    // jSerialComm would silently send 1 stop bit: refuse instead of lying.
                    throw new LabHalException("Cannot open " + address.canonical()
                            + ": stop_bits=1.5 exists only on Windows; POSIX serial ports offer stop_bits=1 or 2");
                }
                yield SerialPort.ONE_POINT_FIVE_STOP_BITS;
            }
            default -> throw unknown(address, "stop_bits", stopName);
        };
        int flow = switch (flowName) {
            case "none" -> SerialPort.FLOW_CONTROL_DISABLED;
            case "rtscts" -> SerialPort.FLOW_CONTROL_RTS_ENABLED | SerialPort.FLOW_CONTROL_CTS_ENABLED;
            case "xonxoff" -> SerialPort.FLOW_CONTROL_XONXOFF_IN_ENABLED | SerialPort.FLOW_CONTROL_XONXOFF_OUT_ENABLED;
            case "dsrdtr" -> {
                if (!windows) {
                    // termios has no DSR/DTR handshake; jSerialComm would ignore the request.
                    throw new LabHalException("Cannot open " + address.canonical()
                            + ": flow=dsrdtr exists only on Windows; POSIX serial ports offer flow=none, rtscts or xonxoff");
                }
                yield SerialPort.FLOW_CONTROL_DSR_ENABLED | SerialPort.FLOW_CONTROL_DTR_ENABLED;
            }
            default -> throw unknown(address, "flow", flowName);
        };
        String writeName = o.getOrDefault("write_termination", "lf");
        byte[] writeTermination = switch (writeName) {
            case "lf" -> new byte[] {LF};
            case "crlf" -> new byte[] {CR, LF};
            case "cr" -> new byte[] {CR};
            case "none" -> new byte[0];
            default -> throw unknown(address, "write_termination", writeName);
        };
        String readName = o.getOrDefault("read_termination", "lf");
        // crlf ends at the LF like lf does: the CR stays in the message, where sessions strip it.
        byte readTermination = switch (readName) {
            case "lf", "crlf" -> LF;
            case "cr" -> CR;
            default -> throw unknown(address, "read_termination", readName);
        };
        Duration drain = o.containsKey("drain_ms") ? Duration.ofMillis(Long.parseLong(o.get("drain_ms")))
                : DEFAULT_DRAIN_QUIET;
        Duration late = o.containsKey("late_ms") ? Duration.ofMillis(Long.parseLong(o.get("late_ms"))) : DEFAULT_LATE;
        String summary = baud + " " + dataBits + Character.toUpperCase(parityName.charAt(0)) + stopName
                + (flowName.equals("none") ? "" : " " + flowName);
        return new LineSettings(baud, dataBits, parity, stopBits, flow, writeTermination, readTermination, drain,
                late, summary);
    }

    private static LabHalException unknown(ResourceAddress address, String key, String value) {
        // Only reachable with an API bundle older than this transport.
        return new LabHalException("Cannot open " + address.canonical() + ": the serial transport does not know "
                + key + "=" + value);
    }

    /**
     * How long the line needs to send {@code bytes} at this baud rate, counting 12 bit times per byte
     * (start, 8 data, parity, 2 stop: the most any setting uses).
     */
    Duration lineTime(long bytes) {
        long bits = bytes * 12L; // cannot overflow for any message size an array can hold
        return Duration.ofSeconds(bits / baud, (bits % baud) * 1_000_000_000L / baud);
    }

    /** Applies the line settings to a port that is not open yet. */
    void applyTo(SerialPort port, int readSliceMillis) {
        port.setComPortParameters(baud, dataBits, stopBits, parity);
        port.setFlowControl(flow);
        // Semi-blocking: a read returns as soon as any byte is there, or after one slice of silence.
        port.setComPortTimeouts(SerialPort.TIMEOUT_READ_SEMI_BLOCKING, readSliceMillis, 0);
    }
}
