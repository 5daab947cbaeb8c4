package org.labhal.api.internal.lock;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.labhal.api.dto.LockInfo;
import org.labhal.api.lock.LockPolicy;
import org.labhal.api.lock.LockService;
import org.labhal.api.lock.SessionLock;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * Hands out locks by policy and domain key and keeps a weak registry of them for diagnostics.
 * A domain lock lives exactly as long as some session (or caller) refers to it: nothing here has
 * to be told when an instrument goes away, and thousands of idle domains cost one map entry each.
 */
@Component(service = LockService.class)
public final class DefaultLockService implements LockService, AutoCloseable {
    /** Default time a waiter waits for its priority to rise one level. */
    public static final Duration DEFAULT_AGING = Duration.ofMillis(100);

    private final WaitGraph graph = new WaitGraph();
    private final Duration aging;
    private final LockClock clock;
    private final ConcurrentHashMap<String, LockRef> domains = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, LockRef> all = new ConcurrentHashMap<>();
    private final ReferenceQueue<DefaultSessionLock> collected = new ReferenceQueue<>();
    private final AtomicLong ids = new AtomicLong();

    /** Creates a service with the default aging interval and a 1 ms coarse clock. */
    public DefaultLockService() {
        this(DEFAULT_AGING);
    }

    /**
     * @param aging how long a waiter waits for its priority to rise one level
     */
    public DefaultLockService(Duration aging) {
        this(aging, LockClock.coarse(Duration.ofMillis(1), "labhal-lock-clock"));
    }

    /**
     * @param aging how long a waiter waits for its priority to rise one level
     * @param clock the time base of hold bookkeeping; closed with this service
     */
    public DefaultLockService(Duration aging, LockClock clock) {
        this.aging = Objects.requireNonNull(aging, "aging");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Stops the clock's ticker; locks handed out keep working on the precise clock. */
    @Deactivate
    @Override
    public void close() {
        clock.close();
    }

    @Override
    public SessionLock lockFor(LockPolicy policy, String domainKey) {
        Objects.requireNonNull(policy, "policy");
        requireKey(domainKey);
        purge();
        if (!policy.sharesLock()) {
            long id = ids.incrementAndGet();
            return register(id, domainKey + "#" + id, domainKey, policy, null);
        }
        // The local array keeps a fresh lock strongly reachable until it is returned.
        DefaultSessionLock[] result = new DefaultSessionLock[1];
        domains.compute(domainKey, (key, existing) -> {
            result[0] = existing == null ? null : existing.get();
            if (result[0] != null) {
                return existing;
            }
            result[0] = register(ids.incrementAndGet(), key, key, policy, key);
            return all.get(result[0].id());
        });
        return result[0];
    }

    @Override
    public SessionLock newLock(String name) {
        requireKey(name);
        purge();
        return register(ids.incrementAndGet(), name, name, LockPolicy.INDEPENDENT_SESSIONS, null);
    }

    @Override
    public List<LockInfo> locks() {
        purge();
        List<LockInfo> infos = new ArrayList<>(all.size());
        for (LockRef ref : all.values()) {
            DefaultSessionLock lock = ref.get();
            if (lock != null) {
                infos.add(lock.info());
            }
        }
        infos.sort(Comparator.comparing((LockInfo i) -> i.holder().isEmpty())
                .thenComparing(i -> -i.waiters().size())
                .thenComparing(i -> -i.acquisitions())
                .thenComparing(LockInfo::name));
        return infos;
    }

    /** @return the wait-for graph shared by this service's locks */
    public WaitGraph graph() {
        return graph;
    }

    /** @return how many domain entries are held (collected ones may linger until the next call) */
    public int domainCount() {
        purge();
        return domains.size();
    }

    private DefaultSessionLock register(long id, String name, String domainKey, LockPolicy policy, String domain) {
        DefaultSessionLock lock = new DefaultSessionLock(id, name, domainKey, policy, graph, clock, aging);
        all.put(id, new LockRef(lock, collected, domain));
        return lock;
    }

    private void purge() {
        LockRef gone;
        while ((gone = (LockRef) collected.poll()) != null) {
            all.remove(gone.id);
            if (gone.domain != null) {
                domains.remove(gone.domain, gone);
            }
        }
    }

    private static void requireKey(String key) {
        if (key == null || key.isBlank()) {
            throw new IllegalArgumentException("Lock domain key must not be empty, got " + (key == null ? "null" : "\"" + key + "\""));
        }
    }

    private static final class LockRef extends WeakReference<DefaultSessionLock> {
        final long id;
        final String domain;

        LockRef(DefaultSessionLock lock, ReferenceQueue<DefaultSessionLock> queue, String domain) {
            super(lock, queue);
            this.id = lock.id();
            this.domain = domain;
        }
    }
}
