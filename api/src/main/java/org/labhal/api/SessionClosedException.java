package org.labhal.api;

/**
 * A step was started on a session that is closed (by its owner, or because its transport was
 * removed).
 */
public class SessionClosedException extends LabHalException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message which session, and why it is closed
     */
    public SessionClosedException(String message) {
        super(message);
    }
}
