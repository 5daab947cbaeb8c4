package org.labhal.transport.hislip.server;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The HiSLIP lock of one instrument, shared by all its sessions: one exclusive holder, or any number
 * of shared holders that asked with the same lock string. A session holding the shared lock may also
 * take the exclusive one once it is the only holder. Thread-safe; waiting requests wake on every
 * release.
 */
final class InstrumentLocks {
    static final int FAILURE = 0;
    static final int SUCCESS = 1; // lock granted, or exclusive lock released
    static final int SHARED_RELEASED = 2;
    static final int ERROR = 3;

    private Integer exclusive; // session id; guarded by this
    private final Map<Integer, String> shared = new HashMap<>(); // session id -> lock string; guarded by this

    /**
     * @param session the asking session
     * @param lockString empty for exclusive
     * @param timeoutMillis how long to wait, unsigned
     * @return {@link #SUCCESS}, {@link #FAILURE} (timed out) or {@link #ERROR} (already held)
     */
    synchronized int acquire(int session, String lockString, long timeoutMillis) throws InterruptedException {
        boolean wantsExclusive = lockString.isEmpty();
        if (wantsExclusive ? Integer.valueOf(session).equals(exclusive) : shared.containsKey(session)) {
            return ERROR;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (!grantable(session, lockString)) {
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                return FAILURE;
            }
            TimeUnit.NANOSECONDS.timedWait(this, remaining);
        }
        if (wantsExclusive) {
            exclusive = session;
        } else {
            shared.put(session, lockString);
        }
        return SUCCESS;
    }

    private boolean grantable(int session, String lockString) {
        if (exclusive != null && exclusive != session) {
            return false;
        }
        for (Map.Entry<Integer, String> holder : shared.entrySet()) {
            if (holder.getKey() != session && (lockString.isEmpty() || !holder.getValue().equals(lockString))) {
                return false;
            }
        }
        return true;
    }

    /** @return {@link #SUCCESS} (exclusive released), {@link #SHARED_RELEASED} or {@link #ERROR} (none held) */
    synchronized int release(int session) {
        if (Integer.valueOf(session).equals(exclusive)) {
            exclusive = null;
            notifyAll();
            return SUCCESS;
        }
        if (shared.remove(session) != null) {
            notifyAll();
            return SHARED_RELEASED;
        }
        return ERROR;
    }

    /** Releases everything a session that went away held. */
    synchronized void releaseAll(int session) {
        if (Integer.valueOf(session).equals(exclusive)) {
            exclusive = null;
        }
        shared.remove(session);
        notifyAll();
    }

    synchronized boolean exclusiveHeld() {
        return exclusive != null;
    }

    /** @return how many sessions hold a lock, exclusive or shared */
    synchronized int holders() {
        int n = shared.size();
        return exclusive != null && !shared.containsKey(exclusive) ? n + 1 : n;
    }
}
