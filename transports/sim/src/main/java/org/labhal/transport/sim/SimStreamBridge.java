package org.labhal.transport.sim;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeoutException;

/**
 * Serves one {@link SimConnection} over a pair of byte streams, as an instrument's socket or
 * serial port does: program messages come in on the input stream, each ended by the
 * {@link LineEnding}, and every response goes out on the output stream, ended by it too.
 * {@link SimServer} uses it for TCP sockets; it works the same behind a pseudo-terminal.
 *
 * <p>Byte streams have no read request: a real socket instrument sends a response as soon as
 * the query that asked for it has run. The bridge does the same in one thread, in order: it
 * hands the simulator one program message at a time, and after each one sends whatever
 * response the message left in the output queue before it hands over the next. So pipelined
 * queries all get answers, in order, and the answer to a message goes to the stream that sent
 * it, also on the {@code SHARED} model, as long as the clients of that model take turns; when
 * they don't, their messages interleave in the shared buffers and answers go astray, exactly as
 * on the in-memory connections.
 *
 * <p>Not thread-safe: one thread calls {@link #serve()}. To stop it from another thread, close
 * the input stream (for a socket: the socket) or the connection.
 */
public final class SimStreamBridge {
    private static final int CHUNK = 64 * 1024;

    private final SimConnection connection;
    private final InputStream input;
    private final OutputStream output;
    private final LineEnding ending;
    private final MessageExchange exchange;

    /**
     * @param connection a connection of a {@link SimulatedInstrument}, which the bridge uses but
     *        does not close
     * @param input where program messages arrive
     * @param output where responses go
     * @param ending the terminator of messages in both directions
     * @throws IllegalArgumentException when the connection does not come from
     *         {@link SimulatedInstrument#connect()}
     */
    public SimStreamBridge(SimConnection connection, InputStream input, OutputStream output, LineEnding ending) {
        this.connection = Objects.requireNonNull(connection, "connection");
        this.input = Objects.requireNonNull(input, "input");
        this.output = Objects.requireNonNull(output, "output");
        this.ending = Objects.requireNonNull(ending, "ending");
        if (!(connection instanceof ExchangeConnection exchangeConnection)) {
            throw new IllegalArgumentException("the bridge serves connections made by SimulatedInstrument.connect(), not "
                    + connection.getClass().getName());
        }
        // The bridge must know whether a message left a response without asking for one: a read
        // that finds nothing queues -420 on the instrument, which a real device would not do.
        this.exchange = exchangeConnection.exchange();
    }

    /**
     * Serves until the input stream ends, then returns.
     *
     * @throws IOException when a stream fails or the connection is closed (the usual way a
     *         server stops a bridge)
     * @throws InterruptedException when interrupted while the simulator waits; the message in
     *         progress is abandoned
     */
    public void serve() throws IOException, InterruptedException {
        byte[] chunk = new byte[CHUNK];
        byte[] response = new byte[CHUNK + 1]; // room to widen a final LF into CR LF
        int count;
        while ((count = input.read(chunk)) >= 0) {
            int start = 0;
            for (int i = 0; i < count; i++) {
                byte b = chunk[i];
                if (b == '\r' && ending == LineEnding.CR) {
                    chunk[i] = '\n'; // the simulator ends program messages at LF only
                    b = '\n';
                }
                if (b == '\n') {
                    connection.write(chunk, start, i + 1 - start, false); // runs the message
                    start = i + 1;
                    sendResponses(response);
                }
            }
            if (start < count) {
                connection.write(chunk, start, count - start, false); // an unfinished message waits
            }
        }
    }

    /**
     * Sends one complete response message from the output queue, when there is one: a program
     * message leaves at most one. Never more: on a {@code SHARED} instrument, looking again after
     * sending took the response of the next client's message (it asks as soon as this answer reaches
     * its own client, and its message may run before this thread looks) and sent it to the wrong
     * stream, though the clients took turns (the soak found it: one answer to another question in
     * about 100,000, and that client one answer behind from then on).
     */
    private void sendResponses(byte[] buffer) throws IOException, InterruptedException {
        if ((exchange.statusByte(false) & MessageExchange.MAV) == 0) {
            return;
        }
        SimRead read;
        do {
            try {
                read = connection.read(buffer, 0, CHUNK, Duration.ZERO);
            } catch (TimeoutException takenMeanwhile) {
                return; // another client of a SHARED instrument got there first
            }
            int length = read.count();
            if (read.end() && ending != LineEnding.LF) {
                length--; // the simulator's LF
                byte[] terminator = ending.bytes();
                System.arraycopy(terminator, 0, buffer, length, terminator.length);
                length += terminator.length;
            }
            output.write(buffer, 0, length);
        } while (!read.end());
        output.flush();
    }
}
