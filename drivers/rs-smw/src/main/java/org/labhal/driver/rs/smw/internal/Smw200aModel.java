package org.labhal.driver.rs.smw.internal;

import java.time.Duration;
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
 * The R&amp;S SMW200A: every remote session (VXI-11 link, HiSLIP session, socket) has its own input
 * buffer, output queue, error queue and status registers, so sessions need no common lock.
 */
// No configuration: a model describes instruments, the runtime configures them.
@Component(service = InstrumentModel.class, name = "org.labhal.model." + Smw200aModel.NAME,
        property = InstrumentModel.NAME_PROPERTY + "=" + Smw200aModel.NAME,
        configurationPolicy = ConfigurationPolicy.IGNORE)
public final class Smw200aModel implements InstrumentModel {
    /** The model key, for the {@code model} override of an instrument configuration. */
    static final String NAME = "rs-smw200a";

    /**
     * Error checking on, as R&amp;S's own drivers default to: a refused setting is otherwise silent. 10 s
     * I/O timeout, room for a query queued behind settings that retune the instrument; 60 s for overlapped
     * operations such as {@code *RST} of a fully optioned unit. Completion is polled: the status registers
     * are per session, so no other session clears the bit we wait for.
     */
    static final ModelQuirks QUIRKS = ModelQuirks.defaults().withIoTimeout(Duration.ofSeconds(10))
            .withErrorChecking(true).withOpcTimeout(Duration.ofSeconds(60)).withOpcPolling(true);

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "Rohde & Schwarz SMW200A vector signal generator";
    }

    @Override
    public int match(Identity identity) {
        return identity.manufacturerIs("Rohde&Schwarz") && identity.modelIs("SMW200A") ? MODEL_MATCH : NO_MATCH;
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
