package org.labhal.runtime.internal.trace;

import java.util.List;

/** TEMPORARY STAND-IN (web branch). Delete before merging. */
public final class InstrumentTrace {
    private final String id;
    private volatile boolean on;

    InstrumentTrace(String id) {
        this.id = id;
    }

    public String instrumentId() {
        return id;
    }

    public boolean tracing() {
        return on;
    }

    public void trace(boolean on) {
        this.on = on;
    }

    public List<TracedStep> last(int n) {
        return List.of();
    }

    public List<StepStatistics> statistics() {
        return List.of();
    }
}
