package org.labhal.transport.hislip;

import java.time.Duration;

import org.labhal.api.LabHalException;

/**
 * The instrument did not grant or release a HiSLIP lock. {@link #reason()} says why in the
 * instrument's terms; the message names the resource, the lock asked for and, where the instrument
 * told, who holds locks.
 */
public class HislipLockException extends LabHalException {
    private static final long serialVersionUID = 1L;

    /** Why the lock operation failed. */
    public enum Reason {
        /** The lock is held elsewhere and was not released within the timeout (response "failure"). */
        HELD_ELSEWHERE,
        /** The instrument rejected the request as an error, e.g. asking again for a lock already held. */
        REJECTED,
        /** A release was asked for but this client holds no lock. */
        NOT_HELD
    }

    private final Reason reason;
    private final String lockString;
    private final Duration timeout;

    /**
     * @param message what failed, naming the resource and the reason
     * @param reason why
     * @param lockString the shared lock string asked for; empty for an exclusive lock or a release
     * @param timeout the lock timeout sent to the instrument; zero for a release
     */
    public HislipLockException(String message, Reason reason, String lockString, Duration timeout) {
        super(message);
        this.reason = reason;
        this.lockString = lockString;
        this.timeout = timeout;
    }

    /** @return why the lock operation failed */
    public Reason reason() {
        return reason;
    }

    /** @return the shared lock string asked for; empty for an exclusive lock or a release */
    public String lockString() {
        return lockString;
    }

    /** @return the lock timeout sent to the instrument */
    public Duration timeout() {
        return timeout;
    }
}
