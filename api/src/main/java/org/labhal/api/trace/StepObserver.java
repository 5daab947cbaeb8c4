package org.labhal.api.trace;

/**
 * Told of every step of the sessions it was given to ({@link org.labhal.api.SessionOptions#withStepObserver}),
 * after the step has given back its locks, on the thread that made the step.
 * <p>
 * An observer runs inside the caller's step: it must be quick and must never block (hand records to a
 * bounded queue, drop and count when it is full). What it throws, errors included, is caught and does not
 * change the step's outcome.
 */
@FunctionalInterface
public interface StepObserver {
    /**
     * @param step what the step did and how it ended
     */
    void stepDone(StepRecord step);

    /**
     * How much of a block answer ({@code queryBlock}, {@code queryBinaryValues}) to keep for
     * {@link StepRecord#answerData()}: a block may be streamed to the caller's sink and never be in memory
     * whole, so the step keeps a copy of its head, up to this many bytes. {@code queryBytes} answers are
     * passed whole, as the caller's own array. Read once per block step.
     *
     * @return bytes to keep, 0 (the default) for none
     */
    default int blockAnswerHead() {
        return 0;
    }
}
