package org.labhal.transport.sim;

import java.io.IOException;
import java.util.List;

/**
 * A simulated SCPI instrument with real IEEE 488.2 message exchange semantics, served to any
 * number of {@link SimConnection}s. Plain Java, no threads of its own: each program message is
 * executed in the thread that writes its terminator.
 *
 * <p>Models (names case-insensitive):
 * <ul>
 * <li>{@code SMW200A}: an R&amp;S SMW200A-style signal generator. Every connection has its own
 * input buffer, output queue, error queue and status registers, and connections are processed
 * concurrently; the settings ({@code [SOURce[1|2]]:FREQuency[:CW|:FIXed]} 100 kHz to 6 GHz,
 * {@code [SOURce[1|2]]:POWer[:LEVel][:IMMediate][:AMPLitude]} -145 to +30 dBm,
 * {@code OUTPut[1|2][:STATe]}) are one physical state shared by all. {@code *RST}: 1 GHz,
 * -30 dBm, outputs off.</li>
 * <li>{@code SHARED}: a DMM-like box with one input buffer, one output queue, one error queue
 * and one set of status registers for all connections, and one command processor. A response
 * goes to whoever reads first, and a message arriving while a response is unread discards it
 * with -410, so unsynchronised clients really get each other's answers. Commands:
 * {@code CONFigure:VOLTage[:DC] [<range>[,<resolution>]][,(@<channels>)]},
 * {@code MEASure:VOLTage[:DC]? [...]}, {@code READ?}, {@code FETCh?}; channel {@code n} reads
 * {@code n} millivolts ({@code +1.01000000E-01} for channel 101), default channel 1.</li>
 * </ul>
 * Both: the IEEE 488.2 common commands ({@code *IDN? *RST *CLS *OPC *OPC? *WAI *ESR? *ESE
 * *ESE? *SRE *SRE? *STB? *TST? *OPT?}), {@code SYSTem:ERRor[:NEXT]?} with a bounded queue,
 * {@code INITiate[:IMMediate]} starting an overlapped operation of the configured
 * {@link SimSettings#operationTime() operation time}, and the simulator-only diagnostic query
 * {@code SIMulation:ECHO? <token>}, which answers its token (a word, a number, or a quoted string
 * without its quotes); no real instrument has it.
 *
 * <p>Thread-safe.
 */
public interface SimulatedInstrument extends AutoCloseable {

    /**
     * Creates an instrument, powered on in its {@code *RST} state.
     *
     * @param model one of {@link #models()}, case-insensitive
     * @param settings timing and identity
     * @throws IllegalArgumentException naming the model and the known ones when it is unknown
     * @throws NullPointerException when an argument is {@code null}
     */
    static SimulatedInstrument create(String model, SimSettings settings) {
        return InstrumentSimulator.of(model, settings, InstrumentSimulator.NO_OBSERVER);
    }

    /** The known model names, in upper case: {@code SMW200A}, {@code SHARED}. */
    static List<String> models() {
        return InstrumentSimulator.MODELS;
    }

    /** This instrument's model name, in upper case. */
    String model();

    /**
     * Opens a new remote session.
     *
     * @throws IOException when the instrument is closed
     */
    SimConnection connect() throws IOException;

    /** The number of connections opened and not yet closed. */
    int openConnections();

    /** Closes every connection and refuses new ones; idempotent. */
    @Override
    void close();
}
