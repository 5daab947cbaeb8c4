package org.labhal.api.lock;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Proof of holding a {@link SessionLock}, returned by every successful acquire. Closing the lease
 * gives one hold back; use it in try-with-resources so exceptions never leak a lock:
 *
 * <pre>{@code
 * try (Lease lease = session.lock().acquire(Duration.ofSeconds(5))) {
 *     session.write("FREQ 1 GHz");
 *     session.write("OUTP ON");          // re-enters the same lock: no other step in between
 *     String level = session.query("POW?");
 * }
 * }</pre>
 * <p>
 * Threading: a lease belongs to the thread that acquired it and must be closed by that thread.
 */
@ProviderType
public interface Lease extends AutoCloseable {

    /**
     * @return the lock this lease holds
     */
    SessionLock lock();

    /**
     * Gives this hold back. When it was the thread's last hold the lock passes to the next waiter.
     * Closing a lease twice has no further effect.
     *
     * @throws IllegalStateException when called by a thread other than the one that acquired it
     */
    @Override
    void close();
}
