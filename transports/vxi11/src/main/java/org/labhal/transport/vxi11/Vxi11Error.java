package org.labhal.transport.vxi11;

/**
 * The VXI-11 device error codes (VXI-11 rev. 1.0, table B.2) with their meanings. Code 0 (no error)
 * never becomes an exception, and code 15 (I/O timeout) is reported as an
 * {@link org.labhal.api.IoTimeoutException} so that sessions treat it like every other timeout.
 */
public enum Vxi11Error {
    /** 1: the instrument did not understand the request. */
    SYNTAX_ERROR(1, "syntax error"),
    /** 3: the device name given to create_link does not exist or cannot be reached. */
    DEVICE_NOT_ACCESSIBLE(3, "device not accessible"),
    /** 4: the link id is unknown to the instrument (destroyed, or the instrument restarted). */
    INVALID_LINK_IDENTIFIER(4, "invalid link identifier"),
    /** 5: a parameter was out of range. */
    PARAMETER_ERROR(5, "parameter error"),
    /** 6: the interrupt channel does not exist. */
    CHANNEL_NOT_ESTABLISHED(6, "channel not established"),
    /** 8: the instrument does not support the operation. */
    OPERATION_NOT_SUPPORTED(8, "operation not supported"),
    /** 9: the instrument ran out of links or memory. */
    OUT_OF_RESOURCES(9, "out of resources"),
    /** 11: another link holds the device lock, and it was not released within the lock timeout. */
    DEVICE_LOCKED_BY_ANOTHER_LINK(11, "device locked by another link"),
    /** 12: device_unlock on a link that holds no lock. */
    NO_LOCK_HELD_BY_THIS_LINK(12, "no lock held by this link"),
    /** 15: the operation did not complete within its I/O timeout. */
    IO_TIMEOUT(15, "I/O timeout"),
    /** 17: the instrument failed to carry out the I/O. */
    IO_ERROR(17, "I/O error"),
    /** 21: an invalid address (e.g. a GPIB address out of range behind a gateway). */
    INVALID_ADDRESS(21, "invalid address"),
    /** 23: the operation was aborted (device_abort on the abort channel). */
    ABORT(23, "abort"),
    /** 29: the interrupt channel already exists. */
    CHANNEL_ALREADY_ESTABLISHED(29, "channel already established"),
    /** Any code the specification does not define; {@link Vxi11Exception#code()} tells which. */
    UNKNOWN(-1, "unknown error code");

    private final int code;
    private final String meaning;

    Vxi11Error(int code, String meaning) {
        this.code = code;
        this.meaning = meaning;
    }

    /** The code on the wire, or -1 for {@link #UNKNOWN}. */
    public int code() {
        return code;
    }

    /** The meaning the specification gives, in lower case, e.g. "device locked by another link". */
    public String meaning() {
        return meaning;
    }

    /**
     * @param code a non-zero error code from the wire
     * @return its constant, or {@link #UNKNOWN}
     */
    public static Vxi11Error of(int code) {
        for (Vxi11Error e : values()) {
            if (e.code == code) {
                return e;
            }
        }
        return UNKNOWN;
    }
}
