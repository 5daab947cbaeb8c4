package org.labhal.transport.usbtmc.internal;

import java.time.Duration;

import org.labhal.transport.usbtmc.UsbDevice;
import org.labhal.transport.usbtmc.UsbException;

/** Clearing a halted endpoint on a release path, where an interrupt must not stop it. */
final class Halts {
    private Halts() {
    }

    /**
     * Clears the halt of {@code endpoint}; run it with {@link org.labhal.api.transport.Uninterruptibly}.
     *
     * @throws UsbException when it failed, also when an interrupt came anyway
     */
    static void clear(UsbDevice device, int endpoint, Duration timeout) throws UsbException {
        try {
            device.clearHalt(endpoint, timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UsbException(UsbException.Kind.IO, "interrupted while clearing the halt");
        }
    }
}
