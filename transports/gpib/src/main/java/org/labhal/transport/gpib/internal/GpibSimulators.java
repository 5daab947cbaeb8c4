package org.labhal.transport.gpib.internal;

import java.util.List;
import java.util.Map;

import org.labhal.api.transport.TransportFactory;
import org.labhal.transport.gpib.PrologixSimulator;
import org.labhal.transport.sim.SimulatorLauncher;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * Serves a simulated GPIB bus while this bundle is active: a {@link PrologixSimulator} on loopback TCP
 * with the instruments the framework property {@value #PROPERTY} lists as {@code MODEL@ADDRESS} items
 * (e.g. {@code SMW200A@5 SHARED@22}), offered to this runtime as board {@value #BOARD_PROPERTY} (default 0)
 * with a short read timeout and opted in to discovery's scan, so that {@code GPIB0::22::INSTR} reaches the
 * simulated meter and {@code instr:discover gpib} finds it quickly. The controller listens on port {@value #PORT_PROPERTY} (default: a free one). Unset
 * or empty: nothing is served. A board configured as well with the same number is refused by the transport
 * as configured twice: set {@value #BOARD_PROPERTY} to another number, or serve none.
 */
@Component(service = {}, immediate = true)
public final class GpibSimulators {
    /** The framework property listing the instruments on the simulated bus. */
    public static final String PROPERTY = "labhal.simulators.gpib";
    /** The framework property naming the board number the simulated bus is offered as. */
    public static final String BOARD_PROPERTY = "labhal.simulators.gpib.board";
    /** The framework property naming the simulated controller's TCP port. */
    public static final String PORT_PROPERTY = "labhal.simulators.gpib.port";
    /** The simulated controller's {@code ++read_tmo_ms}: an empty address costs a scan only this long. */
    static final int READ_TIMEOUT_MS = 10;

    private final PrologixSimulator simulator;
    private final ServiceRegistration<GpibBoard> registration;

    /**
     * @param context reads the properties and offers the board
     * @param logger reports what is served, or why nothing is
     * @param simulated the SIM transport, present when the simulated instruments are
     */
    @Activate
    public GpibSimulators(BundleContext context, @Reference(service = LoggerFactory.class) Logger logger,
            @Reference(target = "(" + TransportFactory.KINDS_PROPERTY + "=SIM)") TransportFactory simulated) {
        PrologixSimulator started = null;
        ServiceRegistration<GpibBoard> offered = null;
        String value = property(context, PROPERTY, "");
        try {
            List<SimulatorLauncher.Spec> specs = SimulatorLauncher.parse(PROPERTY, value);
            if (!specs.isEmpty()) {
                int board = Integer.parseInt(property(context, BOARD_PROPERTY, "0").strip());
                int port = Integer.parseInt(property(context, PORT_PROPERTY, "0").strip());
                PrologixSimulator.Builder builder = PrologixSimulator.builder().port(port);
                for (SimulatorLauncher.Spec spec : specs) {
                    builder.instrument(spec.port(), spec.model());
                }
                started = builder.start();
                offered = context.registerService(GpibBoard.class, new GpibBoard(Map.of("service.pid", PROPERTY,
                        "board", board, "controller", "TCPIP::127.0.0.1::" + started.port() + "::SOCKET",
                        "read_tmo_ms", READ_TIMEOUT_MS, "scan", true)), null);
                for (SimulatorLauncher.Spec spec : specs) {
                    logger.info("Serving the simulated {} over GPIB at GPIB{}::{}::INSTR (a Prologix-style controller "
                            + "on 127.0.0.1:{})", spec.model(), board, spec.port(), started.port());
                }
            }
        } catch (Exception e) { // a bad property or a port taken: the rest of the bundle works on
            if (started != null) {
                started.close();
                started = null;
            }
            logger.error("Cannot serve the simulated GPIB bus ({}={}): {}", PROPERTY, value, e.getMessage());
        }
        simulator = started;
        registration = offered;
    }

    private static String property(BundleContext context, String key, String fallback) {
        String value = System.getProperty(key, context.getProperty(key));
        return value == null ? fallback : value;
    }

    /** Withdraws the board (its connections close) and stops the simulated controller. */
    @Deactivate
    public void deactivate() {
        if (registration != null) {
            registration.unregister();
        }
        if (simulator != null) {
            simulator.close();
        }
    }
}
