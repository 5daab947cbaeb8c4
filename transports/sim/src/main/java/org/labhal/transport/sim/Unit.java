package org.labhal.transport.sim;

import java.util.Map;

/**
 * Suffix units of numeric parameters and their SCPI multipliers (SCPI 1999 vol. 1, 7.7.3).
 * Suffixes are case-insensitive, so {@code M} is always milli except in {@code MHZ} (mega).
 */
enum Unit {
    HERTZ("HZ", true),
    DECIBEL_MILLIWATT("DBM", false),
    VOLT("V", true);

    private static final Map<String, Integer> MULTIPLIERS = Map.ofEntries(
            Map.entry("EX", 18), Map.entry("PE", 15), Map.entry("T", 12), Map.entry("G", 9),
            Map.entry("MA", 6), Map.entry("K", 3), Map.entry("M", -3), Map.entry("U", -6),
            Map.entry("N", -9), Map.entry("P", -12), Map.entry("F", -15), Map.entry("A", -18));

    private final String symbol;
    private final boolean multipliable;

    Unit(String symbol, boolean multipliable) {
        this.symbol = symbol;
        this.multipliable = multipliable;
    }

    /**
     * @param suffix the upper-case suffix as parsed, empty for none (the number is in this unit)
     * @return the power of ten that converts a number with this suffix to this unit
     * @throws CommandException -131 when the suffix is not this unit
     */
    int exponent(String suffix) throws CommandException {
        if (suffix.isEmpty() || suffix.equals(symbol)) {
            return 0;
        }
        if (this == HERTZ && suffix.equals("MHZ")) {
            return 6;
        }
        if (multipliable && suffix.endsWith(symbol)) {
            Integer exponent = MULTIPLIERS.get(suffix.substring(0, suffix.length() - symbol.length()));
            if (exponent != null) {
                return exponent;
            }
        }
        throw new CommandException(ScpiError.INVALID_SUFFIX);
    }
}
