package org.labhal.runtime.internal.trace;

import org.labhal.api.trace.StepKind;

/** TEMPORARY STAND-IN (web branch). Delete before merging. */
public record StepStatistics(StepKind kind, long count, long failures, long p50Nanos, long p99Nanos,
        long maxNanos, double lockWaitShare) {
}
