package org.labhal.api.instrument;

import java.time.Duration;

import org.labhal.api.LabHalException;

/**
 * An overlapped operation did not report completion ({@code *OPC}) within its OPC timeout. The
 * operation may still be running on the instrument; no lock is held any more.
 */
public class OperationTimeoutException extends LabHalException {
    private static final long serialVersionUID = 1L;
    private final Duration timeout;

    /**
     * @param message which command on which instrument
     * @param timeout the OPC timeout that passed
     */
    public OperationTimeoutException(String message, Duration timeout) {
        this(message, timeout, null);
    }

    /**
     * @param message which command on which instrument
     * @param timeout the OPC timeout that passed
     * @param cause the underlying failure, e.g. the I/O timeout of a blocking {@code *OPC?}; may be null
     */
    public OperationTimeoutException(String message, Duration timeout, Throwable cause) {
        super(message, cause);
        this.timeout = timeout;
    }

    /** @return the OPC timeout that passed */
    public Duration timeout() {
        return timeout;
    }
}
