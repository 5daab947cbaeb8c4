package org.labhal.transport.sim;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.labhal.server.AtCapacity;
import org.labhal.server.ServerConnection;
import org.labhal.server.ServerCounters;
import org.labhal.server.ServerLog;
import org.labhal.server.TcpServer;

/**
 * Serves a {@link SimulatedInstrument} on a real TCP port, as a raw SCPI socket
 * ({@code TCPIP::<host>::<port>::SOCKET}), so that any socket client can talk to it: LabHAL's
 * socket transport, PyVISA, {@code lxi scpi --raw}, netcat. Every accepted connection is one
 * {@link SimulatedInstrument#connect() connection} of the instrument, so the model decides what
 * connections share: nothing but the settings on {@code SMW200A}, every buffer and queue on
 * {@code SHARED}.
 *
 * <pre>{@code
 * try (SimServer server = SimServer.builder("SMW200A").start()) {   // 127.0.0.1, any free port
 *     String resource = server.resource();                          // TCPIP::127.0.0.1::<port>::SOCKET
 * }
 * }</pre>
 *
 * <p>In {@link Builder#singleConnection(boolean) single-connection mode} the server accepts one
 * client at a time and accepts the next only when that one has gone, as many instruments do; a
 * second client's connect completes in the kernel's listen backlog, but nothing it sends is
 * read or answered until then.
 *
 * <p>Standalone, for developing drivers without hardware ({@code main}):
 * <pre>
 * java -cp transports/sim/target/org.labhal.transport.sim-1.0.0-SNAPSHOT.jar org.labhal.transport.sim.SimServer \
 *      --model SMW200A --port 5025 [--bind 127.0.0.1] [--single] [--delay 2ms] [--op 100ms] [--termination lf]
 * </pre>
 *
 * <p>Served by the {@link TcpServer} base: loopback unless told otherwise, at most
 * {@link Builder#maxConnections(int) 128 clients} at once (the next one is closed at once, unless the
 * client idle longest has been idle for {@link Builder#evictIdleAfter(Duration) 10 s}: that one is closed
 * and the newcomer served), a client whose answers make no progress for
 * {@link Builder#writeStallTimeout(Duration) 10 s} closed, a send buffer of
 * {@link Builder#sendBufferSize(int) 64 KiB} per client, an accept loop that backs off and goes on when
 * file descriptors run out, and an input buffer per instrument connection that an endless line cannot
 * grow ({@link SimSettings#withInputBufferSize(int) -363}).
 * Threads: {@code labhal-sim-<model>-<port>-accept} and one per client,
 * {@code labhal-sim-<model>-<port>-<n>}. Thread-safe; {@link #close()} stops everything and joins them.
 */
public final class SimServer implements AutoCloseable {
    /** How many clients a server serves at once unless its builder says otherwise. */
    public static final int DEFAULT_MAX_CONNECTIONS = TcpServer.DEFAULT_MAX_CONNECTIONS;
    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(us|ms|s)?", Pattern.CASE_INSENSITIVE);

    private final SimulatedInstrument instrument;
    private final TcpServer server;
    private final boolean single;
    private final LineEnding ending;

    private SimServer(Builder builder) throws IOException {
        this.single = builder.single;
        this.ending = builder.ending;
        Consumer<String> onMessage = builder.onMessage;
        this.instrument = InstrumentSimulator.of(builder.model, builder.settings, onMessage::accept, builder.recordings);
        TcpServer.Builder tcp = builder.tcp;
        if (single) {
            tcp.maxConnections(1).atCapacity(AtCapacity.WAIT); // the next client waits in the backlog
        } else {
            // the one beyond is closed at once: there is nothing to say to it in SCPI
            tcp.maxConnections(builder.maxConnections).atCapacity(AtCapacity.REFUSE);
        }
        try {
            this.server = tcp.start(this::serve);
        } catch (IOException e) {
            instrument.close();
            throw e;
        }
    }

    /**
     * @param model one of {@link SimulatedInstrument#models()}, case-insensitive, or {@code REPLAY:<recording>}
     *        (read from the {@link Builder#recordings(Path) folder of recordings} at {@link Builder#start()})
     * @return a builder for a server of a new instrument of that model
     * @throws IllegalArgumentException when the model is unknown
     */
    public static Builder builder(String model) {
        return new Builder(model);
    }

