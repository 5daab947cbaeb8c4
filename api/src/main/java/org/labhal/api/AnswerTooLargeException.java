package org.labhal.api;

/**
 * An answer grew past the most the session takes in memory ({@link Session#maxAnswerSize()}), or a
 * transport frame announced more than the transport accepts. Nothing of the answer is returned; the
 * session resynchronised with the instrument or, when it could not, closed its connection, so no
 * rest of this answer reaches a later step.
 */
public class AnswerTooLargeException extends MalformedResponseException {
    private static final long serialVersionUID = 1L;
    private final long limit;

    /**
     * @param message what grew too large, naming the resource, the step and the limit
     * @param limit the limit in bytes that was passed
     */
    public AnswerTooLargeException(String message, long limit) {
        super(message);
        this.limit = limit;
    }

    /** @return the limit in bytes that was passed */
    public long limit() {
        return limit;
    }
}
