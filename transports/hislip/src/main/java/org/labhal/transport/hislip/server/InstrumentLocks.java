package org.labhal.transport.hislip.server;

import java.time.Duration;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * The HiSLIP lock of one instrument, shared by all its sessions (IVI-6.1 2.5 "Locking Mechanism",
 * the AsyncLock and AsyncLockInfo transactions), and what it means for the sessions that do not
 * hold it.
 *
 * <h2>Granting</h2>
 * <ul>
 * <li>Exclusive (empty lock string): granted when no other session holds the exclusive lock and
 * every session holding the shared lock is the asking one, or the asking session holds the shared
 * lock itself (it may take the exclusive lock on top, keeping the other sharers out until it
 * releases it).</li>
 * <li>Shared (a lock string): granted when no session holds the exclusive lock and the shared lock
 * is free or held under the same lock string.</li>
 * <li>Asking for a lock the session holds already, or for the shared lock while holding the
 * exclusive one, is an error (3) and does not wait; otherwise a request waits up to its timeout
 * (0: tries once) and then fails (0).</li>
 * <li>Release takes the exclusive lock first (1), then the shared one (2); releasing none is an
 * error (3). A session that goes away releases everything it held, and a request still waiting for
 * it is never granted.</li>
 * </ul>
 *
 * <h2>Access</h2>
 * A session may operate on the instrument (Data, DataEND, Trigger, device clear, remote/local
 * control) when it holds the exclusive lock, or nobody does and either nobody holds the shared lock
 * or it is one of the sharers. Otherwise its operation is held off ({@link #awaitAccess}) until the
 * lock state lets it through, as the instruments that implement HiSLIP locks do: the client's own
 * timeout decides how long it waits. Status queries, lock requests and lock information are never
 * held off.
 *
 * <p>Thread-safe: one monitor; every change of the lock state wakes every waiter.
 */
final class InstrumentLocks {
    static final int FAILURE = 0;
    static final int SUCCESS = 1; // lock granted, or exclusive lock released
    static final int SHARED_RELEASED = 2;
    static final int ERROR = 3;
    private static final int NOBODY = -1;

    private int exclusive = NOBODY; // session id; guarded by this
    private final Map<Integer, String> shared = new HashMap<>(); // session id -> lock string; guarded by this
    private final EnumMap<HislipServer.HeldOperation, Integer> heldOff =
            new EnumMap<>(HislipServer.HeldOperation.class); // waiting in awaitAccess; guarded by this

    /**
     * @param session the asking session
     * @param lockString empty for exclusive
     * @param timeoutMillis how long to wait, unsigned
     * @param gone whether the asking session went away meanwhile (then nothing is granted)
     * @return {@link #SUCCESS}, {@link #FAILURE} (timed out, or the session went away) or {@link #ERROR}
     */
    synchronized int acquire(int session, String lockString, long timeoutMillis, BooleanSupplier gone)
            throws InterruptedException {
        boolean wantsExclusive = lockString.isEmpty();
        if (wantsExclusive ? exclusive == session : shared.containsKey(session) || exclusive == session) {
            return ERROR;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (!(wantsExclusive ? exclusiveGrantable(session) : sharedGrantable(lockString))) {
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0 || gone.getAsBoolean()) {
                return FAILURE;
            }
            TimeUnit.NANOSECONDS.timedWait(this, remaining);
        }
        if (gone.getAsBoolean()) {
            return FAILURE;
        }
        if (wantsExclusive) {
            exclusive = session;
        } else {
            shared.put(session, lockString);
        }
        notifyAll();
        return SUCCESS;
    }

    private boolean exclusiveGrantable(int session) {
        return exclusive == NOBODY && (shared.isEmpty() || shared.containsKey(session));
    }

    private boolean sharedGrantable(String lockString) {
        return exclusive == NOBODY && shared.values().stream().allMatch(lockString::equals);
    }

    /** @return {@link #SUCCESS} (exclusive released), {@link #SHARED_RELEASED} or {@link #ERROR} (none held) */
    synchronized int release(int session) {
        if (exclusive == session) {
            exclusive = NOBODY;
            notifyAll();
            return SUCCESS;
        }
        if (shared.remove(session) != null) {
            notifyAll();
            return SHARED_RELEASED;
        }
        return ERROR;
    }

    /** Releases everything a session that went away held, and wakes what waits for it. */
    synchronized void releaseAll(int session) {
        if (exclusive == session) {
            exclusive = NOBODY;
        }
        shared.remove(session);
        notifyAll();
    }

    /** @return whether the session holds a lock, exclusive or shared */
    synchronized boolean holds(int session) {
        return exclusive == session || shared.containsKey(session);
    }

    /** @return whether the session may operate on the instrument now (see the class comment) */
    synchronized boolean mayAccess(int session) {
        return exclusive == session
                || exclusive == NOBODY && (shared.isEmpty() || shared.containsKey(session));
    }

    /**
     * Waits until the session may operate on the instrument.
     *
     * @param operation what waits, for {@link #heldOff}
     * @param cancelled checked on every wake-up; {@link #wake()} after it becomes true
     * @return {@code true} when access is granted, {@code false} when cancelled first
     */
    synchronized boolean awaitAccess(int session, HislipServer.HeldOperation operation, BooleanSupplier cancelled)
            throws InterruptedException {
        if (mayAccess(session)) {
            return true;
        }
        heldOff.merge(operation, 1, Integer::sum);
        notifyAll();
        try {
            while (!mayAccess(session)) {
                if (cancelled.getAsBoolean()) {
                    return false;
                }
                wait();
            }
            return true;
        } finally {
            heldOff.merge(operation, -1, Integer::sum);
            notifyAll();
        }
    }

    /** Wakes every waiter so that it checks its cancellation. */
    synchronized void wake() {
        notifyAll();
    }

    /** @return how many operations of this kind ({@code null}: any) wait in {@link #awaitAccess} now */
    synchronized int heldOff(HislipServer.HeldOperation operation) {
        return operation == null ? heldOff.values().stream().mapToInt(Integer::intValue).sum()
                : heldOff.getOrDefault(operation, 0);
    }

    /**
     * Waits until at least {@code count} operations of this kind ({@code null}: any) are held off.
     *
     * @throws TimeoutException naming the count reached when the timeout passed first
     */
    synchronized void awaitHeldOff(HislipServer.HeldOperation operation, int count, Duration timeout)
            throws TimeoutException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (heldOff(operation) < count) {
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                throw new TimeoutException(heldOff(operation) + " " + (operation == null ? "operation(s)" : operation)
                        + " held off by the lock after " + timeout.toMillis() + " ms, not the " + count + " awaited");
            }
            TimeUnit.NANOSECONDS.timedWait(this, remaining);
        }
    }

    synchronized boolean exclusiveHeld() {
        return exclusive != NOBODY;
    }

    /** @return how many sessions hold a lock, exclusive or shared; a session holding both counts once */
    synchronized int holders() {
        int n = shared.size();
        return exclusive != NOBODY && !shared.containsKey(exclusive) ? n + 1 : n;
    }
}
