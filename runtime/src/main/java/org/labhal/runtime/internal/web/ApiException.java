package org.labhal.runtime.internal.web;

/**
 * A request the API refuses or could not carry out: the HTTP status and the message, which is the
 * message the shell prints for the same failure.
 */
final class ApiException extends Exception {
    private static final long serialVersionUID = 1L;
    private final int status;

    ApiException(int status, String message) {
        super(message);
        this.status = status;
    }

    ApiException(int status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /** @return the HTTP status: 400 bad input, 401/403 refused, 404 unknown, 409 busy or timed out, 500 other */
    int status() {
        return status;
    }
}
