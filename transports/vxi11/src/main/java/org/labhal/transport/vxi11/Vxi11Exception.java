package org.labhal.transport.vxi11;

import org.labhal.api.LabHalException;

/**
 * The instrument answered a VXI-11 operation with an error code. The message names the resource,
 * the operation, the code and its meaning, e.g. {@code TCPIP0::10.0.0.5::inst0::INSTR: device_lock
 * failed with VXI-11 error 11 (device locked by another link) after waiting 2000 ms}. The link
 * remains usable. Error 23 (abort) is the subclass {@link Vxi11AbortedException}.
 */
public class Vxi11Exception extends LabHalException {
    private static final long serialVersionUID = 1L;
    private final int code;
    private final String operation;

    /**
     * @param message the full message
     * @param operation the VXI-11 procedure that failed, e.g. {@code device_lock}
     * @param code the error code from the wire
     */
    public Vxi11Exception(String message, String operation, int code) {
        super(message);
        this.operation = operation;
        this.code = code;
    }

    /** The error code as received. */
    public int code() {
        return code;
    }

    /** The error, or {@link Vxi11Error#UNKNOWN} for a code the specification does not define. */
    public Vxi11Error error() {
        return Vxi11Error.of(code);
    }

    /** The procedure that failed, e.g. {@code device_write}. */
    public String operation() {
        return operation;
    }
}
