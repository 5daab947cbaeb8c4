package org.labhal.api;

/**
 * An instrument-side lock was asked of a session whose transport has none (e.g. a raw socket or a
 * serial line); the message names the resource and its transport kind.
 */
public class InstrumentLockUnsupportedException extends LabHalException {
    private static final long serialVersionUID = 1L;
    private final TransportKind kind;

    /**
     * @param message which resource, over which transport
     * @param kind the transport kind without instrument-side locks
     */
    public InstrumentLockUnsupportedException(String message, TransportKind kind) {
        super(message);
        this.kind = kind;
    }

    /** @return the transport kind that has no instrument-side lock */
    public TransportKind kind() {
        return kind;
    }
}
