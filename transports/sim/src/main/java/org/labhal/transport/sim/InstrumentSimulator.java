package org.labhal.transport.sim;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The {@link SimulatedInstrument} of every model: connections, message exchanges, the common
 * commands, and the timestamps of overlapped operations. No threads: processing runs in the
 * writers' threads, operations are deadlines that waiters compare with {@link System#nanoTime()}.
 */
final class InstrumentSimulator implements SimulatedInstrument {

    static final List<String> MODELS = List.of(Smw200aModel.NAME, SharedMeterModel.NAME);

    /** Told when a program message starts executing; lets tests know the processor is busy. */
    @FunctionalInterface
    interface ProcessingObserver {
        void started(String message);
    }

    static final ProcessingObserver NO_OBSERVER = message -> { };

    private final DeviceModel model;
    private final SimSettings settings;
    private final ProcessingObserver observer;
    private final String identification;
    private final Supplier<MessageExchange> exchanges;
    private final CommandTable commands;

    private final Set<ExchangeConnection> connections = ConcurrentHashMap.newKeySet();
    private final Object lifecycle = new Object();
    private boolean closed; // guarded by lifecycle

    private final Object operations = new Object();
    private long operationsEnd; // guarded by operations; System.nanoTime() when the last operation completes

    private InstrumentSimulator(DeviceModel model, SimSettings settings, ProcessingObserver observer) {
        this.model = model;
        this.settings = settings;
        this.observer = observer;
        this.identification = settings.idn().orElseGet(() -> model.identification(settings.serialNumber()));
        if (model.sharesExchange()) {
            MessageExchange shared = new MessageExchange(settings.errorQueueCapacity(), settings.inputBufferSize());
            this.exchanges = () -> shared;
        } else {
            this.exchanges = () -> new MessageExchange(settings.errorQueueCapacity(), settings.inputBufferSize());
        }
        CommandTable.Builder table = CommandTable.builder();
        registerCommon(table);
        model.register(table);
        this.commands = table.build();
        this.operationsEnd = System.nanoTime();
    }

    static InstrumentSimulator of(String model, SimSettings settings, ProcessingObserver observer) {
        return of(model, settings, observer, SimulatedInstrument.recordingsFolder(name -> null));
    }

