package org.labhal.transport.vxi11;

/**
 * A VXI-11 call ended with error 23 ({@link Vxi11Error#ABORT}): a device_abort on the link's abort
 * channel (see {@link Vxi11Link#abort(java.time.Duration)}) stopped it before it completed. A
 * device_read or device_write ended this way transferred nothing more; the link remains usable, and
 * the instrument may still hold the rest of a response, which a device clear discards.
 */
public class Vxi11AbortedException extends Vxi11Exception {
    private static final long serialVersionUID = 1L;

    /**
     * @param message the full message, naming the resource and the operation
     * @param operation the VXI-11 procedure that was aborted, e.g. {@code device_read}
     */
    public Vxi11AbortedException(String message, String operation) {
        super(message, operation, Vxi11Error.ABORT.code());
    }
}
