package org.labhal.api.internal.session;

import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportKind;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.TransportFactory;

/** A transport for every kind that hands out one given connection: the session core's tests run on it. */
final class FixedTransport implements TransportFactory {
    private final Connection connection;

    FixedTransport(Connection connection) {
        this.connection = connection;
    }

    /** @return a real session factory and lock service whose every open gets {@code connection} */
    static DefaultSessionFactory factoryFor(Connection connection) {
        DefaultSessionFactory factory = new DefaultSessionFactory(new DefaultLockService());
        factory.addTransport(new FixedTransport(connection));
        return factory;
    }

    @Override
    public Set<TransportKind> kinds() {
        return EnumSet.allOf(TransportKind.class);
    }

    @Override
    public Connection open(ResourceAddress address, Duration timeout) throws LabHalException {
        return connection;
    }
}
