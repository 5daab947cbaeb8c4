package org.labhal.api.transport;

/**
 * Runs release paths (an instrument-side unlock, a device clear after a failure, a close) to the end
 * whatever the caller's interrupt flag says. An interrupted thread makes most blocking JDK calls
 * fail at once; a release that fails so leaves the instrument locked or out of step. This clears
 * the flag, runs the action and sets the flag again if it was set or got set meanwhile, so the
 * interrupt is still seen by the caller.
 */
public final class Uninterruptibly {
    private Uninterruptibly() {
    }

    /** A release path that may fail with {@code E}. */
    @FunctionalInterface
    public interface Action<E extends Exception> {
        /** @throws E when the release failed */
        void run() throws E;
    }

    /**
     * Runs {@code action} with the interrupt flag cleared and restores it afterwards.
     *
     * @param action the release path; it must bound its own waits
     * @param <E> what the action may throw
     * @throws E what the action threw, after the flag was restored
     */
    public static <E extends Exception> void run(Action<E> action) throws E {
        boolean interrupted = Thread.interrupted();
        try {
            action.run();
        } finally {
            if (interrupted || Thread.interrupted()) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
