package org.labhal.itest.echodriver;

import java.util.Set;

import org.labhal.api.LabHalException;
import org.labhal.api.instrument.Identity;
import org.labhal.api.instrument.InstrumentModel;
import org.labhal.api.instrument.ScpiInstrument;
import org.labhal.api.lock.LockPolicy;
import org.labhal.itest.runtime.echo.Echo;
import org.osgi.service.component.annotations.Component;

/**
 * A model that only a configuration naming it ({@code model=labhal-echo-test}) uses: it matches no
 * identity, so it never takes over other instruments while the tests install and update it.
 */
@Component(service = InstrumentModel.class, property = InstrumentModel.NAME_PROPERTY + "=" + EchoModel.NAME)
public final class EchoModel implements InstrumentModel {
    static final String NAME = "labhal-echo-test";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "Test driver: SIM:ECHO? through a driver type (framework tests only)";
    }

    @Override
    public int match(Identity identity) {
        return NO_MATCH;
    }

    @Override
    public LockPolicy lockPolicy() {
        return LockPolicy.INDEPENDENT_SESSIONS;
    }

    @Override
    public Set<Class<?>> driverTypes() {
        return Set.of(Echo.class);
    }

    @Override
    public Object createDriver(ScpiInstrument instrument) {
        return new EchoDriver(instrument);
    }

    /** Each call is one query step on the runtime's session. */
    static final class EchoDriver implements Echo {
        private final ScpiInstrument instrument;

        EchoDriver(ScpiInstrument instrument) {
            this.instrument = instrument;
        }

        @Override
        public String echo(String token) throws LabHalException {
            return instrument.query("SIM:ECHO? " + token);
        }
    }
}
