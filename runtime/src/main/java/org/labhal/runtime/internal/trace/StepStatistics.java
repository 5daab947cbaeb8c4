package org.labhal.runtime.internal.trace;

import org.labhal.api.trace.StepKind;

/**
 * The latency of one kind of step of one instrument, since the runtime started or the statistics were reset.
 *
 * @param kind the kind of step
 * @param count how many
 * @param failures how many failed
 * @param p50Nanos the median time a step took, lock wait included
 * @param p99Nanos the 99th percentile
 * @param maxNanos the longest
 * @param lockWaitShare the part of all these steps' time spent waiting for locks, 0 to 1
 */
public record StepStatistics(StepKind kind, long count, long failures, long p50Nanos, long p99Nanos, long maxNanos,
        double lockWaitShare) {
}
