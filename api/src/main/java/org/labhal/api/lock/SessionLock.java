package org.labhal.api.lock;

import java.time.Duration;
import java.util.Optional;

import org.labhal.api.dto.LockInfo;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A lock that makes each communication step with an instrument atomic, shared by every session
 * and driver object that must not talk over each other.
 * <ul>
 * <li>Fair: released to the longest waiter (FIFO) within the highest {@link Priority}; waiting ages
 * low priorities so nothing starves.</li>
 * <li>Re-entrant: the holding thread may acquire again (nested steps inside a multi-step lease);
 * each acquire returns a {@link Lease} to close.</li>
 * <li>Bounded: {@link #acquire(Duration)} throws {@link LockTimeoutException} naming the holder,
 * what it is doing and for how long; {@link #tryAcquire()} never waits.</li>
 * <li>Safe: a thread whose wait would close a cycle of threads waiting for each other's locks gets
 * a {@link DeadlockException} instead of hanging; waits are interruptible.</li>
 * </ul>
 * Locks come from the {@link LockService}. All methods are thread-safe.
 */
@ProviderType
public interface SessionLock {

    /**
     * @return the lock's name, usually its lock-domain key (e.g. {@code TCPIP::10.0.0.5})
     */
    String name();

    /**
     * Waits as long as it takes for the lock, at {@link Priority#NORMAL}.
     *
     * @return the lease to close
     * @throws DeadlockException when waiting would close a cycle of waiting threads
     * @throws InterruptedException when the thread is interrupted while waiting (the lock is not held)
     */
    Lease acquire() throws DeadlockException, InterruptedException;

    /**
     * Waits at most {@code timeout} for the lock, at {@link Priority#NORMAL}.
     *
     * @param timeout the longest wait; zero or negative means try once
     * @return the lease to close
     * @throws LockTimeoutException when the timeout passed; it names the holder
     * @throws DeadlockException when waiting would close a cycle of waiting threads
     * @throws InterruptedException when the thread is interrupted while waiting (the lock is not held)
     */
    Lease acquire(Duration timeout) throws LockTimeoutException, DeadlockException, InterruptedException;

    /**
     * Waits at most {@code timeout} for the lock with the given priority, recording what the caller
     * is about to do so that diagnostics and other waiters' timeouts can name it.
     *
     * @param timeout the longest wait; zero or negative means try once
     * @param priority how urgently the lock is needed
     * @param activity what the caller will do while holding it, e.g. {@code query "FREQ?"}
     * @return the lease to close
     * @throws LockTimeoutException when the timeout passed; it names the holder
     * @throws DeadlockException when waiting would close a cycle of waiting threads
     * @throws InterruptedException when the thread is interrupted while waiting (the lock is not held)
     */
    Lease acquire(Duration timeout, Priority priority, String activity)
            throws LockTimeoutException, DeadlockException, InterruptedException;

    /**
     * Takes the lock only if it is free now and nobody is queued for it (or the calling thread
     * already holds it). Never waits.
     *
     * @return the lease, or empty when the lock is busy
     */
    Optional<Lease> tryAcquire();

    /**
     * As {@link #tryAcquire()}, recording the activity.
     *
     * @param activity what the caller will do while holding the lock
     * @return the lease, or empty when the lock is busy
     */
    Optional<Lease> tryAcquire(String activity);

    /**
     * @return whether the calling thread holds this lock
     */
    boolean isHeldByCurrentThread();

    /**
     * @return a snapshot of the lock's holder, waiters and counters
     */
    LockInfo info();
}
