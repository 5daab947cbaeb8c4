package org.labhal.api;

/**
 * No installed transport serves the kind of resource asked for; the message names the missing
 * transport kind and the resource.
 */
public class TransportUnavailableException extends LabHalException {
    private static final long serialVersionUID = 1L;
    private final TransportKind kind;

    /**
     * @param message which transport is missing, for which resource
     * @param kind the resource kind no transport serves
     */
    public TransportUnavailableException(String message, TransportKind kind) {
        super(message);
        this.kind = kind;
    }

    /**
     * @return the resource kind that no installed transport serves
     */
    public TransportKind kind() {
        return kind;
    }
}
