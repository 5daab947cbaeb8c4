package org.labhal.runtime.internal.trace;

import java.time.Duration;
import java.util.List;

/** TEMPORARY STAND-IN (web branch). Delete before merging. */
public interface TraceFeed extends AutoCloseable {
    List<TracedStep> poll(Duration wait) throws InterruptedException;

    long dropped();

    @Override
    void close();
}
