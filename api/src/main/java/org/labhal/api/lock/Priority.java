package org.labhal.api.lock;

/**
 * How urgently a waiter wants a {@link SessionLock}. When the lock is released it goes to the waiter
 * with the highest effective priority, and among equals to the one that came first (FIFO).
 * <p>
 * Waiting ages a request: its effective priority rises by one level for every aging interval it has
 * waited (see {@link LockService}), so a {@link #LOW} request outranks fresh {@link #URGENT} ones
 * after three intervals and is never starved.
 */
public enum Priority {
    /** Background work (polling, logging) that may wait for everything else. */
    LOW,
    /** Ordinary communication steps; the default. */
    NORMAL,
    /** Steps someone is waiting for interactively. */
    HIGH,
    /** Safety actions such as switching an RF output off: go before everything already waiting. */
    URGENT;

    /**
     * @return the rank used for ordering waiters; higher goes first
     */
    public int rank() {
        return ordinal();
    }
}
