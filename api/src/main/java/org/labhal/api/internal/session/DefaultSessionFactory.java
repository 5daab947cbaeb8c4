package org.labhal.api.internal.session;

import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionFactory;
import org.labhal.api.SessionClosedException;
import org.labhal.api.SessionOptions;
import org.labhal.api.TransportKind;
import org.labhal.api.TransportUnavailableException;
import org.labhal.api.lock.LockPolicy;
import org.labhal.api.lock.LockService;
import org.labhal.api.lock.SessionLock;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.TransportFactory;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * Opens sessions through the transports that come and go, and applies the lock policy: which lock
 * a new session starts with, and under {@link LockPolicy#SINGLE_CONNECTION} which connection.
 * When a transport goes away every channel it opened is closed, so blocked callers fail at once and
 * their locks are released by their leases.
 */
@Component(service = SessionFactory.class)
public final class DefaultSessionFactory implements SessionFactory {
    private final LockService locks;
    private final CopyOnWriteArrayList<TransportFactory> transports = new CopyOnWriteArrayList<>();
    private final Set<Channel> channels = ConcurrentHashMap.newKeySet();
    /** Single-connection channels by canonical resource, while open. */
    private final ConcurrentHashMap<String, Channel> singles = new ConcurrentHashMap<>();
    /**
     * One gate per single-connection resource: concurrent opens wait for the one that connects
     * instead of opening a second link, which a serial port refuses ("port in use") and a
     * one-client instrument never answers. Bounded by the number of such resources ever opened.
     */
    private final ConcurrentHashMap<String, Object> openingGates = new ConcurrentHashMap<>();
    private final AtomicLong sessionNumbers = new AtomicLong();

    /**
     * @param locks where session locks come from
     */
    @Activate
    public DefaultSessionFactory(@Reference LockService locks) {
        this.locks = Objects.requireNonNull(locks, "locks");
    }

    /**
     * @param transport a transport that appeared
     */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    public void addTransport(TransportFactory transport) {
        transports.add(transport);
    }

    /**
     * Closes every channel the transport opened before it goes.
     *
     * @param transport a transport that is going away
     */
    public void removeTransport(TransportFactory transport) {
        transports.remove(transport);
        for (Channel channel : channels) {
            if (channel.transport == transport) {
                channel.kill("its transport for " + channel.address.kind() + " was removed");
            }
        }
    }

    /** Closes every session still open. */
    @Deactivate
    public void deactivate() {
        for (Channel channel : channels) {
            channel.kill("LabHAL's session factory stopped");
        }
    }

    @Override
    public Session open(String resource) throws LabHalException {
        return open(ResourceAddress.parse(resource), SessionOptions.defaults());
    }

    @Override
    public Session open(ResourceAddress address, SessionOptions options) throws LabHalException {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(options, "options");
        DefaultSession session = openSession(address, options);
        if (options.instrumentLock()) {
            try {
                session.instrumentLocking();
            } catch (LabHalException e) {
                session.close();
                throw e;
            }
        }
        return session;
    }

    private DefaultSession openSession(ResourceAddress address, SessionOptions options) throws LabHalException {
        LockPolicy policy = options.lockPolicy();
        if (address.kind().isSingleLink()) {
            policy = LockPolicy.SINGLE_CONNECTION; // one wire, one connection: a second open would fail
        }
        SessionLock lock = locks.lockFor(policy, options.lockDomain().orElse(address.domainKey()));
        if (policy == LockPolicy.SINGLE_CONNECTION) {
            return openMultiplexed(address, options, lock);
        }
        Channel channel = connect(address, options);
        if (!channel.retain()) {
            // Its transport left while we connected, or the link died at once: never hand out a dead session.
            throw new SessionClosedException("Cannot open a session to " + address.canonical() + ": the connection "
                    + "closed as it opened: " + channel.closedBecause());
        }
        return new DefaultSession(channel.nextName(), channel, locks, policy, lock, options);
    }

    /** Logical sessions share the instrument's one connection; the domain lock serialises them. */
    private DefaultSession openMultiplexed(ResourceAddress address, SessionOptions options, SessionLock lock)
            throws LabHalException {
        String key = address.canonical();
        while (true) {
            Channel channel = singles.get(key);
            if (channel == null) {
                // Waits at most for another thread's open, which its own open timeout bounds.
                synchronized (openingGates.computeIfAbsent(key, k -> new Object())) {
                    channel = singles.get(key);
                    if (channel == null) {
                        channel = connect(address, options);
                        singles.put(key, channel);
                    }
                }
            }
            if (channel.retain()) {
                return new DefaultSession(channel.nextName(), channel, locks, LockPolicy.SINGLE_CONNECTION, lock,
                        options);
            }
            singles.remove(key, channel); // closed meanwhile: open a new one
        }
    }

    private Channel connect(ResourceAddress address, SessionOptions options) throws LabHalException {
        TransportFactory transport = transportFor(address);
        Connection connection = transport.open(address, options.openTimeout());
        String key = address.canonical();
        Channel[] self = new Channel[1];
        self[0] = new Channel(address, connection, transport, sessionNumbers, () -> {
            channels.remove(self[0]);
            singles.remove(key, self[0]);
        });
        channels.add(self[0]);
        if (!transports.contains(transport)) {
            // The transport left while we were connecting; removeTransport may have missed us.
            self[0].kill("its transport for " + address.kind() + " was removed");
        }
        return self[0];
    }

    private TransportFactory transportFor(ResourceAddress address) throws TransportUnavailableException {
        for (TransportFactory transport : transports) {
            if (transport.kinds().contains(address.kind())) {
                return transport;
            }
        }
        throw new TransportUnavailableException("No transport for " + address.kind() + " resources is installed "
                + "(needed by " + address.canonical() + "); installed: "
                + (transports().isEmpty() ? "none" : transports()), address.kind());
    }

    @Override
    public Set<TransportKind> transports() {
        Set<TransportKind> kinds = EnumSet.noneOf(TransportKind.class);
        for (TransportFactory transport : transports) {
            kinds.addAll(transport.kinds());
        }
        return kinds;
    }

    /** @return how many physical connections are open */
    public int openConnections() {
        return channels.size();
    }
}
