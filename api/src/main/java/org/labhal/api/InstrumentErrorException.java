package org.labhal.api;

import java.util.List;

/**
 * The instrument's error queue was not empty after a step with error checking: carries every
 * entry read, in queue order, and the command that preceded the check.
 */
public class InstrumentErrorException extends LabHalException {
    private static final long serialVersionUID = 1L;
    private final String command;
    private final List<InstrumentError> errors;

    /**
     * @param resource the resource the errors came from
     * @param command the command that was sent before the check
     * @param errors the error queue entries, oldest first, at least one
     */
    public InstrumentErrorException(String resource, String command, List<InstrumentError> errors) {
        super(resource + " reported " + errors.size() + (errors.size() == 1 ? " error" : " errors")
                + " after \"" + command + "\": " + errors);
        this.command = command;
        this.errors = List.copyOf(errors);
    }

    /**
     * @return the command sent before the error check
     */
    public String command() {
        return command;
    }

    /**
     * @return every error queue entry read, oldest first
     */
    public List<InstrumentError> errors() {
        return errors;
    }
}
