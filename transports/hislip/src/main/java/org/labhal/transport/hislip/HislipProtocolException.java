package org.labhal.transport.hislip;

import org.labhal.api.ConnectionLostException;

/**
 * A HiSLIP frame broke the protocol: a prologue other than {@code "HS"}, an unknown message type, a
 * payload length beyond the negotiated maximum (or negative as a signed number), a payload of the
 * wrong size for its type, an unexpected message where the handshake needs a specific one, or a
 * response whose message id answers nothing this client sent (the message names the expected and the
 * received ids). The connection cannot find the next frame, or the next response's question, after
 * this, so it is closed: a {@link ConnectionLostException} like any link out of step, and later
 * calls fail with one too.
 */
public class HislipProtocolException extends ConnectionLostException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what arrived and what was expected, naming the resource where known
     */
    public HislipProtocolException(String message) {
        super(message, null);
    }
}
