package org.labhal.transport.sim.internal;

import org.labhal.api.TransportKind;
import org.labhal.server.ServerLog;
import org.labhal.transport.sim.SimServer;
import org.labhal.transport.sim.SimulatedInstrument;
import org.labhal.transport.sim.SimulatorLauncher;
import org.osgi.annotation.bundle.Capability;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * Serves the simulated instruments the framework property {@value #PROPERTY} lists as raw SCPI over TCP
 * on loopback ({@code TCPIP::127.0.0.1::<port>::SOCKET}), e.g. {@code SHARED@5025} (the executable
 * jar's default) or {@code REPLAY:bench-a@5026} (the recording {@code bench-a.jsonl} in the folder
 * {@value SimulatedInstrument#RECORDINGS_PROPERTY} names), while this bundle is active; see {@link SimulatorLauncher} for the format. Unset or
 * empty: nothing is served.
 */
@Component(service = {}, immediate = true)
// The servers are published as ServedSimulator services through SimulatorLauncher.publish, not by DS: say so
// for resolvers, so that a bundle that needs one (the LXI discovery's advertiser) resolves with this one.
@Capability(namespace = "osgi.service", attribute = "objectClass:List<String>=\"org.labhal.transport.sim.ServedSimulator\"")
public final class SocketSimulators {
    /** The framework property listing what to serve. */
    public static final String PROPERTY = "labhal.simulators.socket";

    private final SimulatorLauncher launcher;

    /**
     * @param context reads the property
     * @param logger reports each server started or refused
     */
    @Activate
    public SocketSimulators(BundleContext context, @Reference(service = LoggerFactory.class) Logger logger) {
        launcher = SimulatorLauncher.launch(PROPERTY, context::getProperty, "raw TCP", spec -> {
            SimServer server = SimServer.builder(spec.model()).port(spec.port()).log(ServerLog.of(logger::warn, logger::info))
                    .recordings(SimulatedInstrument.recordingsFolder(context::getProperty)).start();
            server.instrument().recording().ifPresent(recording -> logger.info("Replaying {}", recording));
            return new SimulatorLauncher.Started(server, server.resource(),
                    SimulatorLauncher.identify(server.instrument()));
        }, logger::info, logger::error).publish(context, TransportKind.SOCKET);
    }

    /** Stops the servers: clients see their connections closed. */
    @Deactivate
    public void deactivate() {
        launcher.close();
    }
}
