package org.labhal.api.instrument;

import org.labhal.api.LabHalException;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A typed driver for RF signal generators. Each call is one atomic communication step (or several
 * under one lease). Ranges depend on the instrument's options, so values are not checked here: with
 * error checking on, a value the instrument refuses fails the setter with an
 * {@link org.labhal.api.InstrumentErrorException} (e.g. {@code -222,"Data out of range"}).
 */
@ProviderType
public interface SignalGenerator {

    /**
     * @return the CW frequency in hertz
     * @throws LabHalException when the step fails or the answer is not a number
     */
    double frequency() throws LabHalException;

    /**
     * @param hertz the new CW frequency in hertz, finite
     * @throws IllegalArgumentException when {@code hertz} is NaN or infinite
     * @throws LabHalException when the step fails or the instrument refuses the value
     */
    void setFrequency(double hertz) throws LabHalException;

    /**
     * @return the output level in dBm
     * @throws LabHalException when the step fails or the answer is not a number
     */
    double level() throws LabHalException;

    /**
     * @param dBm the new output level in dBm, finite
     * @throws IllegalArgumentException when {@code dBm} is NaN or infinite
     * @throws LabHalException when the step fails or the instrument refuses the value
     */
    void setLevel(double dBm) throws LabHalException;

    /**
     * @return whether the RF output is on
     * @throws LabHalException when the step fails or the answer is not a boolean
     */
    boolean rfOutput() throws LabHalException;

    /**
     * @param on switches the RF output on or off
     * @throws LabHalException when the step fails
     */
    void setRfOutput(boolean on) throws LabHalException;
}
