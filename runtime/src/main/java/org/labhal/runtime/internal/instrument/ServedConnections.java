package org.labhal.runtime.internal.instrument;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import org.labhal.api.ResourceAddress;
import org.labhal.api.transport.Deadline;
import org.osgi.service.component.annotations.Component;

/**
 * What the runtime has learnt about how many connections each instrument serves, by resource. An
 * instrument of unknown model is checked once for a second connection (see
 * {@link InstrumentConnection}); one that leaves it unanswered, refuses it or lets it take over the
 * first serves one connection, and every instrument of this runtime on that resource then shares one
 * connection ({@link org.labhal.api.lock.LockPolicy#SINGLE_CONNECTION}). The first contact with a
 * resource is taken by one instrument at a time, so that a second configuration for the same device
 * asks its questions only once the answer is known, rather than into a connection the device leaves
 * in its backlog. Kept while the runtime runs. Thread-safe.
 */
@Component(service = ServedConnections.class)
public final class ServedConnections {
    private final ConcurrentHashMap<String, String> oneOnly = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Semaphore> contacts = new ConcurrentHashMap<>();

    /**
     * @param address a resource
     * @return why the instrument there is known to serve one connection at a time; empty when not known
     */
    public Optional<String> oneOnly(ResourceAddress address) {
        return Optional.ofNullable(oneOnly.get(address.canonical()));
    }

    /**
     * @param address a resource
     * @param why what showed that its instrument serves one connection at a time
     */
    public void learnOneOnly(ResourceAddress address, String why) {
        oneOnly.put(address.canonical(), Objects.requireNonNull(why, "why"));
    }

    /**
     * Takes the first contact with a resource: waits while another instrument of this runtime is
     * identifying the same resource, at most {@code timeout} (then goes ahead anyway: the wait only
     * avoids needless connections, it guards nothing else).
     *
     * @param address the resource
     * @param timeout the longest wait
     * @return the contact, to close when the instrument is identified
     * @throws InterruptedException when interrupted while waiting
     */
    public FirstContact firstContact(ResourceAddress address, Duration timeout) throws InterruptedException {
        Semaphore turn = contacts.computeIfAbsent(address.canonical(), key -> new Semaphore(1));
        boolean taken = turn.tryAcquire(Deadline.nanos(timeout), TimeUnit.NANOSECONDS);
        return new FirstContact(taken ? turn : null);
    }

    /** The first contact with a resource, held by one instrument's connect. Closing twice is harmless. */
    public static final class FirstContact implements AutoCloseable {
        private Semaphore turn;

        private FirstContact(Semaphore turn) {
            this.turn = turn;
        }

        @Override
        public synchronized void close() {
            if (turn != null) {
                turn.release();
                turn = null;
            }
        }
    }
}
