package org.labhal.benchmarks.driver;

import java.util.Set;

import org.labhal.api.instrument.Identity;
import org.labhal.api.instrument.InstrumentModel;
import org.labhal.api.instrument.ScpiInstrument;
import org.labhal.api.lock.LockPolicy;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;

/**
 * The model of the driver bundle the runtime benchmark drops into the watched folder
 * ({@code org.labhal.benchmarks.runtime.DriverBundle} wraps this package into it at run time). It
 * matches only the identity the benchmark gives its simulator, {@value #MANUFACTURER},{@value #MODEL},
 * so that before the drop the instrument runs as an unknown model ({@code SHARED_BUFFER}) and after
 * it as this one ({@code INDEPENDENT_SESSIONS}). Its driver is the generic SCPI instrument itself.
 */
@Component(service = InstrumentModel.class, name = "org.labhal.model." + BenchDriverModel.NAME,
        property = InstrumentModel.NAME_PROPERTY + "=" + BenchDriverModel.NAME,
        configurationPolicy = ConfigurationPolicy.IGNORE)
public final class BenchDriverModel implements InstrumentModel {
    /** The model key, as the runtime logs it. */
    public static final String NAME = "labhal-bench-driver";
    public static final String MANUFACTURER = "LabHALBench";
    public static final String MODEL = "DROP-1";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "Benchmark driver: matches only the runtime benchmark's simulator";
    }

    @Override
    public int match(Identity identity) {
        return identity.manufacturerIs(MANUFACTURER) && identity.modelIs(MODEL) ? MODEL_MATCH : NO_MATCH;
    }

    @Override
    public LockPolicy lockPolicy() {
        return LockPolicy.INDEPENDENT_SESSIONS;
    }

    @Override
    public Set<Class<?>> driverTypes() {
        return Set.of();
    }

    @Override
    public Object createDriver(ScpiInstrument instrument) {
        return instrument;
    }
}
