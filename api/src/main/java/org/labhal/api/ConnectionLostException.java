package org.labhal.api;

/**
 * The link to the instrument broke: the peer closed or reset it, or its transport went away
 * (bundle stopped). The session cannot be used for further steps unless it reconnects.
 */
public class ConnectionLostException extends LabHalException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what broke, naming the resource
     * @param cause the underlying failure, or {@code null}
     */
    public ConnectionLostException(String message, Throwable cause) {
        super(message, cause);
    }
}
