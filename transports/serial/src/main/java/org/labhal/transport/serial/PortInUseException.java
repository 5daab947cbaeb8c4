package org.labhal.transport.serial;

import org.labhal.api.LabHalException;

/**
 * The serial port exists but is held by someone else: another process that locked it (as
 * jSerialComm, minicom or ModemManager do), or another connection in this Java process.
 * Serial ports carry one conversation at a time; share one session (or use
 * {@link org.labhal.api.lock.LockPolicy#SINGLE_CONNECTION}) instead of opening the port twice.
 */
public class PortInUseException extends LabHalException {
    private static final long serialVersionUID = 1L;
    private final String device;

    /**
     * @param message which resource, which device, and who holds it as far as known
     * @param device the device path that is busy, e.g. {@code /dev/ttyUSB0}
     */
    public PortInUseException(String message, String device) {
        super(message);
        this.device = device;
    }

    /**
     * @return the device path that is busy, e.g. {@code /dev/ttyUSB0} or {@code /dev/pts/3}
     */
    public String device() {
        return device;
    }
}
