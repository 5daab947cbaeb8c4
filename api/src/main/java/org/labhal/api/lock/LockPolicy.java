package org.labhal.api.lock;

/**
 * How sessions to one physical instrument must be serialised. Each instrument model declares the
 * policy it needs; the {@link LockService} hands out lock domains accordingly.
 */
public enum LockPolicy {
    /**
     * The instrument keeps every remote session fully separate (own input buffer, output queue and
     * error queue, as the R&amp;S SMW200A does): each session gets its own lock, and sessions to the
     * same instrument progress in parallel.
     */
    INDEPENDENT_SESSIONS,

    /**
     * The instrument has one set of I/O buffers for all its sessions, so two talkers at once get each
     * other's answers: every session that reaches the same physical instrument (same lock-domain
     * key, whatever the transport) shares one lock. The safe default for unknown models.
     */
    SHARED_BUFFER,

    /**
     * The instrument accepts a single connection: logical sessions are multiplexed over one physical
     * connection and share one lock.
     */
    SINGLE_CONNECTION;

    /**
     * @return whether sessions under this policy to one lock domain share a single lock
     */
    public boolean sharesLock() {
        return this != INDEPENDENT_SESSIONS;
    }
}
