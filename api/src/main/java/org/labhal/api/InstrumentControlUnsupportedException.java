package org.labhal.api;

/**
 * A status byte, bus trigger or remote / local switch was asked of a session whose transport has no
 * such function (e.g. a raw socket or a serial line); the message names the resource and its transport
 * kind.
 *
 * @since 1.3
 */
public class InstrumentControlUnsupportedException extends LabHalException {
    private static final long serialVersionUID = 1L;
    private final TransportKind kind;

    /**
     * @param message which resource, over which transport, and what was asked
     * @param kind the transport kind without IEEE 488 control functions
     */
    public InstrumentControlUnsupportedException(String message, TransportKind kind) {
        super(message);
        this.kind = kind;
    }

    /** @return the transport kind that has no IEEE 488 control functions */
    public TransportKind kind() {
        return kind;
    }
}
