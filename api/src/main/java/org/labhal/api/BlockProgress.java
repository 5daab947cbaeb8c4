package org.labhal.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Told how far a streamed binary-block transfer has come, e.g. to drive a progress bar or to
 * abandon a transfer that is no longer wanted.
 * <p>
 * Called on the thread that runs the transfer while it holds the session lock, so it should return
 * quickly and must not start steps on sessions sharing that lock. Calls for one transfer are
 * sequential and {@code bytesDone} never decreases. The first call comes once the block header is
 * known, with {@code bytesDone} 0; the last has {@code bytesDone == bytesTotal}. A transfer that
 * fails stops calling without reaching that, and one that reached it may still fail afterwards
 * (say, the message terminator never arrives); the transfer method's outcome is the final word.
 * <p>
 * To abandon a transfer, throw an unchecked exception: the session resynchronises with the
 * instrument and the transfer method rethrows it. Interrupting the thread also abandons it, with a
 * {@link StepInterruptedException}.
 */
@ConsumerType
@FunctionalInterface
public interface BlockProgress {

    /** Ignores every update. */
    BlockProgress NONE = (bytesDone, bytesTotal) -> {
        // nothing to report to
    };

    /**
     * @param bytesDone data bytes moved so far, not counting header or termination
     * @param bytesTotal the block's length in bytes; -1 while the length of an indefinite-length
     *        ({@code #0}) block is not known yet
     */
    void update(long bytesDone, long bytesTotal);
}
