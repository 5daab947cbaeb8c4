package org.labhal.api.instrument;

import org.labhal.api.LabHalException;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A typed driver for multimeters, with or without a scanner. Each call is one atomic communication
 * step: on an instrument with shared buffers the answer is this call's, never another session's.
 */
@ProviderType
public interface Multimeter {

    /**
     * Measures a DC voltage with the instrument's default range and resolution.
     *
     * @param channel the scan channel, e.g. 101; 0 for the front input
     * @return the DC voltage in volts
     * @throws IllegalArgumentException when the instrument has no such input (a negative channel, a scan
     *         channel on a meter without scanner, the front input on a scanner without one)
     * @throws LabHalException when the step fails or the answer is not one number
     */
    double measureVoltageDc(int channel) throws LabHalException;
}
