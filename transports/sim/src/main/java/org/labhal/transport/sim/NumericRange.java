package org.labhal.transport.sim;

import java.math.BigDecimal;
import java.util.Optional;

/**
 * The accepted values of a numeric setting, in its base unit, and its {@code *RST} value; also
 * what {@code MINimum}, {@code MAXimum} and {@code DEFault} stand for.
 */
record NumericRange(BigDecimal min, BigDecimal max, BigDecimal preset) {

    static NumericRange of(String min, String max, String preset) {
        return new NumericRange(new BigDecimal(min), new BigDecimal(max), new BigDecimal(preset));
    }

    boolean contains(BigDecimal value) {
        return value.compareTo(min) >= 0 && value.compareTo(max) <= 0;
    }

    Optional<BigDecimal> named(Param.CharacterData word) {
        if (word.is("MIN", "MINIMUM")) {
            return Optional.of(min);
        }
        if (word.is("MAX", "MAXIMUM")) {
            return Optional.of(max);
        }
        if (word.is("DEF", "DEFAULT")) {
            return Optional.of(preset);
        }
        return Optional.empty();
    }
}
