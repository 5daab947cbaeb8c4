package org.labhal.transport.sim;

/**
 * A program message unit failed; the processor queues {@link #error()} and goes on with the next
 * unit, as a SCPI instrument does.
 */
final class CommandException extends Exception {

    private static final long serialVersionUID = 1L;

    private final transient ScpiError error;

    CommandException(ScpiError error) {
        super(error.formatted(), null, false, false);
        this.error = error;
    }

    ScpiError error() {
        return error;
    }
}
