package org.labhal.api;

/**
 * Base of every checked exception LabHAL throws: a communication step, a lock or a transport
 * failed in a way the caller can handle. Subclasses say exactly what went wrong; the message always
 * names the resource or lock concerned.
 */
public class LabHalException extends Exception {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what failed, naming the resource or lock
     */
    public LabHalException(String message) {
        super(message);
    }

    /**
     * @param message what failed, naming the resource or lock
     * @param cause the underlying failure
     */
    public LabHalException(String message, Throwable cause) {
        super(message, cause);
    }
}
