package org.labhal.driver.sim.internal;

import java.util.Set;

import org.labhal.api.instrument.Identity;
import org.labhal.api.instrument.InstrumentModel;
import org.labhal.api.instrument.ModelQuirks;
import org.labhal.api.instrument.ScpiInstrument;
import org.labhal.api.instrument.SignalGenerator;
import org.labhal.api.lock.LockPolicy;
import org.labhal.driver.rs.smw.SmwSignalGenerator;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;

/**
 * The SIM transport's SMW200A-style generator ({@code SIM::SMW200A::<n>::INSTR}, {@code *IDN?}
 * {@code LabHAL,SMW200A-SIM,<serial>,1.0}): independent sessions like the real SMW200A, and the real
 * SMW driver, whose command set it simulates.
 */
// No configuration: a model describes instruments, the runtime configures them.
@Component(service = InstrumentModel.class, name = "org.labhal.model." + SimSmw200aModel.NAME,
        property = InstrumentModel.NAME_PROPERTY + "=" + SimSmw200aModel.NAME,
        configurationPolicy = ConfigurationPolicy.IGNORE)
public final class SimSmw200aModel implements InstrumentModel {
    static final String NAME = "labhal-smw200a-sim";
    static final ModelQuirks QUIRKS = SimQuirks.BASE.withOpcPolling(true);

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "Simulated SMW200A-style signal generator (SIM transport)";
    }

    @Override
    public int match(Identity identity) {
        return identity.manufacturerIs("LabHAL") && identity.modelIs("SMW200A-SIM") ? MODEL_MATCH : NO_MATCH;
    }

    @Override
    public LockPolicy lockPolicy() {
        return LockPolicy.INDEPENDENT_SESSIONS;
    }

    @Override
    public ModelQuirks quirks() {
        return QUIRKS;
    }

    @Override
    public Set<Class<?>> driverTypes() {
        return Set.of(SignalGenerator.class);
    }

    @Override
    public SignalGenerator createDriver(ScpiInstrument instrument) {
        return new SmwSignalGenerator(instrument);
    }
}
