package org.labhal.api.instrument;

import java.time.Duration;

import org.labhal.api.LabHalException;

/**
 * A call on a driver type of an {@link Instrument} found no driver to run it: the model's driver bundle
 * is being updated or was removed and no driver came back within the wait, or the instrument was
 * disconnected. The call did not reach the instrument; nothing was sent.
 */
public class DriverUnavailableException extends LabHalException {
    private static final long serialVersionUID = 1L;
    private final Duration waited;

    /**
     * @param message which instrument, which model and why no driver was bound
     * @param waited how long the call waited for a driver
     */
    public DriverUnavailableException(String message, Duration waited) {
        super(message);
        this.waited = waited;
    }

    /** @return how long the call waited for a driver before giving up */
    public Duration waited() {
        return waited;
    }
}
