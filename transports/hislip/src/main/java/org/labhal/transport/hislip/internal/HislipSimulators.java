package org.labhal.transport.hislip.internal;

import org.labhal.api.TransportKind;
import org.labhal.api.transport.TransportFactory;
import org.labhal.server.ServerLog;
import org.labhal.transport.hislip.server.HislipServer;
import org.labhal.transport.sim.SimulatorLauncher;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * Serves the simulated instruments the framework property {@value #PROPERTY} lists over HiSLIP on
 * loopback, e.g. {@code SHARED@4880 SMW200A@4881} (the executable jar's default), while this bundle is
 * active; see {@link SimulatorLauncher} for the format. Unset or empty: nothing is served.
 * <p>
 * The simulated instruments come from the SIM transport bundle, an optional import of this one: the
 * reference to its transport service keeps this component inactive, and its classes unloaded, on a
 * system without it.
 */
@Component(service = {}, immediate = true)
public final class HislipSimulators {
    /** The framework property listing what to serve. */
    public static final String PROPERTY = "labhal.simulators.hislip";

    private final SimulatorLauncher launcher;

    /**
     * @param context reads the property
     * @param logger reports each server started or refused
     * @param simulated the SIM transport, present when the simulated instruments are
     */
    @Activate
    public HislipSimulators(BundleContext context, @Reference(service = LoggerFactory.class) Logger logger,
            @Reference(target = "(" + TransportFactory.KINDS_PROPERTY + "=SIM)") TransportFactory simulated) {
        launcher = SimulatorLauncher.launch(PROPERTY, context::getProperty, "HiSLIP", spec -> {
            HislipServer server = HislipServer.builder(spec.model()).port(spec.port())
                    .log(ServerLog.of(logger::warn, logger::info)).start();
            return new SimulatorLauncher.Started(server, server.resource(),
                    SimulatorLauncher.identify(server.instrument()));
        }, logger::info, logger::error).publish(context, TransportKind.HISLIP);
    }

    /** Stops the servers: their sessions end, clients see the connection closed. */
    @Deactivate
    public void deactivate() {
        launcher.close();
    }
}
