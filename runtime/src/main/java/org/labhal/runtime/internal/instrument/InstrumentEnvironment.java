package org.labhal.runtime.internal.instrument;

import org.labhal.api.SessionFactory;
import org.labhal.runtime.internal.trace.Traces;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * What every configured instrument shares, handed to each {@link InstrumentComponent} as one
 * reference. SCR opens a service tracker, with its filter, for every reference of every component
 * instance and re-evaluates the targets at every configuration event: with seven references for each
 * of a thousand instruments, that bookkeeping was the larger part of the time a lab's configurations
 * took to become instruments. The pieces are static, mandatory references here as they were there, so
 * a piece that goes (the API bundle with the session factory, say) still deactivates every instrument.
 * Immutable.
 */
@Component(service = InstrumentEnvironment.class)
public final class InstrumentEnvironment {
    private final SessionFactory sessions;
    private final ModelCatalog catalog;
    private final InstrumentDirectory directory;
    private final ServedConnections served;
    private final ConnectGuard guard;
    private final InstrumentWorkers workers;
    private final Traces traces;

    /**
     * @param sessions opens sessions
     * @param catalog the installed models
     * @param directory the running instruments, where ids are claimed
     * @param served what the runtime knows of the connections each resource serves
     * @param guard bounds the steps of connecting
     * @param workers the threads the instruments' connection work shares
     * @param traces every instrument's trace and statistics
     */
    @Activate
    public InstrumentEnvironment(@Reference SessionFactory sessions, @Reference ModelCatalog catalog,
            @Reference InstrumentDirectory directory, @Reference ServedConnections served,
            @Reference ConnectGuard guard, @Reference InstrumentWorkers workers, @Reference Traces traces) {
        this.sessions = sessions;
        this.catalog = catalog;
        this.directory = directory;
        this.served = served;
        this.guard = guard;
        this.workers = workers;
        this.traces = traces;
    }

    SessionFactory sessions() {
        return sessions;
    }

    ModelCatalog catalog() {
        return catalog;
    }

    InstrumentDirectory directory() {
        return directory;
    }

    ServedConnections served() {
        return served;
    }

    ConnectGuard guard() {
        return guard;
    }

    InstrumentWorkers workers() {
        return workers;
    }

    Traces traces() {
        return traces;
    }
}
