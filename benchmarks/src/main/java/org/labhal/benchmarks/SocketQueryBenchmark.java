package org.labhal.benchmarks;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.labhal.api.LabHalException;
import org.labhal.transport.sim.SimServer;
import org.labhal.transport.socket.internal.SocketTransportFactory;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Query round trips over loopback TCP, one thread, one connection: a LabHAL session through the
 * socket transport against a minimal raw socket client ({@link RawLineClient}), both asking a
 * simulated SMW200A served by {@link SimServer} {@code SIM:ECHO? x} and checking the answer. Each
 * benchmark starts its own server (its state), so only the client differs. The aim: LabHAL
 * at least 0.9 of raw.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(2)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SocketQueryBenchmark {
    static final String QUERY = "SIM:ECHO? x";
    static final String ANSWER = "x";
    static final byte[] RAW_QUERY = (QUERY + "\n").getBytes(StandardCharsets.US_ASCII);
    private static final Duration IO = Duration.ofSeconds(5);

    /** A simulator and a LabHAL session to it: lock service, session factory, socket transport. */
    @State(Scope.Thread)
    public static class LabHal extends ServedSession {
        @Override
        String serve() throws IOException {
            SimServer sim = SimServer.builder("SMW200A").start();
            server = sim;
            return sim.resource();
        }

        @Override
        StandaloneSessions sessions() {
            SocketTransportFactory transport = new SocketTransportFactory();
            return new StandaloneSessions(transport, transport::deactivate);
        }
    }

    /** A simulator and a plain socket to it, TCP_NODELAY on as the socket transport sets it. */
    @State(Scope.Thread)
    public static class Raw {
        SimServer server;
        Socket socket;
        RawLineClient client;

        @Setup
        public void open() throws IOException {
            server = SimServer.builder("SMW200A").start();
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(server.address(), (int) IO.toMillis());
            socket.setSoTimeout((int) IO.toMillis());
            client = new RawLineClient(socket.getInputStream(), socket.getOutputStream());
        }

        @TearDown
        public void close() throws IOException {
            socket.close();
            server.close();
        }
    }

    @Benchmark
    public String labhalSession(LabHal state) throws LabHalException {
        return checked(state.session.query(QUERY));
    }

    @Benchmark
    public String rawSocket(Raw state) throws IOException {
        return checked(state.client.query(RAW_QUERY));
    }

    static String checked(String answer) {
        if (!ANSWER.equals(answer)) {
            throw new IllegalStateException("expected the answer \"" + ANSWER + "\", got \"" + answer + "\"");
        }
        return answer;
    }
}
