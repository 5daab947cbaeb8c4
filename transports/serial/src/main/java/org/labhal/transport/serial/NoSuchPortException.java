package org.labhal.transport.serial;

import org.labhal.api.LabHalException;

/**
 * No serial device exists at the path a resource names: never there, unplugged, or a
 * pseudo-terminal whose other side has gone.
 */
public class NoSuchPortException extends LabHalException {
    private static final long serialVersionUID = 1L;
    private final String device;

    /**
     * @param message which resource and which device path was looked for
     * @param device the device path that does not exist
     */
    public NoSuchPortException(String message, String device) {
        super(message);
        this.device = device;
    }

    /**
     * @return the device path that does not exist, e.g. {@code /dev/ttyUSB0}
     */
    public String device() {
        return device;
    }
}
