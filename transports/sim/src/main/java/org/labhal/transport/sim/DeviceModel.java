package org.labhal.transport.sim;

/**
 * What makes one simulated model differ from another: its commands and settings, and whether its
 * connections share one message exchange. Implementations guard their settings with their own
 * short lock and never wait while holding it.
 */
interface DeviceModel {

    /** The model name in upper case, as accepted by {@link SimulatedInstrument#create}. */
    String name();

    /** {@code true}: all connections use one message exchange; {@code false}: one per connection. */
    boolean sharesExchange();

    /** The default {@code *IDN?} answer. */
    String identification(String serialNumber);

    /** The {@code *OPT?} answer. */
    String options();

    /** Adds the model's commands; common commands are added by the instrument. */
    void register(CommandTable.Builder commands);

    /** Returns the settings to their {@code *RST} values. */
    void reset();
}