    private void serve(ServerConnection client) throws IOException, InterruptedException {
        client.channel().socket().setTcpNoDelay(true); // answers are small and the client waits for them
        try (SimConnection connection = instrument.connect()) {
            // The instrument's input buffer bounds what an endless line costs (-363), not the bridge. The
            // connection's streams let the server base see the client idle and its answers stall.
            new SimStreamBridge(connection, client.input(), client.output(), ending).serve();
        }
    }

    /** The port the server listens on; the chosen one when the builder asked for port 0. */
    public int port() {
        return server.port();
    }

    /** The address the server listens on. */
    public InetSocketAddress address() {
        return server.address();
    }

    /**
     * @return the VISA resource string that reaches this server, e.g.
     *         {@code TCPIP::127.0.0.1::5025::SOCKET} (IPv6 addresses in brackets)
     */
    public String resource() {
        InetAddress host = address().getAddress();
        String text = host.getHostAddress();
        if (text.contains(":")) {
            int zone = text.indexOf('%');
            text = "[" + (zone < 0 ? text : text.substring(0, zone)) + "]";
        }
        return "TCPIP::" + text + "::" + port() + "::SOCKET";
    }

    /** The instrument served, e.g. to count its {@link SimulatedInstrument#openConnections() connections}. */
    public SimulatedInstrument instrument() {
        return instrument;
    }

    /**
     * How many client sockets are open now: accepted and not yet closed by either side. A client
     * that closes its end is noticed when the server next reads from it, so after the message being
     * executed for it, if any.
     */
    public int openConnections() {
        return server.counters().openConnections();
    }

    /** How many client sockets have been accepted since the server started, refused ones included. */
    public long acceptedConnections() {
        return server.counters().accepted();
    }

    /** @return what the server has done so far: connections, refusals, accept failures, threads */
    public ServerCounters counters() {
        return server.counters();
    }

    /**
     * Waits until exactly {@code count} client sockets are open.
     *
     * @param count the number to wait for
     * @param timeout how long to wait at most
     * @return whether the count was reached in time
     * @throws InterruptedException when interrupted while waiting
     */
    public boolean awaitOpenConnections(int count, Duration timeout) throws InterruptedException {
        return server.awaitOpenConnections(count, timeout);
    }

    /**
     * Drops every client connection, as an instrument that reboots or a cable that is pulled does.
     * Messages being executed finish, but their answers go nowhere.
     *
     * @param reset {@code true} to abort with a TCP reset (RST), {@code false} for an orderly close
     *        (FIN)
     */
    public void dropConnections(boolean reset) {
        server.dropConnections(reset);
    }

    /**
     * Closes the instrument (which wakes bridges waiting inside it), stops listening, closes every
     * client connection and joins the server's threads. Idempotent.
     */
    @Override
    public void close() {
        instrument.close();
        server.close();
    }

    @Override
    public String toString() {
        return "SimServer[" + instrument.model() + " on " + resource() + (single ? ", single connection" : "")
                + ", " + openConnections() + " clients]";
    }

    /** Settings of a {@link SimServer}; defaults: 127.0.0.1, any free port, many clients, LF. */
    public static final class Builder {
        private final String model;
        private SimSettings settings = SimSettings.defaults();
        private final TcpServer.Builder tcp; // where and how many: the server base checks those settings
        private int maxConnections = DEFAULT_MAX_CONNECTIONS;
        private boolean single;
        private LineEnding ending = LineEnding.LF;
        private Consumer<String> onMessage = message -> { };
        private Path recordings = SimulatedInstrument.recordingsFolder(name -> null);

        private Builder(String model) {
            this.model = Objects.requireNonNull(model, "model");
            // checks the model, and names it as the instrument will
            String name = InstrumentSimulator.checkModel(model).replace(':', '-');
            this.tcp = TcpServer.builder("labhal-sim-" + name.toLowerCase(Locale.ROOT));
        }

        /**
         * @param folder where a {@code REPLAY:<recording>} model reads {@code <recording>.jsonl}; default
         *        {@link SimulatedInstrument#recordingsFolder} without a framework (the system property
         *        {@value SimulatedInstrument#RECORDINGS_PROPERTY}, else {@code recordings})
         */
        public Builder recordings(Path folder) {
            this.recordings = Objects.requireNonNull(folder, "folder");
            return this;
        }

