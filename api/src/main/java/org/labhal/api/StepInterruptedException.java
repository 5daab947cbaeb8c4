package org.labhal.api;

/**
 * The calling thread was interrupted while a communication step waited for its lock or for the
 * instrument. The thread's interrupt status is set again when this is thrown, so code further up
 * still sees the interruption (as with {@link java.nio.channels.ClosedByInterruptException}).
 */
public class StepInterruptedException extends LabHalException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message which step was interrupted, on which resource
     * @param cause the interruption
     */
    public StepInterruptedException(String message, InterruptedException cause) {
        super(message, cause);
    }
}
