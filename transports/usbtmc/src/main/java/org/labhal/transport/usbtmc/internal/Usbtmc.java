package org.labhal.transport.usbtmc.internal;

/**
 * Numbers of the USBTMC 1.0 and USB488 1.0 specifications that both sides of the wire use: message
 * ids of the Bulk-OUT / Bulk-IN headers, class requests, status values, capability bits.
 */
public final class Usbtmc {
    private Usbtmc() {
    }

    /** Every bulk message starts with this many header bytes. */
    public static final int HEADER_SIZE = 12;

    // Bulk-OUT MsgIDs (USBTMC table 2, USB488 table 3)
    public static final int DEV_DEP_MSG_OUT = 1;
    public static final int REQUEST_DEV_DEP_MSG_IN = 2;
    public static final int VENDOR_SPECIFIC_OUT = 126;
    public static final int REQUEST_VENDOR_SPECIFIC_IN = 127;
    public static final int TRIGGER = 128;
    // Bulk-IN MsgIDs
    public static final int DEV_DEP_MSG_IN = 2;

    /** bmTransferAttributes bit 0 of DEV_DEP_MSG_OUT / DEV_DEP_MSG_IN: the transfer ends the message. */
    public static final int ATTR_EOM = 0x01;
    /** bmTransferAttributes bit 1 of REQUEST_DEV_DEP_MSG_IN: end the transfer at TermChar. */
    public static final int ATTR_TERM_CHAR_ENABLED = 0x02;
    /** bmTransferAttributes bit 1 of DEV_DEP_MSG_IN: the transfer ended at TermChar. */
    public static final int ATTR_TERM_CHAR_MATCHED = 0x02;

    // Class requests (USBTMC table 15, USB488 table 9)
    public static final int INITIATE_ABORT_BULK_OUT = 1;
    public static final int CHECK_ABORT_BULK_OUT_STATUS = 2;
    public static final int INITIATE_ABORT_BULK_IN = 3;
    public static final int CHECK_ABORT_BULK_IN_STATUS = 4;
    public static final int INITIATE_CLEAR = 5;
    public static final int CHECK_CLEAR_STATUS = 6;
    public static final int GET_CAPABILITIES = 7;
    public static final int INDICATOR_PULSE = 64;
    public static final int READ_STATUS_BYTE = 128;
    public static final int REN_CONTROL = 160;
    public static final int GO_TO_LOCAL = 161;
    public static final int LOCAL_LOCKOUT = 162;

    // USBTMC_status values (USBTMC table 16, USB488 table 10)
    public static final int STATUS_SUCCESS = 0x01;
    public static final int STATUS_PENDING = 0x02;
    public static final int STATUS_INTERRUPT_IN_BUSY = 0x20;
    public static final int STATUS_FAILED = 0x80;
    public static final int STATUS_TRANSFER_NOT_IN_PROGRESS = 0x81;
    public static final int STATUS_SPLIT_NOT_IN_PROGRESS = 0x82;
    public static final int STATUS_SPLIT_IN_PROGRESS = 0x83;

    /** Length of the GET_CAPABILITIES response. */
    public static final int CAPABILITIES_SIZE = 0x18;
    /** Standard CLEAR_FEATURE request and ENDPOINT_HALT feature selector (USB 2.0 chapter 9). */
    public static final int CLEAR_FEATURE = 1;
    public static final int ENDPOINT_HALT = 0;

    /** USB interface class and subclass of USBTMC, protocol of USB488. */
    public static final int INTERFACE_CLASS = 0xFE;
    public static final int INTERFACE_SUBCLASS = 0x03;
    public static final int PROTOCOL_USB488 = 1;

    /**
     * Writes a bulk header.
     *
     * @param b at least {@link #HEADER_SIZE} bytes
     * @param msgId the MsgID
     * @param tag bTag 1 to 255
     * @param transferSize bytes of message data after the header (or asked for)
     * @param attributes bmTransferAttributes
     * @param termChar TermChar of REQUEST_DEV_DEP_MSG_IN, else 0
     */
    public static void header(byte[] b, int msgId, int tag, long transferSize, int attributes, int termChar) {
        b[0] = (byte) msgId;
        b[1] = (byte) tag;
        b[2] = (byte) ~tag;
        b[3] = 0;
        b[4] = (byte) transferSize;
        b[5] = (byte) (transferSize >>> 8);
        b[6] = (byte) (transferSize >>> 16);
        b[7] = (byte) (transferSize >>> 24);
        b[8] = (byte) attributes;
        b[9] = (byte) termChar;
        b[10] = 0;
        b[11] = 0;
    }

    /** @return the unsigned 32-bit little-endian number at {@code offset} */
    public static long uint32(byte[] b, int offset) {
        return (b[offset] & 0xFFL) | (b[offset + 1] & 0xFFL) << 8 | (b[offset + 2] & 0xFFL) << 16
                | (b[offset + 3] & 0xFFL) << 24;
    }

    /** @return whether byte 2 of a header is the bitwise inverse of byte 1 */
    public static boolean tagInverseMatches(byte[] b, int offset) {
        return (byte) ~b[offset + 1] == b[offset + 2];
    }

    /** @return {@code n} rounded up to a multiple of 4 (the alignment of bulk messages) */
    public static int align4(int n) {
        return (n + 3) & ~3;
    }

    /** @return the name of a USBTMC_status value, for messages */
    public static String status(int status) {
        return switch (status) {
            case STATUS_SUCCESS -> "STATUS_SUCCESS";
            case STATUS_PENDING -> "STATUS_PENDING";
            case STATUS_INTERRUPT_IN_BUSY -> "STATUS_INTERRUPT_IN_BUSY";
            case STATUS_FAILED -> "STATUS_FAILED";
            case STATUS_TRANSFER_NOT_IN_PROGRESS -> "STATUS_TRANSFER_NOT_IN_PROGRESS";
            case STATUS_SPLIT_NOT_IN_PROGRESS -> "STATUS_SPLIT_NOT_IN_PROGRESS";
            case STATUS_SPLIT_IN_PROGRESS -> "STATUS_SPLIT_IN_PROGRESS";
            default -> String.format("status 0x%02X", status);
        };
    }
}
