package org.labhal.transport.sim;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;

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
 * <li>{@code REPLAY:<recording>}: answers as a recorded instrument did, from
 * {@code <recordings folder>/<recording>.jsonl} (see {@link Recording} and {@link #replay}); it knows only
 * what was recorded and {@code *IDN? *RST *CLS *OPC *OPC? SYSTem:ERRor?}, not what follows.</li>
 * </ul>
 * SMW200A and SHARED: the IEEE 488.2 common commands ({@code *IDN? *RST *CLS *OPC *OPC? *WAI *ESR? *ESE
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
     * @param model one of {@link #models()}, case-insensitive, or {@code REPLAY:<recording>} to replay
     *        {@code <recording>.jsonl} from the {@link #recordingsFolder folder of recordings} (the name as
     *        written: it is a file name)
     * @param settings timing and identity
     * @throws IllegalArgumentException naming the model and the known ones when it is unknown
     * @throws java.io.UncheckedIOException with a {@link RecordingException} naming the file (and line) when a
     *         recording is missing or bad
     * @throws NullPointerException when an argument is {@code null}
     */
    static SimulatedInstrument create(String model, SimSettings settings) {
        return InstrumentSimulator.of(model, settings, InstrumentSimulator.NO_OBSERVER);
    }

    /** The property naming the folder of recordings for {@code REPLAY:<name>}: {@value}. */
    String RECORDINGS_PROPERTY = "labhal.recordings";

    /** The folder of recordings when {@link #RECORDINGS_PROPERTY} is not set: {@value}, in the working directory. */
    String DEFAULT_RECORDINGS = "recordings";

    /** A recording's file name is its name and this: {@value}. */
    String RECORDING_SUFFIX = ".jsonl";

    /**
     * The folder where {@code REPLAY:<name>} finds {@code <name>.jsonl}: the system property
     * {@value #RECORDINGS_PROPERTY}, else the framework's property of that name, else {@value #DEFAULT_RECORDINGS}
     * in the working directory. {@link #create} reads this with no framework.
     *
     * @param framework the framework's properties, e.g. {@code BundleContext::getProperty}; answers
     *        {@code null} for an unset one
     */
    static Path recordingsFolder(UnaryOperator<String> framework) {
        String folder = System.getProperty(RECORDINGS_PROPERTY, framework.apply(RECORDINGS_PROPERTY));
        return Path.of(folder == null || folder.isBlank() ? DEFAULT_RECORDINGS : folder.strip());
    }

    /**
     * Creates an instrument that replays a recording (model {@code REPLAY:<recording>}, the file name without
     * {@value #RECORDING_SUFFIX}). It reads the file now and keeps what it read: changing the file later
     * changes nothing for this instrument.
     *
     * @param recording a JSON-lines recording, see {@link Recording}
     * @param settings timing and identity; without an {@code *IDN?} override it answers
     *        {@code LabHAL,REPLAY-<recording>,0,1.0} unless {@code *IDN?} was recorded
     * @throws RecordingException naming the file and line when it is missing or bad
     * @throws IOException when it cannot be read
     */
    static SimulatedInstrument replay(Path recording, SimSettings settings) throws IOException {
        Objects.requireNonNull(settings, "settings");
        String file = recording.getFileName().toString();
        String name = file.endsWith(RECORDING_SUFFIX) ? file.substring(0, file.length() - RECORDING_SUFFIX.length())
                : file;
        return InstrumentSimulator.replay(name, Recording.read(recording), settings, InstrumentSimulator.NO_OBSERVER);
    }

    /** The known model names, in upper case: {@code SMW200A}, {@code SHARED}; and {@code REPLAY:<recording>}. */
    static List<String> models() {
        return InstrumentSimulator.MODELS;
    }

    /** This instrument's model name, in upper case; {@code REPLAY:<recording>} with the recording's name as written. */
    String model();

    /** The recording a {@code REPLAY:<recording>} instrument answers from, with its counts; empty for other models. */
    default Optional<Recording> recording() {
        return Optional.empty();
    }

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