    /**
     * @param recordings the folder where {@code REPLAY:<name>} finds {@code <name>.jsonl}
     * @throws UncheckedIOException (a {@link RecordingException} inside) when a replay's recording is missing
     *         or bad
     */
    static InstrumentSimulator of(String model, SimSettings settings, ProcessingObserver observer, Path recordings) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(observer, "observer");
        Objects.requireNonNull(recordings, "recordings");
        if (ReplayModel.names(model)) {
            String name = ReplayModel.recordingName(model);
            try {
                return replay(name, Recording.read(recordings.resolve(name + SimulatedInstrument.RECORDING_SUFFIX)),
                        settings, observer);
            } catch (IOException e) {
                throw new UncheckedIOException(e.getMessage(), e);
            }
        }
        DeviceModel device;
        switch (model.toUpperCase(Locale.ROOT)) {
            case Smw200aModel.NAME:
                device = new Smw200aModel();
                break;
            case SharedMeterModel.NAME:
                device = new SharedMeterModel();
                break;
            default:
                throw new IllegalArgumentException("unknown simulated instrument model '" + model
                        + "'; known models: " + String.join(", ", MODELS) + ", REPLAY:<recording>");
        }
        return new InstrumentSimulator(device, settings, observer);
    }

    /** An instrument replaying {@code recording} under the name {@code REPLAY:<name>}. */
    static InstrumentSimulator replay(String name, Recording recording, SimSettings settings,
            ProcessingObserver observer) {
        return new InstrumentSimulator(new ReplayModel(name, recording), settings, observer);
    }

    /** The model's name when it is a valid one, e.g. {@code SMW200A} or {@code REPLAY:bench-a}, without creating it. */
    static String checkModel(String model) {
        Objects.requireNonNull(model, "model");
        if (ReplayModel.names(model)) {
            return ReplayModel.PREFIX + ReplayModel.recordingName(model);
        }
        String upper = model.toUpperCase(Locale.ROOT);
        if (!MODELS.contains(upper)) {
            throw new IllegalArgumentException("unknown simulated instrument model '" + model
                    + "'; known models: " + String.join(", ", MODELS) + ", REPLAY:<recording>");
        }
        return upper;
    }

    private void registerCommon(CommandTable.Builder table) {
        table.common("*IDN", null, in -> {
            in.expectParameters(0, 0);
            in.respond(identification);
        });
        table.common("*RST", in -> {
            in.expectParameters(0, 0);
            model.reset();
            cancelOperations();
            in.execution().exchange().disarmOperationComplete();
        }, null);
        table.common("*CLS", in -> {
            in.expectParameters(0, 0);
            in.execution().exchange().clearStatus();
        }, null);
        table.common("*OPC", in -> {
            in.expectParameters(0, 0);
            in.execution().exchange().armOperationComplete(operationsEnd());
        }, in -> {
            in.expectParameters(0, 0);
            in.execution().awaitOperations();
            in.respond("1");
        });
        table.compound("SYSTem:ERRor[:NEXT]", null, in -> {
            in.expectParameters(0, 0);
            in.respond(in.execution().exchange().nextError());
        });
        if (!model.allCommonCommands()) {
            return;
        }
        table.common("*WAI", in -> {
            in.expectParameters(0, 0);
            in.execution().awaitOperations();
        }, null);
        table.common("*ESR", null, in -> {
            in.expectParameters(0, 0);
            in.respond(Integer.toString(in.execution().exchange().takeEventStatus()));
        });
        table.common("*ESE", in -> {
            in.expectParameters(1, 1);
            in.execution().exchange().eventStatusEnable(in.integer(0, 0, 255));
        }, in -> {
            in.expectParameters(0, 0);
            in.respond(Integer.toString(in.execution().exchange().eventStatusEnable()));
        });
        table.common("*SRE", in -> {
            in.expectParameters(1, 1);
            in.execution().exchange().serviceRequestEnable(in.integer(0, 0, 255));
        }, in -> {
            in.expectParameters(0, 0);
            in.respond(Integer.toString(in.execution().exchange().serviceRequestEnable()));
        });
        table.common("*STB", null, in -> {
            in.expectParameters(0, 0);
            boolean answered = !in.execution().responses().isEmpty();
            in.respond(Integer.toString(in.execution().exchange().statusByte(answered)));
        });
        table.common("*TST", null, in -> {
            in.expectParameters(0, 0);
            in.respond("0");
        });
        table.common("*OPT", null, in -> {
            in.expectParameters(0, 0);
            in.respond(model.options());
        });
        // Simulator-only: a question whose answer tells which question it was
        table.compound("SIMulation:ECHO", null, in -> {
            in.expectParameters(1, 1);
            in.respond(in.token(0));
        });
    }

    @Override
    public String model() {
        return model.name();
    }

    @Override
    public Optional<Recording> recording() {
        return model instanceof ReplayModel replay ? Optional.of(replay.recording()) : Optional.empty();
    }

    @Override
    public SimConnection connect() throws IOException {
        synchronized (lifecycle) {
            if (closed) {
                throw new IOException("simulated instrument " + model.name() + " is closed");
            }
            ExchangeConnection connection = new ExchangeConnection(this, exchanges.get());
            connections.add(connection);
            return connection;
        }
    }

    @Override
    public int openConnections() {
        return connections.size();
    }

    @Override
    public void close() {
        synchronized (lifecycle) {
            closed = true;
        }
        for (ExchangeConnection connection : List.copyOf(connections)) {
            connection.close();
        }
    }

    void detach(ExchangeConnection connection) {
        connections.remove(connection);
        model.disconnected(connection);
    }

    DeviceModel device() {
        return model;
    }

    CommandTable commands() {
        return commands;
    }

    /**
     * Executes one complete program message as the exchange's command processor. Messages of one
     * exchange execute one at a time, in arrival order; different exchanges run in parallel.
     */
    void execute(ExchangeConnection connection, MessageExchange exchange, MessageExchange.Message message)
            throws IOException, InterruptedException {
        exchange.processor().lockInterruptibly();
        try {
            connection.ensureOpen();
            if (!exchange.begin(message)) {
                return;
            }
            observer.started(message.text());
            Execution execution = new Execution(this, exchange, connection, message.generation());
            execution.pause(settings.processingDelay());
            execution.run(message.text());
            exchange.complete(message, execution.responses());
        } catch (MessageDiscarded discarded) {
            // A device clear threw the message away while it executed; the writer is not told,
            // just as a real instrument does not tell.
        } finally {
            exchange.processor().unlock();
        }
    }

    /** Starts an overlapped operation; pending operations then end no earlier than its end. */
    void startOperation() {
        synchronized (operations) {
            long end = System.nanoTime() + MessageExchange.nanos(settings.operationTime());
            if (end - operationsEnd > 0) {
                operationsEnd = end;
            }
        }
    }

    /** When the last pending operation completes, in {@link System#nanoTime()} terms. */
    long operationsEnd() {
        synchronized (operations) {
            return operationsEnd;
        }
    }

    /** {@code *RST}: pending operations end now; waiters in every session are woken. */
    private void cancelOperations() {
        long now = System.nanoTime();
        synchronized (operations) {
            operationsEnd = now;
        }
        for (ExchangeConnection connection : List.copyOf(connections)) {
            connection.exchange().operationsCancelled(now);
        }
    }

    @Override
    public String toString() {
        return "SimulatedInstrument[" + model.name() + ", " + connections.size() + " connections]";
    }
}
