package org.labhal.runtime.internal.instrument;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.labhal.api.instrument.Instrument;
import org.labhal.api.transport.TransportFactory;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The configured instruments that are running, by id. Ids are unique: a second configuration that
 * claims a taken id is refused, so two configurations can never be confused in the shell or in
 * service lookups. When a transport is installed, instruments that could not connect try again at once.
 * Thread-safe.
 */
@Component(service = InstrumentDirectory.class)
public final class InstrumentDirectory {
    private final Map<String, InstrumentConnection> byId = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);

    /**
     * @param connection a connection about to start
     * @throws IllegalStateException naming the other configuration when its id is taken
     */
    public synchronized void claim(InstrumentConnection connection) {
        InstrumentSettings settings = connection.settings();
        InstrumentConnection holder = byId.get(settings.id());
        if (holder != null) {
            throw new IllegalStateException("Instrument configuration " + settings.pid() + " is invalid: id="
                    + settings.id() + " is already used by configuration " + holder.settings().pid() + " ("
                    + holder.settings().origin() + ")");
        }
        byId.put(settings.id(), connection);
        notifyAll();
    }

    /**
     * @param transport a transport that appeared; offline instruments retry now
     */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void addTransport(TransportFactory transport) {
        all().forEach(InstrumentConnection::transportAdded);
    }

    /** @param transport a transport that went away; its sessions fail and their instruments reconnect */
    void removeTransport(TransportFactory transport) {
        // the session factory closes the transport's sessions; each instrument's watchdog notices
    }

    /** @param connection a connection that has closed */
    public synchronized void release(InstrumentConnection connection) {
        byId.remove(connection.settings().id(), connection);
        notifyAll();
    }

    /**
     * @param id an instrument id, case-insensitive
     * @return its connection
     */
    public synchronized Optional<InstrumentConnection> find(String id) {
        return Optional.ofNullable(byId.get(id));
    }

    /**
     * The instrument's service view, for a command or request that uses it now; while it is connecting (at
     * start-up, or reconnecting because a model installed meanwhile needs another session) waits up to
     * {@code settle} for that to end, so that a command typed then is carried out rather than refused.
     *
     * @param id an instrument id, case-insensitive
     * @param settle the longest wait for a connecting instrument
     * @return its service view
     * @throws IllegalArgumentException ({@link #unknown}) when no instrument has that id
     * @throws IllegalStateException naming the state and why when it is not online
     */
    public Instrument online(String id, Duration settle) {
        InstrumentConnection connection = find(id).orElseThrow(() -> unknown(id));
        if (connection.instrument().isEmpty()) {
            try {
                connection.awaitSettled(settle);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // refused below, as without the wait
            }
        }
        return connection.instrument().orElseThrow(() -> {
            InstrumentStatus status = connection.status();
            return new IllegalStateException(status.id() + " is " + status.state()
                    + (status.detail().isEmpty() ? "" : ": " + status.detail()));
        });
    }

    /**
     * @param id an id that names no instrument
     * @return the exception the shell and the web API report for it, listing the configured ids
     */
    public IllegalArgumentException unknown(String id) {
        List<String> ids = new ArrayList<>();
        all().forEach(c -> ids.add(c.settings().id()));
        return new IllegalArgumentException("no instrument '" + id + "'; configured: "
                + (ids.isEmpty() ? "none" : String.join(", ", ids)));
    }

    /**
     * @return the instruments using each lock, by lock name: an instrument's own lock, and the bus lock every
     *         step of an instrument on a shared bus takes after its own (listed as {@code <id> (bus)})
     */
    public Map<String, List<String>> lockUsers() {
        Map<String, List<String>> users = new HashMap<>();
        for (InstrumentConnection connection : all()) {
            InstrumentStatus status = connection.status();
            status.lockName().ifPresent(lock -> users.computeIfAbsent(lock, k -> new ArrayList<>()).add(status.id()));
            status.settings().address().busKey().ifPresent(bus -> users.computeIfAbsent(bus, k -> new ArrayList<>())
                    .add(status.id() + " (bus)"));
        }
        return users;
    }

    /** @return every running connection, by id */
    public synchronized List<InstrumentConnection> all() {
        List<InstrumentConnection> all = new ArrayList<>(byId.values());
        all.sort(Comparator.comparing(c -> c.settings().id(), String.CASE_INSENSITIVE_ORDER));
        return all;
    }

    /**
     * Waits until an instrument of that id is running, or is gone.
     *
     * @param id the id
     * @param present whether to wait for it to appear (true) or to disappear (false)
     * @param timeout the longest wait
     * @return its connection if present at the end
     * @throws InterruptedException when interrupted
     */
    public synchronized Optional<InstrumentConnection> await(String id, boolean present, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (byId.containsKey(id) != present) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return Optional.ofNullable(byId.get(id));
    }
}
