package org.labhal.api.lock;

import java.time.Duration;

/** Human-readable durations for exception messages and diagnostics. */
final class Durations {
    private Durations() {
    }

    static String format(Duration d) {
        long micros = d.toNanos() / 1_000;
        if (micros < 1_000) {
            return micros + " µs";
        }
        if (micros < 10_000_000) {
            return String.format(java.util.Locale.ROOT, "%.1f ms", micros / 1_000.0);
        }
        return String.format(java.util.Locale.ROOT, "%.1f s", micros / 1_000_000.0);
    }
}