        /** @param value timing and identity of the instrument; default {@link SimSettings#defaults()} */
        public Builder settings(SimSettings value) {
            this.settings = Objects.requireNonNull(value, "settings");
            return this;
        }

        /** @param address the local address to listen on; default the loopback address 127.0.0.1 */
        public Builder bindAddress(InetAddress address) {
            tcp.bindAddress(address);
            return this;
        }

        /** @param value the TCP port, 0 (the default) for any free one */
        public Builder port(int value) {
            tcp.port(value);
            return this;
        }

        /** @param value the listen backlog, at least 1; default 50 */
        public Builder backlog(int value) {
            tcp.backlog(value);
            return this;
        }

        /**
         * @param value {@code true} to accept one client at a time, the next one only after the
         *        current one has gone; default {@code false}
         */
        public Builder singleConnection(boolean value) {
            this.single = value;
            return this;
        }

        /**
         * @param value how many clients are served at once, at least 1; one more is accepted and closed
         *        at once (it reads the end of the stream). Default {@value #DEFAULT_MAX_CONNECTIONS}.
         *        Ignored in {@link #singleConnection(boolean) single-connection mode}.
         */
        public Builder maxConnections(int value) {
            tcp.maxConnections(value); // checks it
            this.maxConnections = value;
            return this;
        }

        /** @param value where the server reports trouble such as failing accepts; default {@link ServerLog#system()} */
        public Builder log(ServerLog value) {
            tcp.log(value);
            return this;
        }

        /**
         * @param value how long a client must have sent nothing and been sent nothing before a newcomer that
         *        finds every slot taken gets its connection (the client idle longest loses it); {@code null}
         *        or zero never. Default 10 s. Nobody is closed for being idle while there is room, and never
         *        in {@link #singleConnection(boolean) single-connection mode}: that instrument keeps its one
         *        client. See {@link TcpServer.Builder#evictIdleAfter(Duration)}.
         */
        public Builder evictIdleAfter(Duration value) {
            tcp.evictIdleAfter(value);
            return this;
        }

        /**
         * @param value how long an answer may wait for a client that does not read before its connection is
         *        closed (the answer made no progress that long); {@code null} or zero never. Default 10 s. See
         *        {@link TcpServer.Builder#writeStallTimeout(Duration)}.
         */
        public Builder writeStallTimeout(Duration value) {
            tcp.writeStallTimeout(value);
            return this;
        }

        /**
         * @param bytes the send buffer of each client connection, so that a client that floods queries and
         *        never reads stalls the server after about this much; 0 for the system's. Default 64 KiB.
         */
        public Builder sendBufferSize(int bytes) {
            tcp.sendBufferSize(bytes);
            return this;
        }

        /** @param value the message terminator in both directions; default {@link LineEnding#LF} */
        public Builder lineEnding(LineEnding value) {
            this.ending = Objects.requireNonNull(value, "ending");
            return this;
        }

        /**
         * @param listener told the text of each program message when it starts executing, in the
         *        thread serving its client; lets tests know a step reached the instrument
         */
        public Builder onMessage(Consumer<String> listener) {
            this.onMessage = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Reads the recording of a replay, binds the port and starts accepting clients.
         *
         * @throws IOException when the port cannot be bound
         * @throws java.io.UncheckedIOException with a {@link RecordingException} when a replay's recording is
         *         missing or bad
         */
        public SimServer start() throws IOException {
            return new SimServer(this);
        }
    }

