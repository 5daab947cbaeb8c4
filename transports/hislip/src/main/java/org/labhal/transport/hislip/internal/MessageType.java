package org.labhal.transport.hislip.internal;

/** The HiSLIP message types of IVI-6.1 (version 1.1, table "Message Type codes"), by their codes. */
public enum MessageType {
    INITIALIZE,
    INITIALIZE_RESPONSE,
    FATAL_ERROR,
    ERROR,
    ASYNC_LOCK,
    ASYNC_LOCK_RESPONSE,
    DATA,
    DATA_END,
    DEVICE_CLEAR_COMPLETE,
    DEVICE_CLEAR_ACKNOWLEDGE,
    ASYNC_REMOTE_LOCAL_CONTROL,
    ASYNC_REMOTE_LOCAL_RESPONSE,
    TRIGGER,
    INTERRUPTED,
    ASYNC_INTERRUPTED,
    ASYNC_MAXIMUM_MESSAGE_SIZE,
    ASYNC_MAXIMUM_MESSAGE_SIZE_RESPONSE,
    ASYNC_INITIALIZE,
    ASYNC_INITIALIZE_RESPONSE,
    ASYNC_DEVICE_CLEAR,
    ASYNC_SERVICE_REQUEST,
    ASYNC_STATUS_QUERY,
    ASYNC_STATUS_RESPONSE,
    ASYNC_DEVICE_CLEAR_ACKNOWLEDGE,
    ASYNC_LOCK_INFO,
    ASYNC_LOCK_INFO_RESPONSE;

    private static final MessageType[] BY_CODE = values();

    /** @return the code sent on the wire: the ordinal, as the spec numbers them 0 to 25 */
    public int code() {
        return ordinal();
    }

    /** @return whether messages of this type carry instrument data (Data, DataEND) */
    public boolean carriesData() {
        return this == DATA || this == DATA_END;
    }

    /**
     * @param code a message type byte, 0 to 255
     * @return the type, or {@code null} for codes this implementation does not know (26-127 are
     *         reserved or HiSLIP 2.0 security messages, 128-255 vendor-specific)
     */
    public static MessageType of(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
