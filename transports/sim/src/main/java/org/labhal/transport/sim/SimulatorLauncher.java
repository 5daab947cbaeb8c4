package org.labhal.transport.sim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportKind;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * Serves simulated instruments over a network protocol for as long as a runtime runs, as a framework
 * property lists them: {@code MODEL@PORT} items separated by spaces, e.g.
 * {@code labhal.simulators.hislip=SHARED@4880 SMW200A@4881}, and {@code REPLAY:<recording>@PORT} for a replay of
 * {@code <recording>.jsonl} from the {@link SimulatedInstrument#recordingsFolder folder of recordings}, e.g.
 * {@code REPLAY:bench-a@5026}; a recording that is missing or bad is reported like a port that cannot be
 * bound. A system property of the same name (a
 * {@code -D} on the java command line) wins over the framework's; an empty value serves nothing. The
 * transport bundles that have a simulator server (HiSLIP, VXI-11) each run one of these; a port that
 * cannot be bound is reported and skipped, the others still start. With {@link #publish} each server started
 * is also an OSGi {@link ServedSimulator} service while it runs, which the LXI discovery bundle advertises by
 * mDNS.
 */
public final class SimulatorLauncher implements AutoCloseable {

    /**
     * One instrument to serve.
     *
     * @param model one of {@link SimulatedInstrument#models()}, upper case, or {@code REPLAY:<recording>} (the
     *        recording's name as written), which replays {@code <recording>.jsonl} from the
     *        {@link SimulatedInstrument#recordingsFolder folder of recordings}
     * @param port the port, 0 for any free one
     */
    public record Spec(String model, int port) {
        /**
         * @throws IllegalArgumentException for an unknown model or a port outside 0 to 65535
         */
        public Spec {
            model = InstrumentSimulator.checkModel(model);
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port " + port + " is not 0 to 65535");
            }
        }
    }

    /**
     * A server started for a {@link Spec}, the resource string that reaches it, and the instrument's
     * {@code *IDN?} answer (empty when unknown; see {@link SimulatorLauncher#identify}).
     */
    public record Started(AutoCloseable server, String resource, String identification) {
        /** A server whose instrument's identification is not known. */
        public Started(AutoCloseable server, String resource) {
            this(server, resource, "");
        }
    }

    /** Starts the protocol's server for one spec. */
    @FunctionalInterface
    public interface Starter {
        /**
         * @param spec what to serve where
         * @return the listening server
         * @throws IOException when the port cannot be bound
         */
        Started start(Spec spec) throws IOException;
    }

    private final List<Started> started;
    private final String protocol;
    private final List<ServiceRegistration<ServedSimulator>> published = new ArrayList<>();

    private SimulatorLauncher(List<Started> started, String protocol) {
        this.started = started;
        this.protocol = protocol;
    }

    /**
     * Reads the property and starts what it lists.
     *
     * @param property the property's name, e.g. {@code labhal.simulators.hislip}
     * @param framework the framework's properties, e.g. {@code BundleContext::getProperty}
     * @param protocol the protocol's name for the reports, e.g. {@code HiSLIP}
     * @param starter starts one server
     * @param info told of every server started, with its resource string
     * @param error told of a bad property value or a server that could not start
     * @return the servers started, none when the property is unset or empty
     */
    public static SimulatorLauncher launch(String property, UnaryOperator<String> framework, String protocol,
            Starter starter, Consumer<String> info, Consumer<String> error) {
        String value = System.getProperty(property, framework.apply(property));
        List<Started> started = new ArrayList<>();
        List<Spec> specs;
        try {
            specs = parse(property, value);
        } catch (IllegalArgumentException e) {
            error.accept(e.getMessage() + "; no simulated instrument is served over " + protocol);
            return new SimulatorLauncher(started, protocol);
        }
        for (Spec spec : specs) {
            try {
                Started one = starter.start(spec);
                started.add(one);
                info.accept("Serving the simulated " + spec.model() + " over " + protocol + " at " + one.resource());
            } catch (IOException | RuntimeException e) {
                error.accept("Cannot serve the simulated " + spec.model() + " over " + protocol + " on port "
                        + spec.port() + " (" + property + "): " + e.getMessage());
            }
        }
        return new SimulatorLauncher(started, protocol);
    }

    /**
     * @param property the property's name, for messages
     * @param value e.g. {@code SHARED@4880 SMW200A@4881}; {@code null} or blank for none
     * @return the specs, in order
     * @throws IllegalArgumentException naming the property and the bad item
     */
    public static List<Spec> parse(String property, String value) {
        List<Spec> specs = new ArrayList<>();
        if (value == null || value.isBlank()) {
            return specs;
        }
        for (String item : value.strip().split("[\\s,]+")) {
            int at = item.indexOf('@');
            try {
                if (at <= 0 || at == item.length() - 1) {
                    throw new IllegalArgumentException("expected MODEL@PORT");
                }
                specs.add(new Spec(item.substring(0, at), Integer.parseInt(item.substring(at + 1))));
            } catch (IllegalArgumentException e) { // NumberFormatException included
                throw new IllegalArgumentException(property + "=" + value + ": item '" + item + "' is not MODEL@PORT "
                        + "with a known model and a port, e.g. SHARED@4880 (" + e.getMessage() + ")", e);
            }
        }
        return specs;
    }

    /** @return the resource strings of the servers running */
    public List<String> resources() {
        return started.stream().map(Started::resource).toList();
    }

    /**
     * Publishes each server started as a {@link ServedSimulator} service until {@link #close()}, so that other
     * bundles can advertise it.
     *
     * @param context the registering bundle's context
     * @param kind how the servers are reached: {@code HISLIP}, {@code VXI11} or {@code SOCKET}
     * @return this launcher
     */
    public SimulatorLauncher publish(BundleContext context, TransportKind kind) {
        for (Started one : started) {
            ServedSimulator served = new ServedSimulator(kind, protocol, one.resource(), port(kind, one.resource()),
                    one.identification());
            synchronized (published) {
                published.add(context.registerService(ServedSimulator.class, served, null));
            }
        }
        return this;
    }

    /**
     * The port a client connects to first: HiSLIP's or the socket's, or the VXI-11 portmapper's (111 unless
     * given; 0 for a VXI-11 server without one, reached by {@code port=} only).
     */
    private static int port(TransportKind kind, String resource) {
        ResourceAddress address = ResourceAddress.parse(resource);
        if (kind == TransportKind.VXI11) {
            Map<String, String> options = address.options();
            String portmapper = options.get("portmapper");
            return portmapper != null ? Integer.parseInt(portmapper) : options.containsKey("port") ? 0 : 111;
        }
        return address.port().orElse(0);
    }

    /**
     * Asks an instrument for its {@code *IDN?} answer over a connection of its own. Call it right after its
     * server started, before its resource is announced: on {@code SHARED} a response goes to whoever reads
     * first, so a client talking to it meanwhile could take the answer (this then returns empty) or lose its
     * own.
     *
     * @return the answer without its terminator, or empty when the instrument does not answer within a second
     */
    public static String identify(SimulatedInstrument instrument) {
        byte[] query = "*IDN?\n".getBytes(StandardCharsets.US_ASCII);
        byte[] answer = new byte[256];
        try (SimConnection connection = instrument.connect()) {
            connection.write(query, 0, query.length, true);
            SimRead read = connection.read(answer, 0, answer.length, Duration.ofSeconds(1));
            return new String(answer, 0, read.count(), StandardCharsets.US_ASCII).strip();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        } catch (IOException | TimeoutException | RuntimeException e) {
            return "";
        }
    }

    /** Withdraws the services {@link #publish} registered, then stops every server. Idempotent. */
    @Override
    public void close() {
        synchronized (published) {
            for (ServiceRegistration<ServedSimulator> registration : published) {
                try {
                    registration.unregister();
                } catch (IllegalStateException e) {
                    // the bundle stopped first: the framework unregistered it
                }
            }
            published.clear();
        }
        for (Started one : started) {
            try {
                one.server().close();
            } catch (Exception e) {
                // a server that fails to close is closed enough: its port is released with its socket
            }
        }
        started.clear();
    }
}
