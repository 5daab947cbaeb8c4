package org.labhal.runtime.internal.trace;

import java.time.Duration;
import java.util.List;

/**
 * A live view of the steps of every instrument whose trace is on ({@link Traces#follow}). Its queue is
 * bounded: when its reader falls behind, new steps are dropped and counted, and the steps themselves never
 * wait for it. Close it when done.
 */
public interface TraceFeed extends AutoCloseable {
    /**
     * @param wait the longest wait for a first step
     * @return the steps queued, oldest first; empty when none came within the wait or the feed is closed
     * @throws InterruptedException when interrupted while waiting
     */
    List<TracedStep> poll(Duration wait) throws InterruptedException;

    /** @return how many steps this feed dropped because its queue was full */
    long dropped();

    @Override
    void close();
}
