package org.labhal.transport.sim;

/**
 * Unwinds the execution of a program message that a device clear discarded; caught by the
 * processor, never seen by callers.
 */
final class MessageDiscarded extends RuntimeException {

    private static final long serialVersionUID = 1L;

    MessageDiscarded() {
        super("program message discarded by device clear", null, false, false);
    }
}
