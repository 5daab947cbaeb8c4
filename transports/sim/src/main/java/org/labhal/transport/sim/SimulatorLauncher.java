package org.labhal.transport.sim;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * Serves simulated instruments over a network protocol for as long as a runtime runs, as a framework
 * property lists them: {@code MODEL@PORT} items separated by spaces, e.g.
 * {@code labhal.simulators.hislip=SHARED@4880 SMW200A@4881}. A system property of the same name (a
 * {@code -D} on the java command line) wins over the framework's; an empty value serves nothing. The
 * transport bundles that have a simulator server (HiSLIP, VXI-11) each run one of these; a port that
 * cannot be bound is reported and skipped, the others still start.
 */
public final class SimulatorLauncher implements AutoCloseable {

    /**
     * One instrument to serve.
     *
     * @param model one of {@link SimulatedInstrument#models()}, upper case
     * @param port the port, 0 for any free one
     */
    public record Spec(String model, int port) {
        /**
         * @throws IllegalArgumentException for an unknown model or a port outside 0 to 65535
         */
        public Spec {
            Objects.requireNonNull(model, "model");
            model = model.toUpperCase(Locale.ROOT);
            if (!SimulatedInstrument.models().contains(model)) {
                throw new IllegalArgumentException("unknown simulated instrument model '" + model + "'; known models: "
                        + String.join(", ", SimulatedInstrument.models()));
            }
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port " + port + " is not 0 to 65535");
            }
        }
    }

    /** A server started for a {@link Spec}, and the resource string that reaches it. */
    public record Started(AutoCloseable server, String resource) {
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

    private SimulatorLauncher(List<Started> started) {
        this.started = started;
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
            return new SimulatorLauncher(started);
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
        return new SimulatorLauncher(started);
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

    /** Stops every server. Idempotent. */
    @Override
    public void close() {
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
