package org.labhal.transport.sim;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.labhal.transport.sim.ScpiParser.Header;
import org.labhal.transport.sim.ScpiParser.Mnemonic;
import org.labhal.transport.sim.ScpiParser.ProgramUnit;

/**
 * The execution of one program message by the command processor, in the writer's thread with
 * the exchange's processor held: runs its units in order under the SCPI path rule and collects
 * the query answers that form its response message. Used by one thread only.
 */
final class Execution {

    private final InstrumentSimulator instrument;
    private final MessageExchange exchange;
    private final ExchangeConnection connection;
    private final long generation;
    private final List<String> responses = new ArrayList<>();

    Execution(InstrumentSimulator instrument, MessageExchange exchange, ExchangeConnection connection, long generation) {
        this.instrument = instrument;
        this.exchange = exchange;
        this.connection = connection;
        this.generation = generation;
    }

    /**
     * Executes every unit of {@code message}. A failing unit queues its error and the next unit
     * runs; the current path only moves on units that parsed.
     */
    void run(String message) throws IOException, InterruptedException {
        if (instrument.device().execute(this, message)) {
            return;
        }
        List<String> units = ScpiParser.splitUnits(message);
        List<Mnemonic> path = List.of();
        for (int i = 0; i < units.size(); i++) {
            String text = units.get(i);
            if (i > 0 && i == units.size() - 1 && text.isBlank()) {
                break; // a trailing ';' before the terminator is tolerated
            }
            try {
                ProgramUnit unit = ScpiParser.parseUnit(text);
                Header header = unit.header();
                List<Mnemonic> nodes = header.nodes();
                if (!header.common()) {
                    if (!header.absolute()) {
                        List<Mnemonic> absolute = new ArrayList<>(path);
                        absolute.addAll(nodes);
                        nodes = absolute;
                    }
                    path = nodes.subList(0, nodes.size() - 1);
                }
                CommandTable.Resolved command = instrument.commands().resolve(header, nodes);
                command.handler().handle(new Invocation(this, unit.params(), command.suffixes()));
            } catch (CommandException e) {
                exchange.queueError(e.error());
            }
        }
    }

    /** The processor is busy for {@code duration}, e.g. the configured processing delay. */
    void pause(Duration duration) throws IOException, InterruptedException {
        if (duration.isZero()) {
            return;
        }
        long deadline = System.nanoTime() + MessageExchange.nanos(duration);
        exchange.awaitUntil(() -> deadline, connection, generation);
    }

    /** Blocks the processor until no overlapped operation is pending ({@code *WAI}, {@code *OPC?}). */
    void awaitOperations() throws IOException, InterruptedException {
        exchange.awaitUntil(instrument::operationsEnd, connection, generation);
    }

    /** Starts an overlapped operation lasting the configured operation time. */
    void startOperation() {
        instrument.startOperation();
    }

    void respond(String answer) {
        responses.add(answer);
    }

    List<String> responses() {
        return responses;
    }

    MessageExchange exchange() {
        return exchange;
    }

    /** The session whose message this is. */
    SimConnection connection() {
        return connection;
    }

    InstrumentSimulator instrument() {
        return instrument;
    }
}
