package org.labhal.api;

import java.time.Duration;

/**
 * The instrument did not accept or deliver data within the session's I/O timeout. The session has
 * already been resynchronised where the transport allows it, so a late answer is not delivered to
 * the next step.
 */
public class IoTimeoutException extends LabHalException {
    private static final long serialVersionUID = 1L;
    private final Duration timeout;

    /**
     * @param message what timed out, naming the resource and the step
     * @param timeout the I/O timeout that passed
     */
    public IoTimeoutException(String message, Duration timeout) {
        super(message);
        this.timeout = timeout;
    }

    /**
     * @return the I/O timeout that passed
     */
    public Duration timeout() {
        return timeout;
    }
}
