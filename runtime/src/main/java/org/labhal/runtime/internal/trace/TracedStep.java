package org.labhal.runtime.internal.trace;

import java.time.Instant;
import java.util.List;

import org.labhal.api.trace.StepKind;

/** TEMPORARY STAND-IN (web branch). Delete before merging. */
public record TracedStep(long seq, Instant time, String instrument, String session, String thread,
        StepKind kind, String command, String answer, boolean binary, long answerBytes, boolean truncated,
        long lockWaitNanos, long ioNanos, String outcome, String error, List<String> errors) {
    public String toJson() {
        return "{\"seq\":" + seq + ",\"instrument\":\"" + instrument + "\",\"kind\":\"" + kind + "\"}";
    }
}
