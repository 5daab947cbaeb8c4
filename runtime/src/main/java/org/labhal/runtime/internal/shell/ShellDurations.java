package org.labhal.runtime.internal.shell;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as typed at the shell ({@code 500ms}, {@code 5s}, {@code 2m}, a plain number is seconds) and as shown. */
public final class ShellDurations {
    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|min)?");

    private ShellDurations() {
    }

    /**
     * @param text e.g. {@code 500ms}, {@code 5s}, {@code 1.5s}, {@code 2m}; a plain number is seconds
     * @param what the argument's name, for the message
     * @return the duration
     * @throws IllegalArgumentException naming the argument when the text is not a duration
     */
    public static Duration parse(String text, String what) {
        Matcher m = DURATION.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException(what + " '" + text + "' is not a duration: write e.g. 500ms, 5s or 2m "
                    + "(a plain number is seconds)");
        }
        double amount = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        double millis = switch (unit) {
            case "ms" -> amount;
            case "m", "min" -> amount * 60_000;
            default -> amount * 1000;
        };
        return Duration.ofNanos(Math.round(millis * 1_000_000));
    }

    /**
     * @param duration a duration
     * @return e.g. {@code 850 us}, {@code 12.3 ms}, {@code 4.21 s}, {@code 3 min 5 s}
     */
    public static String format(Duration duration) {
        long nanos = duration.toNanos();
        if (nanos < 1_000_000) {
            return nanos / 1000 + " us";
        }
        if (nanos < 10_000_000) {
            return String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
        }
        if (nanos < 1_000_000_000) {
            return String.format(Locale.ROOT, "%.1f ms", nanos / 1e6);
        }
        if (nanos < 60_000_000_000L) {
            return String.format(Locale.ROOT, "%.2f s", nanos / 1e9);
        }
        long seconds = duration.toSeconds();
        return seconds / 60 + " min " + seconds % 60 + " s";
    }
}
