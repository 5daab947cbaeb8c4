package org.labhal.driver.sim.internal;

import java.time.Duration;

import org.labhal.api.instrument.ModelQuirks;

/** The quirks both simulated models share; they differ only in OPC polling, as their real models do. */
final class SimQuirks {
    /**
     * Error checking on, like the real models. A simulator answers in microseconds, so a 2 s I/O timeout
     * reports a lost answer quickly in a demo; 10 s for overlapped operations (default 100 ms of
     * {@code INIT}, set with the resource option {@code op}).
     */
    static final ModelQuirks BASE = ModelQuirks.defaults().withIoTimeout(Duration.ofSeconds(2))
            .withErrorChecking(true).withOpcTimeout(Duration.ofSeconds(10));

    private SimQuirks() {
    }
}
