package org.labhal.api.internal.session;

import java.util.Arrays;

import org.labhal.api.MalformedResponseException;

/**
 * Parses a response that lists decimal numbers separated by commas, as IEEE 488.2 NR1
 * ({@code -12}), NR2 ({@code -12.5}) and NR3 ({@code -1.25E+1}) values, with whitespace allowed
 * around each. Stricter than {@link Double#parseDouble}, which would also take {@code NaN},
 * {@code 0x1p3} or {@code 1d}: an instrument never sends those, so they mean a garbled response.
 */
final class AsciiValues {
    private AsciiValues() {
    }

    /**
     * @param response the response, without its terminator
     * @param resource names the resource in messages
     * @param query the query that was answered, for messages
     * @return the values in order; empty for an empty (or all-whitespace) response
     * @throws MalformedResponseException naming the first element that is not a decimal number
     */
    static double[] parse(String response, String resource, String query) throws MalformedResponseException {
        if (response.isBlank()) {
            return new double[0];
        }
        double[] values = new double[16];
        int count = 0;
        int start = 0;
        while (true) {
            int comma = response.indexOf(',', start);
            int stop = comma < 0 ? response.length() : comma;
            int from = start;
            int to = stop;
            while (from < to && isSpace(response.charAt(from))) {
                from++;
            }
            while (to > from && isSpace(response.charAt(to - 1))) {
                to--;
            }
            if (!isDecimal(response, from, to)) {
                throw new MalformedResponseException(resource + ": element " + (count + 1) + " of "
                        + (count + 1 + countCommas(response, stop)) + " in the response to \"" + query + "\", "
                        + Excerpt.of(response.substring(start, stop)) + " at character " + start
                        + ", is not a decimal number (NR1, NR2 or NR3)");
            }
            if (count == values.length) {
                values = Arrays.copyOf(values, count * 2);
            }
            values[count++] = Double.parseDouble(response.substring(from, to));
            if (comma < 0) {
                return Arrays.copyOf(values, count);
            }
            start = comma + 1;
        }
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
    }

    /** {@code [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?} */
    static boolean isDecimal(String text, int from, int to) {
        int i = from;
        if (i < to && (text.charAt(i) == '+' || text.charAt(i) == '-')) {
            i++;
        }
        int mantissa = 0;
        while (i < to && isDigit(text.charAt(i))) {
            i++;
            mantissa++;
        }
        if (i < to && text.charAt(i) == '.') {
            i++;
            while (i < to && isDigit(text.charAt(i))) {
                i++;
                mantissa++;
            }
        }
        if (mantissa == 0) {
            return false;
        }
        if (i < to && (text.charAt(i) == 'e' || text.charAt(i) == 'E')) {
            i++;
            if (i < to && (text.charAt(i) == '+' || text.charAt(i) == '-')) {
                i++;
            }
            int exponent = 0;
            while (i < to && isDigit(text.charAt(i))) {
                i++;
                exponent++;
            }
            if (exponent == 0) {
                return false;
            }
        }
        return i == to;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static int countCommas(String text, int from) {
        int commas = 0;
        for (int i = from; i < text.length(); i++) {
            if (text.charAt(i) == ',') {
                commas++;
            }
        }
        return commas;
    }
}
