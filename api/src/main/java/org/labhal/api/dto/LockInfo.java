package org.labhal.api.dto;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.labhal.api.lock.LockPolicy;

/**
 * A snapshot of one session lock: who holds it, who waits, and counters since it was created.
 *
 * @param name the lock's name
 * @param domainKey the lock domain (physical instrument) it guards; equals the name for domain locks
 * @param policy the policy it was handed out under
 * @param holder the holder, empty when the lock is free
 * @param waiters the queued threads in the order they would get the lock
 * @param acquisitions successful acquisitions, re-entrant ones included
 * @param contended acquisitions that had to wait
 * @param timeouts acquisitions that gave up at their timeout
 * @param deadlocks acquisitions refused because they would have closed a deadlock cycle
 * @param longestWait the longest wait of a successful acquisition
 * @param longestHold the longest time the lock was held without a break
 */
public record LockInfo(String name, String domainKey, LockPolicy policy, Optional<HolderInfo> holder,
        List<WaiterInfo> waiters, long acquisitions, long contended, long timeouts, long deadlocks,
        Duration longestWait, Duration longestHold) {
}
