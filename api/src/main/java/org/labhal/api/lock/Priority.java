package org.labhal.api.lock;

/**
 * How urgently a waiter wants a {@link SessionLock}. When the lock is released it goes to the waiter
 * with the highest effective priority, and among equals to the one that came first (FIFO).
 * <p>
 * Waiting ages a request: the effective priority of a {@link #LOW}, {@link #NORMAL} or {@link #HIGH}
 * request rises by one level for every aging interval it has waited (100 ms by default), up to
 * {@code HIGH}. So a LOW request that has waited two intervals goes before fresh HIGH ones and none of
 * them starves, while an {@link #URGENT} request (an "RF off") always goes before everything that is
 * not urgent. Only a never-ending stream of urgent requests could hold the others back.
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
