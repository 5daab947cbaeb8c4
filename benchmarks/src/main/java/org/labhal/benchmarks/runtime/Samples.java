package org.labhal.benchmarks.runtime;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/** Repeated measurements of one quantity, summarised as median, minimum and maximum. */
final class Samples {
    private final String unit;
    private final List<Double> values = new ArrayList<>();

    Samples(String unit) {
        this.unit = unit;
    }

    void add(double value) {
        values.add(value);
    }

    /** @param other samples of the same quantity, added to these */
    void addAll(Samples other) {
        values.addAll(other.values);
    }

    boolean isEmpty() {
        return values.isEmpty();
    }

    double median() {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    double min() {
        return Collections.min(values);
    }

    double max() {
        return Collections.max(values);
    }

    /** @return e.g. {@code 812 ms (min 790, max 901, n 10)} */
    String summary() {
        if (values.isEmpty()) {
            return "-";
        }
        return String.format(Locale.ROOT, "%s %s (min %s, max %s, n %d)", format(median()), unit, format(min()),
                format(max()), values.size());
    }

    /** @return every value, in the order measured */
    String all() {
        List<String> texts = new ArrayList<>();
        values.forEach(v -> texts.add(format(v)));
        return String.join(" ", texts);
    }

    static String format(double value) {
        return Math.abs(value) >= 100 || value == Math.rint(value) ? String.format(Locale.ROOT, "%.0f", value)
                : String.format(Locale.ROOT, "%.1f", value);
    }
}
