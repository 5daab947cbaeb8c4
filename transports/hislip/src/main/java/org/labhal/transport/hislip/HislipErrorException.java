package org.labhal.transport.hislip;

import org.labhal.api.LabHalException;

/**
 * The instrument sent a HiSLIP {@code Error} or {@code FatalError} message. After a fatal error the
 * instrument closes the connection, and so does the client: later calls fail with
 * {@link org.labhal.api.ConnectionLostException}.
 */
public class HislipErrorException extends LabHalException {
    private static final long serialVersionUID = 1L;
    private final boolean fatal;
    private final int code;
    private final String text;

    /**
     * @param message what failed, naming the resource, the code and the instrument's text
     * @param fatal whether it was a {@code FatalError}
     * @param code the control code (0-255): see {@link #describe(boolean, int)}
     * @param text the instrument's message text, possibly empty
     */
    public HislipErrorException(String message, boolean fatal, int code, String text) {
        super(message);
        this.fatal = fatal;
        this.code = code;
        this.text = text;
    }

    /** @return whether it was a {@code FatalError}, after which the connection is closed */
    public boolean fatal() {
        return fatal;
    }

    /** @return the error code sent as the message's control code, 0 to 255 */
    public int code() {
        return code;
    }

    /** @return the text the instrument sent with the error, possibly empty */
    public String text() {
        return text;
    }

    /**
     * The meaning of an error code as IVI-6.1 defines it.
     *
     * @param fatal whether the code came with a {@code FatalError} (otherwise an {@code Error})
     * @param code the control code
     * @return a short description, e.g. "poorly formed message header"
     */
    public static String describe(boolean fatal, int code) {
        if (code >= 128) {
            return "device-defined error " + code;
        }
        if (fatal) {
            return switch (code) {
                case 0 -> "unidentified error";
                case 1 -> "poorly formed message header";
                case 2 -> "attempt to use the connection without both channels established";
                case 3 -> "invalid initialization sequence";
                case 4 -> "server refused the connection: maximum number of clients exceeded";
                case 5 -> "secure connection failed";
                default -> "reserved fatal error code " + code;
            };
        }
        return switch (code) {
            case 0 -> "unidentified error";
            case 1 -> "unrecognized message type";
            case 2 -> "unrecognized control code";
            case 3 -> "unrecognized vendor-defined message";
            case 4 -> "message too large";
            case 5 -> "authentication failed";
            default -> "reserved error code " + code;
        };
    }
}
