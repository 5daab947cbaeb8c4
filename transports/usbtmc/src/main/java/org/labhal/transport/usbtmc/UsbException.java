package org.labhal.transport.usbtmc;

import java.util.Objects;

/**
 * A USB transfer or request failed. {@link #kind()} says how, so the protocol engine can react to a
 * halted endpoint, a detached device or a timeout differently; {@link #transferred()} says how many
 * bytes moved before the failure.
 */
public class UsbException extends Exception {
    private static final long serialVersionUID = 1L;

    /** How a USB operation failed. */
    public enum Kind {
        /** The transfer did not complete within its timeout. */
        TIMEOUT,
        /** The endpoint is halted (the device answered STALL); it stays so until a clear-halt. */
        STALL,
        /** The device is gone: unplugged, powered off, or reset. */
        NO_DEVICE,
        /** The interface is claimed by someone else: another process, handle or a kernel driver. */
        BUSY,
        /** The operating system refused access (permissions). */
        ACCESS,
        /** The device sent more than the transfer had room for. */
        OVERFLOW,
        /** This handle was closed, possibly by another thread while the transfer waited. */
        CLOSED,
        /** Any other failure of the USB stack. */
        IO
    }

    private final Kind kind;
    private final int transferred;

    /**
     * @param kind how it failed
     * @param message what failed, for people
     * @param transferred how many bytes moved before the failure
     */
    public UsbException(Kind kind, String message, int transferred) {
        super(message);
        this.kind = Objects.requireNonNull(kind, "kind");
        this.transferred = transferred;
    }

    /**
     * @param kind how it failed
     * @param message what failed, for people
     */
    public UsbException(Kind kind, String message) {
        this(kind, message, 0);
    }

    /** @return how the operation failed */
    public Kind kind() {
        return kind;
    }

    /** @return how many bytes moved before the failure */
    public int transferred() {
        return transferred;
    }
}
