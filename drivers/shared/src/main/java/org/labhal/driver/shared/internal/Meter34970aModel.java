package org.labhal.driver.shared.internal;

import org.labhal.api.instrument.Identity;
import org.labhal.api.instrument.InstrumentModel;
import org.labhal.driver.shared.ScpiMultimeter;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;

/**
 * The HP/Agilent/Keysight 34970A and 34972A data acquisition / switch units: a multimeter behind a
 * scanner, measured by channel ({@code (@101)}), with no front input.
 */
// No configuration: a model describes instruments, the runtime configures them.
@Component(service = InstrumentModel.class, name = "org.labhal.model." + Meter34970aModel.NAME,
        property = InstrumentModel.NAME_PROPERTY + "=" + Meter34970aModel.NAME,
        configurationPolicy = ConfigurationPolicy.IGNORE)
public final class Meter34970aModel extends SharedBufferMeterModel {
    static final String NAME = "keysight-34970a";

    /** Creates the model; DS calls this. */
    public Meter34970aModel() {
        super(ScpiMultimeter.Inputs.SCANNER);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "HP/Agilent/Keysight 34970A/34972A data acquisition switch unit";
    }

    @Override
    public int match(Identity identity) {
        return identity.manufacturerIs(MAKERS) && identity.modelIs("34970A", "34972A") ? MODEL_MATCH : NO_MATCH;
    }
}
