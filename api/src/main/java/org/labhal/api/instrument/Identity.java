package org.labhal.api.instrument;

import java.util.Locale;
import java.util.Objects;

/**
 * An instrument's answer to {@code *IDN?}, split into its four IEEE 488.2 fields. Immutable.
 *
 * @param manufacturer e.g. {@code Rohde&Schwarz}; never blank
 * @param model e.g. {@code SMW200A}; never blank
 * @param serialNumber e.g. {@code 1412.0000K02/101234}; {@code 0} when the instrument reports none
 * @param firmware e.g. {@code 5.30.047.28}; {@code 0} when the instrument reports none
 */
public record Identity(String manufacturer, String model, String serialNumber, String firmware) {

    /**
     * @throws NullPointerException for a null field
     * @throws IllegalArgumentException when the manufacturer or model is blank
     */
    public Identity {
        Objects.requireNonNull(manufacturer, "manufacturer");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(serialNumber, "serialNumber");
        Objects.requireNonNull(firmware, "firmware");
        if (manufacturer.isBlank() || model.isBlank()) {
            throw new IllegalArgumentException("An identity needs a manufacturer and a model, got \"" + manufacturer
                    + "\" and \"" + model + "\"");
        }
    }

    /**
     * Parses an {@code *IDN?} response: comma-separated manufacturer, model, serial number and
     * firmware. Whitespace around the response and around each field is ignored (some instruments
     * answer {@code HEWLETT-PACKARD, 53131A,0,3944}). IEEE 488.2 forbids commas inside a field, but
     * some firmware strings contain them, so everything after the third comma is the firmware.
     *
     * @param idn the response
     * @return the identity
     * @throws IllegalArgumentException quoting the response when it has fewer than four fields or an
     *         empty manufacturer or model
     */
    public static Identity parse(String idn) {
        String text = idn == null ? "" : idn.strip();
        String[] fields = text.split(",", 4);
        if (fields.length < 4) {
            throw new IllegalArgumentException("*IDN? answer \"" + text + "\" has " + fields.length
                    + " comma-separated fields; IEEE 488.2 defines 4: manufacturer,model,serial,firmware");
        }
        String manufacturer = fields[0].strip();
        String model = fields[1].strip();
        if (manufacturer.isEmpty() || model.isEmpty()) {
            throw new IllegalArgumentException("*IDN? answer \"" + text + "\" has an empty "
                    + (manufacturer.isEmpty() ? "manufacturer" : "model") + " field");
        }
        return new Identity(manufacturer, model, fields[2].strip(), fields[3].strip());
    }

    /**
     * Compares the manufacturer ignoring case and whitespace, because instruments of one maker spell it
     * differently ({@code Rohde&Schwarz}, {@code ROHDE&SCHWARZ}, {@code Rohde & Schwarz}).
     *
     * @param names the spellings to accept
     * @return whether the manufacturer is one of them
     */
    public boolean manufacturerIs(String... names) {
        String mine = squeeze(manufacturer);
        for (String name : names) {
            if (mine.equals(squeeze(name))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Compares the model ignoring case.
     *
     * @param names the model names to accept, e.g. {@code SMW200A}
     * @return whether the model is one of them
     */
    public boolean modelIs(String... names) {
        for (String name : names) {
            if (model.equalsIgnoreCase(name.strip())) {
                return true;
            }
        }
        return false;
    }

    private static String squeeze(String text) {
        return text.replaceAll("\\s+", "").toUpperCase(Locale.ROOT);
    }

    /** @return the four fields as an instrument would answer them, comma-separated */
    @Override
    public String toString() {
        return manufacturer + "," + model + "," + serialNumber + "," + firmware;
    }
}
