package org.labhal.api;

/**
 * An instrument's response does not have the form the step asked for: an IEEE 488.2 block header
 * that is not {@code #<n><n digits>}, a message that ends before the announced data or carries
 * bytes after it, binary data that is not a whole number of values, or a list element that is not a
 * decimal number. The message names the session's resource and quotes the offending bytes, with
 * control and non-ASCII bytes escaped.
 * <p>
 * If the step failed with part of the response still unread, the session resynchronised with the
 * instrument (as after an {@link IoTimeoutException}) before this was thrown, so the next step does
 * not receive the rest of it.
 */
public class MalformedResponseException extends LabHalException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what was expected and what arrived, naming the resource
     */
    public MalformedResponseException(String message) {
        super(message);
    }
}
