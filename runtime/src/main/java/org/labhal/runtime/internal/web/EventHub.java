package org.labhal.runtime.internal.web;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import org.labhal.runtime.internal.trace.TraceFeed;
import org.labhal.runtime.internal.trace.TracedStep;
import org.labhal.runtime.internal.trace.Traces;

import com.google.gson.JsonPrimitive;

/**
 * The server-sent events of the dashboard. While at least one client listens, one pump thread follows
 * the traces of every instrument whose trace is on and polls the lock and instrument snapshot about
 * every {@value #POLL_MS} ms, and offers each event to every client's bounded queue. It never waits for
 * a client: an event that does not fit a client's queue is dropped for that client and counted, so a
 * client that reads slowly (or never) slows nobody down but itself. Clients are capped. Thread-safe.
 */
final class EventHub {
    /** How often the lock and instrument snapshot is taken while someone listens. */
    static final int POLL_MS = 200;
    /** A snapshot goes out at least this often even unchanged, so hold and wait times stay fresh. */
    private static final long REFRESH_NANOS = Duration.ofSeconds(1).toNanos();
    /** Steps the feed keeps for the pump between polls. */
    private static final int FEED_CAPACITY = 4096;
    /** The most characters of events one client may have waiting: a stalled reader holds at most this much. */
    static final long MAX_QUEUED_CHARS = 4L << 20;
    /** Wakes a client's writer when its stream ends. */
    private static final String WAKE = ": end\n\n";

    /** One listening client: its queue and what it lost. */
    static final class Client {
        private final BlockingQueue<String> queue;
        private final AtomicLong dropped = new AtomicLong();
        private final AtomicLong queuedChars = new AtomicLong();
        private volatile boolean ended;

        Client(int capacity) {
            queue = new ArrayBlockingQueue<>(capacity);
        }

        void offer(String event) {
            if (queuedChars.addAndGet(event.length()) > MAX_QUEUED_CHARS) {
                queuedChars.addAndGet(-event.length());
                dropped.incrementAndGet();
            } else if (!queue.offer(event)) {
                queuedChars.addAndGet(-event.length());
                dropped.incrementAndGet();
            }
        }

        /**
         * @param wait the longest wait
         * @return the next event, {@code Optional.empty()} after {@code wait} without one, or null once the
         *         stream has ended
         * @throws InterruptedException when interrupted
         */
        Optional<String> next(Duration wait) throws InterruptedException {
            if (ended) {
                return null;
            }
            String event = queue.poll(wait.toNanos(), TimeUnit.NANOSECONDS);
            if (event != null) {
                queuedChars.addAndGet(-event.length());
            }
            return ended ? null : Optional.ofNullable(event);
        }

        /** @return events this client lost because its queue was full */
        long dropped() {
            return dropped.get();
        }

        void end() {
            ended = true;
            queue.clear();
            queue.offer(WAKE); // if the pump filled it meanwhile, the writer wakes on that instead
        }
    }

    private final Supplier<DashboardApi.Snapshot> snapshots;
    private final Traces traces;
    private final ExecutorService pump;
    private final int maxClients;
    private final int queueCapacity;
    private final Set<Client> clients = new CopyOnWriteArraySet<>();
    private final AtomicLong droppedTotal = new AtomicLong();
    private boolean pumping; // guarded by this
    private boolean closed; // guarded by this

    /**
     * @param snapshots takes a snapshot of instruments and locks
     * @param traces the live steps come from here
     * @param pump runs the pump; one thread is enough
     * @param maxClients most clients at once
     * @param queueCapacity events kept per client
     */
    EventHub(Supplier<DashboardApi.Snapshot> snapshots, Traces traces, ExecutorService pump, int maxClients,
            int queueCapacity) {
        this.snapshots = snapshots;
        this.traces = traces;
        this.pump = pump;
        this.maxClients = maxClients;
        this.queueCapacity = queueCapacity;
    }

