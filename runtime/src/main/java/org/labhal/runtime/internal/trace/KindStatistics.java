package org.labhal.runtime.internal.trace;

import java.util.concurrent.atomic.LongAdder;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.labhal.api.trace.StepKind;
import org.labhal.api.trace.StepRecord;

/**
 * The latency of one kind of step of one instrument: steps record into an HdrHistogram {@link Recorder}
 * (wait-free for the recording thread); a reader folds what was recorded since into a cumulative histogram.
 */
final class KindStatistics {
    /** Two significant digits: percentiles within 1 %, a few kilobytes per histogram. */
    private static final int DIGITS = 2;

    private final StepKind kind;
    private final Recorder recorder = new Recorder(DIGITS);
    private final LongAdder failures = new LongAdder();
    private final LongAdder lockWaitNanos = new LongAdder();
    private final LongAdder totalNanos = new LongAdder();
    /** Guarded by this: what the readers have folded in so far. */
    private final Histogram cumulative = new Histogram(DIGITS);
    private Histogram interval;

    KindStatistics(StepKind kind) {
        this.kind = kind;
    }

    void add(StepRecord step) {
        long total = Math.max(0, step.lockWaitNanos()) + Math.max(0, step.ioNanos());
        recorder.recordValue(total);
        lockWaitNanos.add(Math.max(0, step.lockWaitNanos()));
        totalNanos.add(total);
        if (step.failure() != null) {
            failures.increment();
        }
    }

    synchronized StepStatistics snapshot() {
        interval = recorder.getIntervalHistogram(interval);
        cumulative.add(interval);
        long total = totalNanos.sum();
        return new StepStatistics(kind, cumulative.getTotalCount(), failures.sum(),
                cumulative.getValueAtPercentile(50), cumulative.getValueAtPercentile(99), cumulative.getMaxValue(),
                total == 0 ? 0 : (double) lockWaitNanos.sum() / total);
    }
}
