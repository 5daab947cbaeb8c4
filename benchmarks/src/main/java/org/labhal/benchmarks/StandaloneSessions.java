package org.labhal.benchmarks;

import java.time.Duration;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.api.lock.LockPolicy;
import org.labhal.api.transport.TransportFactory;

/**
 * LabHAL's session stack outside OSGi, built with {@code new} as the unit tests build it (and as DS
 * would): a {@link DefaultLockService}, a {@link DefaultSessionFactory} and one transport. Closing it
 * deactivates them in reverse order, which closes every session still open.
 */
final class StandaloneSessions implements AutoCloseable {
    private final DefaultLockService locks = new DefaultLockService();
    private final DefaultSessionFactory sessions = new DefaultSessionFactory(locks);
    private final Runnable deactivateTransport;

    /**
     * @param transport the transport, new
     * @param deactivateTransport its {@code @Deactivate} method
     */
    StandaloneSessions(TransportFactory transport, Runnable deactivateTransport) {
        this.deactivateTransport = deactivateTransport;
        sessions.addTransport(transport);
    }

    /**
     * Opens a session with the default options (no error checking) but the given I/O timeout and an
     * independent lock: the benchmarks measure the data path, not lock sharing.
     */
    Session open(String resource, Duration ioTimeout) throws LabHalException {
        return sessions.open(ResourceAddress.parse(resource), SessionOptions.defaults()
                .withLockPolicy(LockPolicy.INDEPENDENT_SESSIONS).withIoTimeout(ioTimeout));
    }

    @Override
    public void close() {
        sessions.deactivate();
        deactivateTransport.run();
        locks.close();
    }
}
