package org.labhal.benchmarks.isolated;

import java.time.Duration;
import java.util.function.UnaryOperator;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.api.lock.LockPolicy;
import org.labhal.transport.hislip.internal.HislipTransportFactory;

/**
 * One LabHAL session over the HiSLIP transport, built with {@code new} as
 * {@code StandaloneSessions} builds it, behind JDK types only ({@link UnaryOperator},
 * {@link AutoCloseable}). That lets {@code IsolatedStack} load this class a second time in a class
 * loader of its own, against the API and HiSLIP transport jars of an older build, so that the old
 * and the new code run side by side in one JVM and one interleaved run. This package refers to
 * nothing else of the benchmarks.
 */
public final class HislipSessionStack implements UnaryOperator<String>, AutoCloseable {
    private final DefaultLockService locks = new DefaultLockService();
    private final DefaultSessionFactory sessions = new DefaultSessionFactory(locks);
    private final HislipTransportFactory transport = new HislipTransportFactory();
    private final Session session;

    /**
     * Opens the session: default options (no error checking), an independent lock, a 5 s I/O timeout.
     *
     * @param resource e.g. {@code TCPIP::127.0.0.1::hislip0,4880::INSTR}
     */
    public HislipSessionStack(String resource) throws LabHalException {
        sessions.addTransport(transport);
        session = sessions.open(ResourceAddress.parse(resource), SessionOptions.defaults()
                .withLockPolicy(LockPolicy.INDEPENDENT_SESSIONS).withIoTimeout(Duration.ofSeconds(5)));
    }

    /** {@link Session#query}; a failure becomes an {@link IllegalStateException} that ends the run. */
    @Override
    public String apply(String query) {
        try {
            return session.query(query);
        } catch (LabHalException e) {
            throw new IllegalStateException("the query " + query + " failed", e);
        }
    }

    @Override
    public void close() {
        sessions.deactivate();
        transport.deactivate();
        locks.close();
    }
}
