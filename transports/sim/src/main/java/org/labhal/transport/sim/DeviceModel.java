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

    /**
     * {@code true} (the default): the instrument adds every IEEE 488.2 common command and its diagnostic
     * queries; {@code false}: only {@code *IDN? *RST *CLS *OPC *OPC?} and {@code SYSTem:ERRor[:NEXT]?}.
     */
    default boolean allCommonCommands() {
        return true;
    }

    /**
     * Offered each whole program message before its units are parsed and looked up in the command table,
     * in the processor's turn of its exchange.
     *
     * @param execution the execution of the message, to respond and to queue errors through
     * @param message the program message as received, without terminator
     * @return {@code true} when the model executed the message itself; {@code false} (the default) to have
     *         it executed unit by unit from the command table
     */
    default boolean execute(Execution execution, String message) {
        return false;
    }

    /** A connection of the instrument closed; models that keep state per session let it go. */
    default void disconnected(SimConnection connection) {
    }
}
