package org.labhal.api.lock;

import java.util.List;

/**
 * Waiting for a lock would have closed a cycle of threads each waiting for a lock another holds.
 * The thread that would have closed the cycle gets this instead of hanging (it holds none of the
 * lock it asked for); releasing its other locks lets the rest go on.
 */
public class DeadlockException extends LockException {
    private static final long serialVersionUID = 1L;
    private final List<String> threads;
    private final List<String> locks;

    /**
     * @param threads the threads in the cycle, starting with the one that detected it
     * @param locks {@code locks.get(i)} is what {@code threads.get(i)} waits for, held by
     *        {@code threads.get(i + 1)} (wrapping around)
     */
    public DeadlockException(List<String> threads, List<String> locks) {
        super(locks.get(0), describe(threads, locks));
        this.threads = List.copyOf(threads);
        this.locks = List.copyOf(locks);
    }

    private static String describe(List<String> threads, List<String> locks) {
        StringBuilder text = new StringBuilder("Deadlock: ");
        for (int i = 0; i < threads.size(); i++) {
            String next = threads.get((i + 1) % threads.size());
            if (i > 0) {
                text.append(", which ");
            } else {
                text.append("thread \"").append(threads.get(0)).append("\" ");
            }
            text.append("waits for lock '").append(locks.get(i)).append("' held by thread \"")
                    .append(next).append('"');
        }
        return text.toString();
    }

    /**
     * @return the threads in the cycle, starting with the one that detected it
     */
    public List<String> threads() {
        return threads;
    }

    /**
     * @return the locks in the cycle: element i is waited for by thread i and held by thread i + 1
     */
    public List<String> locks() {
        return locks;
    }
}