    /**
     * @return a new client, whose first event is the current snapshot
     * @throws ApiException 503 when {@code maxClients} listen already or the hub is closed
     */
    synchronized Client join() throws ApiException {
        if (closed) {
            throw new ApiException(503, "the dashboard is stopping");
        }
        if (clients.size() >= maxClients) {
            throw new ApiException(503, "too many event streams open (" + maxClients + "); close a dashboard tab, or "
                    + "raise maxEventClients in configuration " + WebGuard.PID);
        }
        Client client = new Client(queueCapacity);
        try {
            client.offer(event("snapshot", snapshots.get().json()));
        } catch (RuntimeException e) {
            throw new ApiException(500, "cannot take a snapshot of the instruments and locks: " + e);
        }
        clients.add(client);
        if (!pumping) {
            pumping = true;
            pump.execute(this::run);
        }
        return client;
    }

    /** @param client a client that has gone */
    void leave(Client client) {
        if (clients.remove(client)) {
            droppedTotal.addAndGet(client.dropped());
        }
    }

    /** @return clients listening now */
    int clients() {
        return clients.size();
    }

    /** @return events dropped for slow clients, those gone included */
    long dropped() {
        long now = 0;
        for (Client client : clients) {
            now += client.dropped();
        }
        return droppedTotal.get() + now;
    }

    /** Ends every stream; new clients are refused. */
    synchronized void close() {
        closed = true;
        clients.forEach(Client::end);
        clients.clear();
    }

    private void run() {
        TraceFeed feed = null;
        try {
            try {
                feed = traces.follow(FEED_CAPACITY);
            } catch (IllegalStateException e) {
                // too many feeds open elsewhere: the locks and instruments still go out, the steps do not
                broadcast(event("feed", "{\"error\":" + new JsonPrimitive(String.valueOf(e.getMessage())) + "}"));
            }
            long lastSent = System.nanoTime();
            String signature = null;
            long stepsDropped = 0;
            while (keepPumping()) {
                List<TracedStep> steps;
                if (feed != null) {
                    steps = feed.poll(Duration.ofMillis(POLL_MS));
                } else {
                    TimeUnit.MILLISECONDS.sleep(POLL_MS); // the snapshot's pace, with no feed to wait on
                    steps = List.of();
                }
                try {
                    if (!steps.isEmpty()) {
                        broadcast(event("steps", DashboardApi.steps(steps)));
                    }
                    if (feed != null && feed.dropped() != stepsDropped) {
                        stepsDropped = feed.dropped();
                        broadcast(event("feed", "{\"stepsDropped\":" + stepsDropped + "}"));
                    }
                    long now = System.nanoTime();
                    DashboardApi.Snapshot snapshot = snapshots.get();
                    if (!snapshot.signature().equals(signature) || now - lastSent >= REFRESH_NANOS) {
                        broadcast(event("snapshot", snapshot.json()));
                        signature = snapshot.signature();
                        lastSent = now;
                    }
                } catch (RuntimeException e) {
                    // one bad snapshot (an instrument going away as it was read, say) must not end the live view
                    broadcast(event("error", "{\"error\":" + new JsonPrimitive(String.valueOf(e)) + "}"));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // stopping
        } catch (RuntimeException e) {
            synchronized (this) {
                pumping = false; // a later client starts it again
            }
            throw e;
        } finally {
            if (feed != null) {
                feed.close();
            }
        }
    }

    private synchronized boolean keepPumping() {
        if (clients.isEmpty() || closed) {
            pumping = false;
            return false;
        }
        return true;
    }

    private void broadcast(String event) {
        for (Client client : clients) {
            client.offer(event);
        }
    }

    /** @return one server-sent event: its name and its one-line JSON data */
    static String event(String name, String json) {
        return "event: " + name + "\ndata: " + json.replace("\n", "\ndata: ") + "\n\n";
    }
}
