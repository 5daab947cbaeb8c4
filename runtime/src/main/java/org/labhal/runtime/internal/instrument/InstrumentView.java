package org.labhal.runtime.internal.instrument;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.instrument.Identity;
import org.labhal.api.instrument.Instrument;
import org.labhal.api.instrument.ScpiInstrument;
import org.labhal.api.lock.LockPolicy;

/**
 * The {@link Instrument} a connection registers for one session, and the service object that also
 * implements the model's driver types by forwarding to whatever driver the {@link DriverSlot} holds.
 * The instrument part answers from the runtime's own state and works with no driver bound.
 */
final class InstrumentView implements Instrument {
    private final String id;
    private final Session session;
    private final Identity identity;
    private final ScpiInstrument scpi;
    private final DriverSlot slot;
    private final Duration driverWait;
    private volatile String model;

    InstrumentView(String id, Session session, Identity identity, ScpiInstrument scpi, String model, DriverSlot slot,
            Duration driverWait) {
        this.id = id;
        this.session = session;
        this.identity = identity;
        this.scpi = scpi;
        this.model = model;
        this.slot = slot;
        this.driverWait = driverWait;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public ResourceAddress address() {
        return session.address();
    }

    @Override
    public Identity identity() {
        return identity;
    }

    @Override
    public String model() {
        return model;
    }

    void model(String name) {
        this.model = name;
    }

    @Override
    public LockPolicy lockPolicy() {
        return session.lockPolicy();
    }

    @Override
    public ScpiInstrument scpi() {
        return scpi;
    }

    @Override
    public Session session() {
        return session;
    }

    @Override
    public String toString() {
        return "Instrument " + id + " (" + model + ", " + session.address().canonical() + ", " + lockPolicy() + ")";
    }

    /**
     * Makes the service object: an {@link Instrument} that also implements {@code driverTypes},
     * forwarding their methods to the slot's current driver.
     *
     * @param driverTypes the model's driver interfaces
     * @return the proxy
     */
    Object serviceObject(Set<Class<?>> driverTypes) {
        Set<Class<?>> interfaces = new LinkedHashSet<>();
        interfaces.add(Instrument.class);
        interfaces.addAll(driverTypes);
        List<ClassLoader> loaders = new ArrayList<>();
        for (Class<?> type : interfaces) {
            if (!loaders.contains(type.getClassLoader())) {
                loaders.add(type.getClassLoader());
            }
        }
        ClassLoader loader = loaders.size() == 1 ? loaders.get(0) : new TypesClassLoader(loaders);
        return Proxy.newProxyInstance(loader, interfaces.toArray(Class<?>[]::new), new Forwarder());
    }

    /** Sends {@link Instrument} and {@link Object} methods here, driver-type methods to the slot. */
    private final class Forwarder implements InvocationHandler {
        @Override
        public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
            Class<?> declaring = method.getDeclaringClass();
            if (declaring == Object.class) {
                return switch (method.getName()) {
                    case "equals" -> proxy == args[0];
                    case "hashCode" -> System.identityHashCode(proxy);
                    default -> InstrumentView.this.toString();
                };
            }
            if (declaring == Instrument.class) {
                try {
                    return method.invoke(InstrumentView.this, args);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            }
            return slot.invoke(method, args, driverWait);
        }
    }

    /** Sees the driver types from whichever bundles they come from. */
    private static final class TypesClassLoader extends ClassLoader {
        private final List<ClassLoader> loaders;

        TypesClassLoader(List<ClassLoader> loaders) {
            super(null);
            this.loaders = List.copyOf(loaders);
        }

        @Override
        protected Class<?> findClass(String name) throws ClassNotFoundException {
            for (ClassLoader loader : loaders) {
                try {
                    return loader.loadClass(name);
                } catch (ClassNotFoundException e) {
                    // try the next one
                }
            }
            throw new ClassNotFoundException(name);
        }
    }
}
