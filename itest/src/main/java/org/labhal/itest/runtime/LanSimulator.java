package org.labhal.itest.runtime;

import java.io.IOException;
import java.time.Duration;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportKind;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.InstrumentLocking;
import org.labhal.api.transport.TransportFactory;
import org.labhal.transport.hislip.HislipLockException;
import org.labhal.transport.hislip.server.HislipServer;
import org.labhal.transport.sim.SimSettings;
import org.labhal.transport.vxi11.Vxi11Exception;
import org.labhal.transport.vxi11.sim.Vxi11SimServer;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

/**
 * The protocols with an instrument-side lock, each serving a simulated model on loopback, and a way to
 * reach the instrument as another client would: a connection of its own straight from the transport,
 * outside every session lock of this framework, as another process or computer has.
 */
enum LanSimulator {
    HISLIP(TransportKind.HISLIP, HislipLockException.class) {
        @Override
        Served serve(String model, SimSettings settings) throws IOException {
            HislipServer server = HislipServer.builder(model).settings(settings).start();
            return new Served(server, server.resource());
        }
    },
    VXI11(TransportKind.VXI11, Vxi11Exception.class) {
        @Override
        Served serve(String model, SimSettings settings) throws IOException {
            Vxi11SimServer server = Vxi11SimServer.builder(model).settings(settings).start();
            return new Served(server, server.resource());
        }
    };

    /** A running simulator and the resource string that reaches it. */
    record Served(AutoCloseable server, String resource) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            server.close();
        }
    }

    private final TransportKind kind;
    private final Class<? extends LabHalException> lockHeldElsewhere;

    LanSimulator(TransportKind kind, Class<? extends LabHalException> lockHeldElsewhere) {
        this.kind = kind;
        this.lockHeldElsewhere = lockHeldElsewhere;
    }

    /**
     * @param model {@code SMW200A} or {@code SHARED}
     * @return the simulator with default timing, listening on a free loopback port
     * @throws IOException when it cannot listen
     */
    Served serve(String model) throws IOException {
        return serve(model, SimSettings.defaults());
    }

    /**
     * @param model {@code SMW200A} or {@code SHARED}
     * @param settings the simulator's timing and identity
     * @return the simulator, listening on a free loopback port
     * @throws IOException when it cannot listen
     */
    abstract Served serve(String model, SimSettings settings) throws IOException;

    /** @return what a step gets when another client holds the instrument-side lock */
    Class<? extends LabHalException> lockHeldElsewhere() {
        return lockHeldElsewhere;
    }

    /**
     * Opens a connection of another client: no session, no session lock.
     *
     * @param context finds the transport service
     * @param resource the instrument
     * @return the connection; it is an {@link InstrumentLocking}
     * @throws Exception when the transport is missing or the connection fails
     */
    Connection otherClient(BundleContext context, String resource) throws Exception {
        ServiceReference<TransportFactory> reference = transport(context);
        TransportFactory factory = context.getService(reference);
        try {
            return factory.open(ResourceAddress.parse(resource), Duration.ofSeconds(5));
        } finally {
            context.ungetService(reference);
        }
    }

    private ServiceReference<TransportFactory> transport(BundleContext context) throws InvalidSyntaxException {
        return context.getServiceReferences(TransportFactory.class,
                "(" + TransportFactory.KINDS_PROPERTY + "=" + kind + ")").stream().findFirst()
                .orElseThrow(() -> new AssertionError("no transport for " + kind));
    }
}
