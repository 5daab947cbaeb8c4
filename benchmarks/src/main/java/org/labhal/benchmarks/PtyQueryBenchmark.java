package org.labhal.benchmarks;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.labhal.api.LabHalException;
import org.labhal.api.Session;
import org.labhal.transport.serial.internal.SerialTransportFactory;
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
 * Query round trips over a pseudo-terminal, one thread: the simulated SMW200A served on loopback TCP
 * by {@link SimServer}, put behind a pty by socat ({@link SocatPty}). Three clients, each with its own
 * server in its state, all asking {@code SIM:ECHO? x} and checking the answer:
 * <ul>
 * <li>{@code serialSession}: a LabHAL session through the serial transport (jSerialComm) on the pty;</li>
 * <li>{@code rawPty}: a {@link RawLineClient} on the same kind of pty, opened as a plain file;</li>
 * <li>{@code socketSession}: a LabHAL session to the simulator over TCP directly, no pty.</li>
 * </ul>
 * The issue sets no aim here: it asks for the number, with its baselines.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(2)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class PtyQueryBenchmark {
    private static final byte[] RAW_QUERY = (SocketQueryBenchmark.QUERY + "\n").getBytes(StandardCharsets.US_ASCII);
    private static final Duration IO = Duration.ofSeconds(5);

    /** A simulator behind a fresh pty. */
    abstract static class BehindPty {
        SimServer server;
        Path directory;
        Path pty;
        SocatPty socat;

        void startPty() throws IOException, InterruptedException {
            server = SimServer.builder("SMW200A").start();
            directory = Files.createTempDirectory("labhal-bench-pty");
            pty = directory.resolve("ttySMW");
            socat = new SocatPty(pty, server.port());
        }

        void stopPty() throws IOException {
            socat.close();
            server.close();
            Files.deleteIfExists(pty);
            Files.deleteIfExists(directory);
        }
    }

    /** A LabHAL session through the serial transport on the pty. */
    @State(Scope.Thread)
    public static class Serial extends BehindPty {
        StandaloneSessions sessions;
        Session session;

        @Setup
        public void open() throws IOException, InterruptedException, LabHalException {
            startPty();
            SerialTransportFactory transport = new SerialTransportFactory();
            sessions = new StandaloneSessions(transport, transport::deactivate);
            session = sessions.open("ASRL" + pty + "::INSTR", IO);
        }

        @TearDown
        public void close() throws IOException {
            sessions.close();
            stopPty();
        }
    }

    /** The pty opened as a file, read and written with plain streams. */
    @State(Scope.Thread)
    public static class RawPty extends BehindPty {
        FileInputStream in;
        FileOutputStream out;
        RawLineClient client;

        @Setup
        public void open() throws IOException, InterruptedException {
            startPty();
            in = new FileInputStream(pty.toFile());
            out = new FileOutputStream(pty.toFile());
            client = new RawLineClient(in, out);
        }

        @TearDown
        public void close() throws IOException {
            in.close();
            out.close();
            stopPty();
        }
    }

    /** A LabHAL session to the simulator over TCP directly. */
    @State(Scope.Thread)
    public static class Tcp {
        SimServer server;
        StandaloneSessions sessions;
        Session session;

        @Setup
        public void open() throws IOException, LabHalException {
            server = SimServer.builder("SMW200A").start();
            SocketTransportFactory transport = new SocketTransportFactory();
            sessions = new StandaloneSessions(transport, transport::deactivate);
            session = sessions.open(server.resource(), IO);
        }

        @TearDown
        public void close() {
            sessions.close();
            server.close();
        }
    }

    @Benchmark
    public String serialSession(Serial state) throws LabHalException {
        return SocketQueryBenchmark.checked(state.session.query(SocketQueryBenchmark.QUERY));
    }

    @Benchmark
    public String rawPty(RawPty state) throws IOException {
        return SocketQueryBenchmark.checked(state.client.query(RAW_QUERY));
    }

    @Benchmark
    public String socketSession(Tcp state) throws LabHalException {
        return SocketQueryBenchmark.checked(state.session.query(SocketQueryBenchmark.QUERY));
    }
}
