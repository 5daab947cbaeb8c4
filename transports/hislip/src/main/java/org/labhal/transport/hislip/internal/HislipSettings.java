package org.labhal.transport.hislip.internal;

import java.util.Map;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;

/**
 * What a {@code TCPIP::host::hislipN[,port]::INSTR?key=value} resource asks of its connection. Every
 * option is checked when the connection opens; a misspelt key or bad value fails the open.
 *
 * @param maxMessageSize the largest message (header included) this client accepts, announced in
 *        {@code AsyncMaximumMessageSize}; also the limit the decoder enforces on Data payloads
 */
record HislipSettings(long maxMessageSize) {
    static final long MIN_MESSAGE_SIZE = 256;
    static final long MAX_MESSAGE_SIZE = 1L << 30;
    static final HislipSettings DEFAULTS = new HislipSettings(1 << 20);

    static HislipSettings of(ResourceAddress address) throws LabHalException {
        HislipSettings s = DEFAULTS;
        for (Map.Entry<String, String> option : address.options().entrySet()) {
            if (!option.getKey().equals("max_message_size")) {
                throw new LabHalException("Unknown option '" + option.getKey() + "' in " + address.canonical()
                        + ": the HiSLIP transport knows max_message_size (bytes, " + MIN_MESSAGE_SIZE + " to "
                        + MAX_MESSAGE_SIZE + ")");
            }
            try {
                long size = Long.parseLong(option.getValue());
                if (size >= MIN_MESSAGE_SIZE && size <= MAX_MESSAGE_SIZE) {
                    s = new HislipSettings(size);
                    continue;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new LabHalException("Option max_message_size=" + option.getValue() + " in " + address.canonical()
                    + " is not a whole number of bytes from " + MIN_MESSAGE_SIZE + " to " + MAX_MESSAGE_SIZE);
        }
        return s;
    }
}
