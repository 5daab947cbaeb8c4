package org.labhal.api.lock;

import org.labhal.api.LabHalException;

/**
 * A session lock could not be taken; see the subclasses.
 */
public abstract class LockException extends LabHalException {
    private static final long serialVersionUID = 1L;
    private final String lockName;

    /**
     * @param lockName the lock concerned
     * @param message what happened
     */
    protected LockException(String lockName, String message) {
        super(message);
        this.lockName = lockName;
    }

    /**
     * @return the name of the lock that could not be taken
     */
    public String lockName() {
        return lockName;
    }
}
