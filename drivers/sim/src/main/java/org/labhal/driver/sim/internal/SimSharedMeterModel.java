package org.labhal.driver.sim.internal;

import java.util.Set;

import org.labhal.api.instrument.Identity;
import org.labhal.api.instrument.InstrumentModel;
import org.labhal.api.instrument.ModelQuirks;
import org.labhal.api.instrument.Multimeter;
import org.labhal.api.instrument.ScpiInstrument;
import org.labhal.api.lock.LockPolicy;
import org.labhal.driver.shared.ScpiMultimeter;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;

/**
 * The SIM transport's shared-buffer meter ({@code SIM::SHARED::<n>::INSTR}, {@code *IDN?}
 * {@code LabHAL,SHARED-SIM,<serial>,1.0}; channel n reads n mV): one buffer and one status register
 * for all sessions, hence one lock, no OPC polling and the instrument-side lock where the transport has
 * one, driven by the shared-buffer meter driver.
 */
// No configuration: a model describes instruments, the runtime configures them.
@Component(service = InstrumentModel.class, name = "org.labhal.model." + SimSharedMeterModel.NAME,
        property = InstrumentModel.NAME_PROPERTY + "=" + SimSharedMeterModel.NAME,
        configurationPolicy = ConfigurationPolicy.IGNORE)
public final class SimSharedMeterModel implements InstrumentModel {
    static final String NAME = "labhal-shared-sim";
    // Shared buffers: where it is served over VXI-11 or HiSLIP, every step also holds the instrument-side
    // lock, which keeps other processes' steps out, as with the real meters of drivers/shared.
    static final ModelQuirks QUIRKS = SimQuirks.BASE.withOpcPolling(false).withInstrumentLock(true);

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "Simulated shared-buffer multimeter with scanner (SIM transport)";
    }

    @Override
    public int match(Identity identity) {
        return identity.manufacturerIs("LabHAL") && identity.modelIs("SHARED-SIM") ? MODEL_MATCH : NO_MATCH;
    }

    @Override
    public LockPolicy lockPolicy() {
        return LockPolicy.SHARED_BUFFER;
    }

    @Override
    public ModelQuirks quirks() {
        return QUIRKS;
    }

    @Override
    public Set<Class<?>> driverTypes() {
        return Set.of(Multimeter.class);
    }

    @Override
    public Multimeter createDriver(ScpiInstrument instrument) {
        return new ScpiMultimeter(instrument, ScpiMultimeter.Inputs.FRONT_AND_SCANNER);
    }
}
