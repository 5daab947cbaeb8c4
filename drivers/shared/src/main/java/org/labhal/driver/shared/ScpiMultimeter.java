package org.labhal.driver.shared;

import java.util.Objects;

import org.labhal.api.LabHalException;
import org.labhal.api.instrument.Multimeter;
import org.labhal.api.instrument.ScpiInstrument;

/**
 * A {@link Multimeter} over the SCPI {@code MEASure} commands of the HP/Agilent/Keysight 344xx and 349xx
 * families: {@code MEAS:VOLT:DC?} for the front input, {@code MEAS:VOLT:DC? (@101)} for a scan channel.
 * Each measurement is one query step, so on a shared-buffer instrument, whose sessions all take one
 * lock, the reading is always this call's. The object holds nothing but the {@link ScpiInstrument} and
 * which inputs the model has. Thread-safe.
 */
public final class ScpiMultimeter implements Multimeter {

    /** Which inputs a meter has, so that a bad channel fails here instead of timing out on the bus. */
    public enum Inputs {
        /** Front (and rear) terminals only, channel 0; e.g. the 34401A. */
        FRONT,
        /** Scan channels only, e.g. 101; e.g. the 34970A. */
        SCANNER,
        /** Both: channel 0 and scan channels. */
        FRONT_AND_SCANNER;

        boolean front() {
            return this != SCANNER;
        }

        boolean scanner() {
            return this != FRONT;
        }
    }

    private final ScpiInstrument instrument;
    private final Inputs inputs;

    /**
     * @param instrument the instrument to talk to
     * @param inputs which inputs the model has
     */
    public ScpiMultimeter(ScpiInstrument instrument, Inputs inputs) {
        this.instrument = Objects.requireNonNull(instrument, "instrument");
        this.inputs = Objects.requireNonNull(inputs, "inputs");
    }

    /** @return which inputs this meter has */
    public Inputs inputs() {
        return inputs;
    }

    @Override
    public double measureVoltageDc(int channel) throws LabHalException {
        if (channel < 0) {
            throw new IllegalArgumentException("channel must be 0 (front input) or a scan channel such as 101, got "
                    + channel);
        }
        if (channel == 0 && !inputs.front()) {
            throw new IllegalArgumentException("channel 0 is the front input, which the meter at " + resource()
                    + " does not have: give a scan channel such as 101");
        }
        if (channel > 0 && !inputs.scanner()) {
            throw new IllegalArgumentException("channel " + channel + " is a scan channel, which the meter at "
                    + resource() + " does not have: use 0 for the front input");
        }
        return instrument.queryDouble(channel == 0 ? "MEAS:VOLT:DC?" : "MEAS:VOLT:DC? (@" + channel + ")");
    }

    private String resource() {
        return instrument.session().address().canonical();
    }

    @Override
    public String toString() {
        return "ScpiMultimeter[" + inputs + ", " + instrument + "]";
    }
}