    /**
     * Runs a server until the process is stopped (Ctrl-C). Prints one line with the resource
     * string once it listens.
     *
     * @param args {@code --model <name>} (default SMW200A), {@code --port <n>} (default 5025, 0 for
     *        any free port), {@code --bind <address>} (default 127.0.0.1), {@code --single},
     *        {@code --delay <duration>}, {@code --op <duration>} (durations as {@code 2ms},
     *        {@code 500us}, {@code 1s}), {@code --termination lf|crlf|cr}, {@code --idn <text>},
     *        {@code --max-connections <n>}, {@code --recordings <folder>} (for {@code --model REPLAY:<name>})
     */
    public static void main(String[] args) throws Exception {
        Builder builder;
        try {
            builder = fromArguments(args);
        } catch (IllegalArgumentException e) {
            usage(System.err, e.getMessage());
            System.exit(2);
            return;
        }
        if (builder == null) {
            usage(System.out, null);
            return;
        }
        // A console tool reports on the console: stderr is open already, so a warning still gets out when
        // the process has no file descriptor left, which is when accepting fails.
        SimServer server = builder.log(ServerLog.of(message -> System.err.println("WARNING: " + message),
                message -> System.err.println("INFO: " + message))).start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "labhal-sim-shutdown"));
        System.out.println("LabHAL simulated " + server.instrument().model() + " listening on " + server.resource()
                + (server.single ? " (one client at a time)" : "") + "; Ctrl-C stops it");
        System.out.flush();
        stopped.await();
    }

    /** @return the builder the arguments describe, {@code null} for {@code --help} */
    static Builder fromArguments(String[] args) {
        String model = "SMW200A";
        SimSettings settings = SimSettings.defaults();
        int port = 5025;
        InetAddress bind = InetAddress.getLoopbackAddress();
        boolean single = false;
        int maxConnections = DEFAULT_MAX_CONNECTIONS;
        LineEnding ending = LineEnding.LF;
        Path recordings = null;
        for (int i = 0; i < args.length; i++) {
            String option = args[i];
            if (option.equals("--help") || option.equals("-h")) {
                return null;
            }
            if (option.equals("--single")) {
                single = true;
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(option + " needs a value");
            }
            String value = args[++i];
            switch (option) {
                case "--model" -> model = value;
                case "--port" -> port = integer(option, value);
                case "--bind" -> {
                    try {
                        bind = InetAddress.getByName(value);
                    } catch (IOException e) {
                        throw new IllegalArgumentException("--bind " + value + ": unknown address", e);
                    }
                }
                case "--delay" -> settings = settings.withProcessingDelay(duration(option, value));
                case "--op" -> settings = settings.withOperationTime(duration(option, value));
                case "--termination" -> ending = LineEnding.parse(value);
                case "--idn" -> settings = settings.withIdn(value);
                case "--max-connections" -> maxConnections = integer(option, value);
                case "--recordings" -> recordings = Path.of(value);
                default -> throw new IllegalArgumentException("unknown option " + option);
            }
        }
        Builder builder = builder(model).settings(settings).port(port).bindAddress(bind).singleConnection(single)
                .maxConnections(maxConnections).lineEnding(ending);
        return recordings == null ? builder : builder.recordings(recordings);
    }

    private static int integer(String option, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " " + value + ": not a whole number", e);
        }
    }

    /** A whole number with an optional unit {@code us}, {@code ms} or {@code s}; default ms. */
    static Duration duration(String option, String value) {
        Matcher m = DURATION.matcher(value.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException(option + " " + value
                    + ": not a duration; expected a whole number with an optional unit us, ms or s (default ms)");
        }
        long amount = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "ms" : m.group(2).toLowerCase(Locale.ROOT);
        return switch (unit) {
            case "us" -> Duration.ofNanos(amount * 1_000);
            case "s" -> Duration.ofSeconds(amount);
            default -> Duration.ofMillis(amount);
        };
    }

    private static void usage(PrintStream out, String problem) {
        if (problem != null) {
            out.println("SimServer: " + problem);
        }
        out.println("usage: java -cp org.labhal.transport.sim-<version>.jar org.labhal.transport.sim.SimServer");
        out.println("         [--model " + String.join("|", SimulatedInstrument.models()) + "] [--port 5025|0]"
                + " [--bind 127.0.0.1] [--single]");
        out.println("         [--delay 2ms] [--op 100ms] [--termination lf|crlf|cr] [--idn <*IDN? answer>]"
                + " [--max-connections " + DEFAULT_MAX_CONNECTIONS + "]");
        out.println("         --model REPLAY:<name> replays <folder>/<name>.jsonl [--recordings <folder>]"
                + " (default: the system property " + SimulatedInstrument.RECORDINGS_PROPERTY + ", else recordings)");
    }
}
