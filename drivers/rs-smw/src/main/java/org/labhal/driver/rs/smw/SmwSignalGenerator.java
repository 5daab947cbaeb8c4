package org.labhal.driver.rs.smw;

import java.math.BigDecimal;
import java.util.Objects;

import org.labhal.api.LabHalException;
import org.labhal.api.instrument.ScpiInstrument;
import org.labhal.api.instrument.SignalGenerator;

/**
 * A {@link SignalGenerator} over the R&amp;S SMW200A command set, on RF path A ({@code SOURce1},
 * {@code OUTPut1}). Every call is one step on the given {@link ScpiInstrument}; the object holds
 * nothing else, so drivers can be dropped and recreated at any time. Thread-safe.
 * <p>
 * Values go out in plain decimal notation with the precision of a {@code double}
 * ({@code SOUR1:FREQ:CW 2500000000}). Ranges depend on the installed frequency option, so they are
 * left to the instrument, which refuses a bad value with {@code -222,"Data out of range"} in its error
 * queue: with error checking on (the model's default) the setter then throws.
 */
public final class SmwSignalGenerator implements SignalGenerator {
    private final ScpiInstrument instrument;

    /**
     * @param instrument the instrument to talk to
     */
    public SmwSignalGenerator(ScpiInstrument instrument) {
        this.instrument = Objects.requireNonNull(instrument, "instrument");
    }

    @Override
    public double frequency() throws LabHalException {
        return instrument.queryDouble("SOUR1:FREQ:CW?");
    }

    @Override
    public void setFrequency(double hertz) throws LabHalException {
        instrument.write("SOUR1:FREQ:CW " + plain(hertz, "frequency"));
    }

    @Override
    public double level() throws LabHalException {
        return instrument.queryDouble("SOUR1:POW:LEV:IMM:AMPL?");
    }

    @Override
    public void setLevel(double dBm) throws LabHalException {
        instrument.write("SOUR1:POW:LEV:IMM:AMPL " + plain(dBm, "level"));
    }

    @Override
    public boolean rfOutput() throws LabHalException {
        return instrument.queryBoolean("OUTP1:STAT?");
    }

    @Override
    public void setRfOutput(boolean on) throws LabHalException {
        instrument.write("OUTP1:STAT " + (on ? "ON" : "OFF"));
    }

    /** Plain decimal, no exponent: every SCPI parser reads it, and it shows in logs as people write it. */
    private static String plain(double value, String what) {
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException(what + " must be a finite number, got " + value);
        }
        return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
    }

    @Override
    public String toString() {
        return "SmwSignalGenerator[" + instrument + "]";
    }
}
