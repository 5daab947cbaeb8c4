package org.labhal.api.lock;

import java.util.List;

import org.labhal.api.dto.LockInfo;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Hands out session locks by lock policy and lock-domain key (the physical instrument an address
 * reaches, see {@code ResourceAddress.domainKey()}), and reports on every live lock.
 * <p>
 * Locks are held weakly: a domain no session refers to any more is forgotten, so the service stays
 * cheap with thousands of instruments. All locks from one service share one wait-for graph, which
 * is what lets it detect deadlocks across instruments. Thread-safe.
 */
@ProviderType
public interface LockService {

    /**
     * Returns the lock a new session to the given instrument must use.
     *
     * @param policy the instrument model's lock policy
     * @param domainKey the physical instrument, e.g. {@code TCPIP::10.0.0.5}
     * @return for {@link LockPolicy#INDEPENDENT_SESSIONS} a fresh lock on every call; otherwise the
     *         one lock of that domain, the same object for as long as anyone holds a reference to it
     */
    SessionLock lockFor(LockPolicy policy, String domainKey);

    /**
     * Creates a fresh lock that belongs to no domain (a session breaking away, or application code
     * that wants its own lock).
     *
     * @param name the lock's name for diagnostics
     * @return a new lock in this service's wait-for graph
     */
    SessionLock newLock(String name);

    /**
     * @return snapshots of every live lock, busiest first (held, then by waiters and acquisitions)
     */
    List<LockInfo> locks();
}
