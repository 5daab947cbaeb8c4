package org.labhal.driver.shared.internal;

import java.time.Duration;
import java.util.Set;

import org.labhal.api.instrument.InstrumentModel;
import org.labhal.api.instrument.ModelQuirks;
import org.labhal.api.instrument.Multimeter;
import org.labhal.api.instrument.ScpiInstrument;
import org.labhal.api.lock.LockPolicy;
import org.labhal.driver.shared.ScpiMultimeter;

/**
 * What every meter model of this bundle has in common: one set of I/O buffers and status registers for
 * every controller that reaches it, hence {@link LockPolicy#SHARED_BUFFER}, no OPC polling, the
 * instrument-side lock where the transport has one, and the
 * {@link ScpiMultimeter} driver. Subclasses say which instruments they match and which inputs they have.
 */
abstract class SharedBufferMeterModel implements InstrumentModel {
    /** Manufacturer spellings over the years of these product lines. */
    static final String[] MAKERS = { "HEWLETT-PACKARD", "Agilent Technologies", "Keysight Technologies" };

    /**
     * Error checking on: a refused command is otherwise silent and the next query would time out. 10 s I/O
     * timeout, for measurements at long integration times and scans over many channels. No OPC polling:
     * the status registers are shared by every session, so another session's {@code *ESR?} would clear the
     * bit we wait for; wait with {@code *OPC?} under the lock instead, which a shared buffer needs anyway.
     * The instrument-side lock on every step where the transport has one (the 34972A's VXI-11 over LAN):
     * the buffers are shared with every other computer on the network too, which our lock cannot reach.
     */
    static final ModelQuirks QUIRKS = ModelQuirks.defaults().withIoTimeout(Duration.ofSeconds(10))
            .withErrorChecking(true).withOpcTimeout(Duration.ofSeconds(60)).withOpcPolling(false)
            .withInstrumentLock(true);

    private final ScpiMultimeter.Inputs inputs;

    SharedBufferMeterModel(ScpiMultimeter.Inputs inputs) {
        this.inputs = inputs;
    }

    @Override
    public final LockPolicy lockPolicy() {
        return LockPolicy.SHARED_BUFFER;
    }

    @Override
    public final ModelQuirks quirks() {
        return QUIRKS;
    }

    @Override
    public final Set<Class<?>> driverTypes() {
        return Set.of(Multimeter.class);
    }

    @Override
    public final Multimeter createDriver(ScpiInstrument instrument) {
        return new ScpiMultimeter(instrument, inputs);
    }
}
