package org.labhal.runtime.internal.instrument;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.runtime.internal.trace.InstrumentTrace;
import org.labhal.runtime.internal.trace.Traces;
import org.labhal.transport.socket.internal.SocketTransportFactory;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.log.Logger;

/**
 * The runtime's instrument life without a framework: a real session factory with the socket transport,
 * an empty model catalog (every instrument is of an unknown model), a bundle context that records
 * service registrations, and a logger that keeps what was logged.
 */
public final class RuntimeFixture implements AutoCloseable {
    /** One log entry: level and formatted message. */
    public record Entry(String level, String message) {
    }

    /** One service registration, with whether it is still registered. */
    static final class Registration {
        final String[] classes;
        final Dictionary<String, ?> properties;
        volatile boolean registered = true;
        /** Whether the registering thread held a connection's monitor. */
        final boolean monitorHeld;
        /** Whether the unregistering thread held a connection's monitor. */
        volatile boolean monitorHeldOnUnregister;

        Registration(String[] classes, Dictionary<String, ?> properties, boolean monitorHeld) {
            this.classes = classes;
            this.properties = properties;
            this.monitorHeld = monitorHeld;
        }
    }

    public final List<Entry> log = new CopyOnWriteArrayList<>();
    final List<Registration> registrations = new CopyOnWriteArrayList<>();
    public final DefaultLockService locks = new DefaultLockService();
    public final DefaultSessionFactory sessions = new DefaultSessionFactory(locks);
    final SocketTransportFactory socket = new SocketTransportFactory();
    public final Logger logger = logger();
    public final ModelCatalog catalog = new ModelCatalog(logger);
    public final ServedConnections served = new ServedConnections();
    public final ConnectGuard guard = new ConnectGuard();
    /** Few threads, so that tests run many instruments on fewer threads than instruments. */
    public final InstrumentWorkers workers = new InstrumentWorkers(4);
    /** Every instrument's trace and statistics (without trace loggers). */
    public final Traces traces = new Traces(null);
    /** Called inside registerService, on the registering thread. */
    volatile Runnable onRegister = () -> { };
    /** Counted down at every unregistration. */
    volatile java.util.concurrent.CountDownLatch unregistered = new java.util.concurrent.CountDownLatch(1);
    private final List<InstrumentConnection> connections = new CopyOnWriteArrayList<>();

    public RuntimeFixture() {
        sessions.addTransport(socket);
    }

    /**
     * @param id the instrument id
     * @param resource its resource
     * @param more further configuration properties, key and value alternating
     * @return the started connection
     */
    public InstrumentConnection start(String id, String resource, Object... more) {
        Map<String, Object> properties = new HashMap<>();
        properties.put("service.pid", InstrumentSettings.FACTORY_PID + "~" + id);
        properties.put("resource", resource);
        for (int i = 0; i < more.length; i += 2) {
            properties.put((String) more[i], more[i + 1]);
        }
        InstrumentSettings settings = InstrumentSettings.from(properties);
        InstrumentTrace trace = traces.of(id); // as InstrumentComponent does
        settings.trace().ifPresent(trace::trace);
        InstrumentConnection connection = new InstrumentConnection(settings, sessions, catalog, context(), logger,
                served, guard, workers, trace);
        connections.add(connection);
        connection.start();
        return connection;
    }

    /** @return whether any entry at that level contains the text */
    public boolean logged(String level, String text) {
        return log.stream().anyMatch(e -> e.level().equals(level) && e.message().contains(text));
    }

    @Override
    public void close() {
        connections.forEach(InstrumentConnection::close);
        sessions.deactivate();
        guard.deactivate();
        workers.deactivate();
        catalog.deactivate();
        locks.close();
        socket.deactivate();
    }

    public static InstrumentConnection.State settle(InstrumentConnection connection) throws InterruptedException {
        return connection.awaitSettled(Duration.ofSeconds(20));
    }

    private BundleContext context() {
        Bundle bundle = (Bundle) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] { Bundle.class },
                (proxy, method, args) -> switch (method.getName()) {
                    case "getState" -> Bundle.ACTIVE;
                    case "getBundleId" -> 0L;
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> null;
                });
        return (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] { BundleContext.class }, (proxy, method, args) -> switch (method.getName()) {
                    case "getBundle" -> bundle;
                    case "registerService" -> register((String[]) args[0], (Dictionary<String, ?>) args[2]);
                    case "getServiceReferences" -> List.of();
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> null;
                });
    }

    private ServiceRegistration<?> register(String[] classes, Dictionary<String, ?> properties) {
        boolean held = monitorHeld();
        onRegister.run();
        Registration registration = new Registration(classes, properties, held);
        registrations.add(registration);
        return (ServiceRegistration<?>) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] { ServiceRegistration.class }, (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "unregister" -> {
                            registration.monitorHeldOnUnregister = monitorHeld();
                            registration.registered = false;
                            unregistered.countDown();
                        }
                        case "hashCode" -> {
                            return System.identityHashCode(proxy);
                        }
                        case "equals" -> {
                            return proxy == args[0];
                        }
                        default -> {
                            // setProperties and the rest: nothing to record
                        }
                    }
                    return null;
                });
    }

    private boolean monitorHeld() {
        return connections.stream().anyMatch(Thread::holdsLock);
    }

    private Logger logger() {
        return (Logger) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] { Logger.class },
                (proxy, method, args) -> {
                    String name = method.getName();
                    if (name.startsWith("is")) {
                        return true;
                    }
                    if (name.equals("getName")) {
                        return "test";
                    }
                    if (args != null && args.length > 0 && args[0] instanceof String format) {
                        log.add(new Entry(name, format(format, args)));
                    }
                    return null;
                });
    }

    private static String format(String format, Object[] args) {
        List<Object> values = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            if (args[i] instanceof Object[] many) {
                values.addAll(List.of(many));
            } else {
                values.add(args[i]);
            }
        }
        StringBuilder text = new StringBuilder();
        int from = 0;
        int next = 0;
        int at;
        while ((at = format.indexOf("{}", from)) >= 0) {
            text.append(format, from, at).append(next < values.size() ? String.valueOf(values.get(next++)) : "{}");
            from = at + 2;
        }
        return text.append(format.substring(from)).toString();
    }
}
