package org.labhal.transport.vxi11.internal;

import org.labhal.api.TransportKind;
import org.labhal.api.transport.TransportFactory;
import org.labhal.server.ServerLog;
import org.labhal.transport.sim.SimulatorLauncher;
import org.labhal.transport.vxi11.sim.Vxi11SimServer;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * Serves the simulated instruments the framework property {@value #PROPERTY} lists over VXI-11 on
 * loopback, e.g. {@code SHARED@111} (the executable jar's default): the port is that of the server's
 * own portmapper (111 is the standard one, which standard clients such as PyVISA-py and {@code lxi}
 * ask; binding it needs root), the core channel takes any free port. One portmapper serves one
 * instrument here. See {@link SimulatorLauncher} for the format. Unset or empty: nothing is served.
 * <p>
 * The simulated instruments come from the SIM transport bundle, an optional import of this one: the
 * reference to its transport service keeps this component inactive, and its classes unloaded, on a
 * system without it.
 */
@Component(service = {}, immediate = true)
public final class Vxi11Simulators {
    /** The framework property listing what to serve. */
    public static final String PROPERTY = "labhal.simulators.vxi11";

    private final SimulatorLauncher launcher;

    /**
     * @param context reads the property
     * @param logger reports each server started or refused
     * @param simulated the SIM transport, present when the simulated instruments are
     */
    @Activate
    public Vxi11Simulators(BundleContext context, @Reference(service = LoggerFactory.class) Logger logger,
            @Reference(target = "(" + TransportFactory.KINDS_PROPERTY + "=SIM)") TransportFactory simulated) {
        launcher = SimulatorLauncher.launch(PROPERTY, context::getProperty, "VXI-11", spec -> {
            Vxi11SimServer server = Vxi11SimServer.builder(spec.model()).portmapperPort(spec.port())
                    .log(ServerLog.of(logger::warn, logger::info)).start();
            return new SimulatorLauncher.Started(server, server.resource(),
                    SimulatorLauncher.identify(server.instrument()));
        }, logger::info, logger::error).publish(context, TransportKind.VXI11);
    }

    /** Stops the servers: their sessions end, clients see the connection closed. */
    @Deactivate
    public void deactivate() {
        launcher.close();
    }
}
