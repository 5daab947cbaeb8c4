package org.labhal.api;

/**
 * One entry of an instrument's SCPI error queue, as read with {@code SYSTem:ERRor?}.
 *
 * @param code the SCPI error code (negative: standard, positive: device specific; never 0)
 * @param message the error text without quotes
 */
public record InstrumentError(int code, String message) {

    @Override
    public String toString() {
        return code + ",\"" + message + "\"";
    }
}
