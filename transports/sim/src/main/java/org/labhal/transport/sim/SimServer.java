package org.labhal.transport.sim;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
 * <p>Threads: one accepting thread and one per client, named {@code labhal-sim-<model>-<port>-<n>},
 * in an executor the server owns. Thread-safe; {@link #close()} stops everything.
 */
public final class SimServer implements AutoCloseable {
    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(us|ms|s)?", Pattern.CASE_INSENSITIVE);

    private final SimulatedInstrument instrument;
    private final ServerSocket listener;
    private final boolean single;
    private final LineEnding ending;
    private final ExecutorService threads;
    private final Set<Socket> clients = ConcurrentHashMap.newKeySet();
    private final Object counts = new Object();
    private int open; // guarded by counts
    private long accepted; // guarded by counts
    private volatile boolean closed;

    private SimServer(Builder builder) throws IOException {
        this.single = builder.single;
        this.ending = builder.ending;
        Consumer<String> onMessage = builder.onMessage;
        this.instrument = InstrumentSimulator.of(builder.model, builder.settings, onMessage::accept);
        try {
            this.listener = new ServerSocket();
            this.listener.setReuseAddress(true);
            this.listener.bind(new InetSocketAddress(builder.bind, builder.port), builder.backlog);
        } catch (IOException e) {
            instrument.close();
            throw new IOException("cannot listen on " + builder.bind.getHostAddress() + ":" + builder.port + ": "
                    + e.getMessage(), e);
        }
        String prefix = "labhal-sim-" + instrument.model().toLowerCase(Locale.ROOT) + "-" + listener.getLocalPort() + "-";
        AtomicInteger threadNumbers = new AtomicInteger();
        ThreadFactory factory = task -> {
            // The first thread is the acceptor; the others serve clients.
            Thread thread = new Thread(task, prefix + threadNumbers.incrementAndGet());
            thread.setDaemon(true); // a forgotten server must not keep a JVM alive
            return thread;
        };
        this.threads = Executors.newCachedThreadPool(factory);
    }

    /**
     * @param model one of {@link SimulatedInstrument#models()}, case-insensitive
     * @return a builder for a server of a new instrument of that model
     * @throws IllegalArgumentException when the model is unknown
     */
    public static Builder builder(String model) {
        return new Builder(model);
    }

    private SimServer begin() {
        threads.execute(this::acceptLoop);
        return this;
    }

    private void acceptLoop() {
        while (!closed) {
            Socket socket;
            try {
                socket = listener.accept();
            } catch (IOException e) {
                return; // closed
            }
            synchronized (counts) {
                accepted++;
                open++;
                counts.notifyAll();
            }
            clients.add(socket);
            if (closed) {
                closeQuietly(socket);
            }
            if (single) {
                serve(socket); // the next client waits in the backlog meanwhile
            } else {
                try {
                    threads.execute(() -> serve(socket));
                } catch (RejectedExecutionException shutDown) {
                    forget(socket);
                }
            }
        }
    }

    private void serve(Socket socket) {
        try (SimConnection connection = instrument.connect()) {
            socket.setTcpNoDelay(true); // answers are small and the client waits for them
            new SimStreamBridge(connection, socket.getInputStream(), socket.getOutputStream(), ending).serve();
        } catch (IOException e) {
            // The client went away, reset the connection, or the server is closing: nothing to report.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // close() shuts the executor down: stop serving
        } finally {
            forget(socket);
        }
    }

    private void forget(Socket socket) {
        closeQuietly(socket);
        if (clients.remove(socket)) {
            synchronized (counts) {
                open--;
                counts.notifyAll();
            }
        }
    }

    /** The port the server listens on; the chosen one when the builder asked for port 0. */
    public int port() {
        return listener.getLocalPort();
    }

    /** The address the server listens on. */
    public InetSocketAddress address() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
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
        synchronized (counts) {
            return open;
        }
    }

    /** How many client sockets have been accepted since the server started. */
    public long acceptedConnections() {
        synchronized (counts) {
            return accepted;
        }
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
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (counts) {
            while (open != count) {
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(counts, remaining);
            }
            return true;
        }
    }

    /**
     * Drops every client connection, as an instrument that reboots or a cable that is pulled does.
     * Messages being executed finish, but their answers go nowhere.
     *
     * @param reset {@code true} to abort with a TCP reset (RST), {@code false} for an orderly close
     *        (FIN)
     */
    public void dropConnections(boolean reset) {
        for (Socket socket : List.copyOf(clients)) {
            if (reset) {
                try {
                    socket.setSoLinger(true, 0); // close() then sends RST and discards unsent data
                } catch (SocketException alreadyClosed) {
                    // nothing to reset
                }
            }
            closeQuietly(socket);
        }
    }

    /**
     * Stops listening, closes every client connection and the instrument, and stops the
     * server's threads. Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        closeQuietly(listener); // wakes the acceptor; connections still in the backlog are reset
        dropConnections(false);
        instrument.close(); // wakes bridges waiting inside the simulator
        threads.shutdownNow();
        try {
            threads.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(AutoCloseable closeable) {
        try {
            closeable.close();
        } catch (Exception ignored) {
            // closing is best effort: the socket is unusable either way
        }
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
        private InetAddress bind = InetAddress.getLoopbackAddress();
        private int port;
        private int backlog = 50;
        private boolean single;
        private LineEnding ending = LineEnding.LF;
        private Consumer<String> onMessage = message -> { };

        private Builder(String model) {
            this.model = Objects.requireNonNull(model, "model");
            InstrumentSimulator.of(model, SimSettings.defaults(), InstrumentSimulator.NO_OBSERVER).close(); // checks the model
        }

        /** @param value timing and identity of the instrument; default {@link SimSettings#defaults()} */
        public Builder settings(SimSettings value) {
            this.settings = Objects.requireNonNull(value, "settings");
            return this;
        }

        /** @param address the local address to listen on; default the loopback address 127.0.0.1 */
        public Builder bindAddress(InetAddress address) {
            this.bind = Objects.requireNonNull(address, "address");
            return this;
        }

        /** @param value the TCP port, 0 (the default) for any free one */
        public Builder port(int value) {
            if (value < 0 || value > 65535) {
                throw new IllegalArgumentException("port must be 0 to 65535, was " + value);
            }
            this.port = value;
            return this;
        }

        /** @param value the listen backlog, at least 1; default 50 */
        public Builder backlog(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("backlog must be at least 1, was " + value);
            }
            this.backlog = value;
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
         * Binds the port and starts accepting clients.
         *
         * @throws IOException when the port cannot be bound
         */
        public SimServer start() throws IOException {
            return new SimServer(this).begin();
        }
    }

    /**
     * Runs a server until the process is stopped (Ctrl-C). Prints one line with the resource
     * string once it listens.
     *
     * @param args {@code --model <name>} (default SMW200A), {@code --port <n>} (default 5025, 0 for
     *        any free port), {@code --bind <address>} (default 127.0.0.1), {@code --single},
     *        {@code --delay <duration>}, {@code --op <duration>} (durations as {@code 2ms},
     *        {@code 500us}, {@code 1s}), {@code --termination lf|crlf|cr}, {@code --idn <text>}
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
        SimServer server = builder.start();
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
        LineEnding ending = LineEnding.LF;
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
                default -> throw new IllegalArgumentException("unknown option " + option);
            }
        }
        return builder(model).settings(settings).port(port).bindAddress(bind).singleConnection(single)
                .lineEnding(ending);
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
        out.println("         [--delay 2ms] [--op 100ms] [--termination lf|crlf|cr] [--idn <*IDN? answer>]");
    }
}
