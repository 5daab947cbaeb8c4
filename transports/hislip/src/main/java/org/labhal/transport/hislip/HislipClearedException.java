package org.labhal.transport.hislip;

import org.labhal.api.LabHalException;

/**
 * A read was ended because a device clear ({@link HislipLink#clear}) was issued from another thread
 * while it waited for the instrument's response. The clear discards that response; the link stays
 * usable, and the next message's response is its own, never the discarded one.
 */
public class HislipClearedException extends LabHalException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what was ended, naming the resource
     */
    public HislipClearedException(String message) {
        super(message);
    }
}
