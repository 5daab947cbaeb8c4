package org.labhal.driver.shared.internal;

import org.labhal.api.LabHalException;
import org.labhal.api.TransportKind;
import org.labhal.api.instrument.Identity;
import org.labhal.api.instrument.InstrumentModel;
import org.labhal.api.instrument.ScpiInstrument;
import org.labhal.driver.shared.ScpiMultimeter;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;

/**
 * The HP/Agilent/Keysight 34401A 6½-digit multimeter, on GPIB (directly or behind a LAN/GPIB gateway,
 * where every client shares its one buffer) or RS-232.
 */
// No configuration: a model describes instruments, the runtime configures them.
@Component(service = InstrumentModel.class, name = "org.labhal.model." + Meter34401aModel.NAME,
        property = InstrumentModel.NAME_PROPERTY + "=" + Meter34401aModel.NAME,
        configurationPolicy = ConfigurationPolicy.IGNORE)
public final class Meter34401aModel extends SharedBufferMeterModel {
    static final String NAME = "keysight-34401a";

    /** Creates the model; DS calls this. */
    public Meter34401aModel() {
        super(ScpiMultimeter.Inputs.FRONT);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "HP/Agilent/Keysight 34401A digital multimeter";
    }

    @Override
    public int match(Identity identity) {
        return identity.manufacturerIs(MAKERS) && identity.modelIs("34401A") ? MODEL_MATCH : NO_MATCH;
    }

    /**
     * On RS-232 the 34401A must be put in remote mode before anything else: its manual warns that
     * talking to it in local mode gives unpredictable results. GPIB does this by itself.
     */
    @Override
    public void prepare(ScpiInstrument instrument) throws LabHalException {
        if (instrument.session().address().kind() == TransportKind.SERIAL) {
            instrument.write("SYST:REM");
        }
    }
}
