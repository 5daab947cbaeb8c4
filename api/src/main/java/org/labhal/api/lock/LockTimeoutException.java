package org.labhal.api.lock;

import java.time.Duration;
import java.util.Optional;

import org.labhal.api.dto.HolderInfo;

/**
 * The lock-wait timeout passed before the lock could be taken. Names the holder at that moment:
 * its thread, what it was doing and for how long it had held the lock.
 */
public class LockTimeoutException extends LockException {
    private static final long serialVersionUID = 1L;
    private final Duration timeout;
    private final transient HolderInfo holder;

    /**
     * @param lockName the lock that could not be taken
     * @param timeout the wait that passed
     * @param holder the holder when the wait ended, or {@code null} when the lock had just been
     *        handed to another waiter
     * @param waitersAhead how many other threads were queued at that moment
     */
    public LockTimeoutException(String lockName, Duration timeout, HolderInfo holder, int waitersAhead) {
        super(lockName, describe(lockName, timeout, holder, waitersAhead));
        this.timeout = timeout;
        this.holder = holder;
    }

    private static String describe(String lockName, Duration timeout, HolderInfo holder, int waiters) {
        StringBuilder text = new StringBuilder("Timed out after ").append(Durations.format(timeout))
                .append(" waiting for lock '").append(lockName).append("': ");
        if (holder == null) {
            text.append("it went to another waiter");
        } else {
            text.append("held by thread \"").append(holder.thread()).append('"');
            if (!holder.activity().isEmpty()) {
                text.append(" doing ").append(holder.activity());
            }
            text.append(" for ").append(Durations.format(holder.heldFor()));
        }
        if (waiters > 0) {
            text.append(", ").append(waiters).append(waiters == 1 ? " other waiter" : " other waiters");
        }
        return text.toString();
    }

    /**
     * @return the lock-wait timeout that passed
     */
    public Duration timeout() {
        return timeout;
    }

    /**
     * @return the holder when the wait ended; empty when the lock had just passed to another waiter
     *         (or after deserialisation)
     */
    public Optional<HolderInfo> holder() {
        return Optional.ofNullable(holder);
    }
}
