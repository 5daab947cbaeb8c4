package org.labhal.transport.vxi11.internal;

/**
 * Numbers of the VXI-11 core and abort channels (VXI-11 rev. 1.0, appendix C), shared by client and
 * simulator.
 */
public final class Vxi11Protocol {
    public static final int CORE_PROGRAM = 0x0607AF;
    public static final int CORE_VERSION = 1;
    /** The abort channel (DEVICE_ASYNC): its own TCP connection to the port create_link names. */
    public static final int ASYNC_PROGRAM = 0x0607B0;
    public static final int ASYNC_VERSION = 1;

    /** DEVICE_ASYNC procedure 1: ends the link's call in progress with error 23. */
    public static final int DEVICE_ABORT = 1;

    public static final int CREATE_LINK = 10;
    public static final int DEVICE_WRITE = 11;
    public static final int DEVICE_READ = 12;
    public static final int DEVICE_READSTB = 13;
    public static final int DEVICE_TRIGGER = 14;
    public static final int DEVICE_CLEAR = 15;
    public static final int DEVICE_REMOTE = 16;
    public static final int DEVICE_LOCAL = 17;
    public static final int DEVICE_LOCK = 18;
    public static final int DEVICE_UNLOCK = 19;
    public static final int DEVICE_ENABLE_SRQ = 20;
    public static final int DEVICE_DOCMD = 22;
    public static final int DESTROY_LINK = 23;
    public static final int CREATE_INTR_CHAN = 25;
    public static final int DESTROY_INTR_CHAN = 26;

    /** Device_Flags: wait for the lock up to lock_timeout instead of failing at once. */
    public static final int FLAG_WAITLOCK = 1;
    /** Device_Flags: the last byte of a device_write carries END. */
    public static final int FLAG_END = 8;
    /** Device_Flags: device_read stops after termChar. */
    public static final int FLAG_TERMCHRSET = 128;

    /** device_read reason: requestSize bytes were transferred. */
    public static final int REASON_REQCNT = 1;
    /** device_read reason: the termination character was transferred. */
    public static final int REASON_CHR = 2;
    /** device_read reason: the last byte carried END. */
    public static final int REASON_END = 4;

    public static final int ERR_NONE = 0;
    public static final int ERR_SYNTAX = 1;
    public static final int ERR_DEVICE_NOT_ACCESSIBLE = 3;
    public static final int ERR_INVALID_LINK = 4;
    public static final int ERR_PARAMETER = 5;
    public static final int ERR_NOT_SUPPORTED = 8;
    public static final int ERR_LOCKED = 11;
    public static final int ERR_NO_LOCK = 12;
    public static final int ERR_IO_TIMEOUT = 15;
    public static final int ERR_IO = 17;
    public static final int ERR_ABORT = 23;

    /** Longest device name a create_link may carry. */
    public static final int MAX_DEVICE_NAME = 256;

    private Vxi11Protocol() {
    }

    /**
     * The procedure's name in the specification, for messages. The numbers of the two programs do not
     * overlap, so one table serves both.
     */
    public static String name(int procedure) {
        return switch (procedure) {
            case DEVICE_ABORT -> "device_abort";
            case CREATE_LINK -> "create_link";
            case DEVICE_WRITE -> "device_write";
            case DEVICE_READ -> "device_read";
            case DEVICE_READSTB -> "device_readstb";
            case DEVICE_TRIGGER -> "device_trigger";
            case DEVICE_CLEAR -> "device_clear";
            case DEVICE_REMOTE -> "device_remote";
            case DEVICE_LOCAL -> "device_local";
            case DEVICE_LOCK -> "device_lock";
            case DEVICE_UNLOCK -> "device_unlock";
            case DEVICE_ENABLE_SRQ -> "device_enable_srq";
            case DEVICE_DOCMD -> "device_docmd";
            case DESTROY_LINK -> "destroy_link";
            case CREATE_INTR_CHAN -> "create_intr_chan";
            case DESTROY_INTR_CHAN -> "destroy_intr_chan";
            default -> "procedure " + procedure;
        };
    }
}
