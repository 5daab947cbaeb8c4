package org.labhal.transport.sim;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;

/**
 * One program message unit handed to its {@link CommandTable.Handler}: parameters with typed,
 * error-reporting accessors, the header's numeric suffixes and the running {@link Execution}.
 */
final class Invocation {

    private final Execution execution;
    private final List<Param> params;
    private final int[] suffixes;

    Invocation(Execution execution, List<Param> params, int[] suffixes) {
        this.execution = execution;
        this.params = params;
        this.suffixes = suffixes;
    }

    Execution execution() {
        return execution;
    }

    /** The numeric suffix of the {@code slot}-th suffixed node of the command's pattern (1 if omitted). */
    int suffix(int slot) {
        return suffixes[slot];
    }

    /**
     * @throws CommandException -109 when fewer than {@code min}, -108 when more than {@code max}
     *         parameters were sent
     */
    void expectParameters(int min, int max) throws CommandException {
        if (params.size() < min) {
            throw new CommandException(ScpiError.MISSING_PARAMETER);
        }
        if (params.size() > max) {
            throw new CommandException(ScpiError.PARAMETER_NOT_ALLOWED);
        }
    }

    int count() {
        return params.size();
    }

    Param param(int index) {
        return params.get(index);
    }

    /**
     * A numeric value in {@code unit}'s base unit: a number with an optional suffix, or
     * MINimum/MAXimum/DEFault.
     *
     * @throws CommandException -104 wrong type, -131 wrong suffix, -224 other character data,
     *         -222 outside {@code range}
     */
    BigDecimal decimal(int index, Unit unit, NumericRange range) throws CommandException {
        Param p = params.get(index);
        if (p instanceof Param.DecimalData d) {
            BigDecimal value = d.value().scaleByPowerOfTen(unit.exponent(d.suffix()));
            if (!range.contains(value)) {
                throw new CommandException(ScpiError.DATA_OUT_OF_RANGE);
            }
            return value;
        }
        if (p instanceof Param.CharacterData c) {
            return range.named(c).orElseThrow(() -> new CommandException(ScpiError.ILLEGAL_PARAMETER_VALUE));
        }
        throw new CommandException(ScpiError.DATA_TYPE_ERROR);
    }

    /**
     * The MINimum/MAXimum/DEFault argument of a query such as {@code FREQ? MAX}.
     *
     * @throws CommandException -224 for other character data, -104 for other types
     */
    BigDecimal limit(int index, NumericRange range) throws CommandException {
        if (params.get(index) instanceof Param.CharacterData c) {
            return range.named(c).orElseThrow(() -> new CommandException(ScpiError.ILLEGAL_PARAMETER_VALUE));
        }
        throw new CommandException(ScpiError.DATA_TYPE_ERROR);
    }

    /**
     * A SCPI boolean: ON/OFF, or a number rounded to an integer where non-zero means ON.
     *
     * @throws CommandException -224 for other character data, -131 for a suffix, -104 for other types
     */
    boolean bool(int index) throws CommandException {
        Param p = params.get(index);
        if (p instanceof Param.CharacterData c) {
            if (c.is("ON")) {
                return true;
            }
            if (c.is("OFF")) {
                return false;
            }
            throw new CommandException(ScpiError.ILLEGAL_PARAMETER_VALUE);
        }
        if (p instanceof Param.DecimalData d) {
            if (!d.suffix().isEmpty()) {
                throw new CommandException(ScpiError.INVALID_SUFFIX);
            }
            return d.value().setScale(0, RoundingMode.HALF_EVEN).signum() != 0;
        }
        throw new CommandException(ScpiError.DATA_TYPE_ERROR);
    }

    /**
     * An integer (NRf rounded, IEEE 488.2 7.7.2.2) within {@code [min, max]}.
     *
     * @throws CommandException -104 wrong type, -131 suffix, -222 out of range
     */
    int integer(int index, int min, int max) throws CommandException {
        if (!(params.get(index) instanceof Param.DecimalData d)) {
            throw new CommandException(ScpiError.DATA_TYPE_ERROR);
        }
        if (!d.suffix().isEmpty()) {
            throw new CommandException(ScpiError.INVALID_SUFFIX);
        }
        BigDecimal rounded = d.value().setScale(0, RoundingMode.HALF_EVEN);
        if (rounded.compareTo(BigDecimal.valueOf(min)) < 0 || rounded.compareTo(BigDecimal.valueOf(max)) > 0) {
            throw new CommandException(ScpiError.DATA_OUT_OF_RANGE);
        }
        return rounded.intValueExact();
    }

    /**
     * A token as a distinguishable word: character or numeric data as sent, string data unquoted.
     *
     * @throws CommandException -104 for a channel list
     */
    String token(int index) throws CommandException {
        Param p = params.get(index);
        if (p instanceof Param.StringData s) {
            return s.value();
        }
        if (p instanceof Param.ChannelList) {
            throw new CommandException(ScpiError.DATA_TYPE_ERROR);
        }
        return p.text();
    }

    void respond(String answer) {
        execution.respond(answer);
    }
}
