package org.labhal.benchmarks;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.labhal.api.BlockProgress;
import org.labhal.api.LabHalException;
import org.labhal.api.Session;
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
 * One 100 MB ({@value #LENGTH} bytes) definite-length block per operation over loopback TCP, from a
 * {@link BlockServer} started by each benchmark's state: LabHAL's
 * {@link Session#queryBlock(String, java.io.OutputStream, BlockProgress)} through the socket transport
 * against a raw socket copy of the same bytes (read the header, copy the announced length through a
 * 64 KiB buffer, read the LF). Both stream into a {@link CountingSink} and check the byte count. The
 * issue's aim: LabHAL at least 0.8 of raw.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Threads(1)
@Fork(2)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class BlockReadBenchmark {
    static final long LENGTH = 100_000_000L;
    private static final byte[] RAW_QUERY = (BlockServer.QUERY + "\n").getBytes(StandardCharsets.US_ASCII);
    private static final Duration IO = Duration.ofSeconds(10);

    /** A block server and a LabHAL session to it through the socket transport. */
    @State(Scope.Thread)
    public static class LabHal {
        BlockServer server;
        StandaloneSessions sessions;
        Session session;

        @Setup
        public void open() throws IOException, LabHalException {
            server = new BlockServer(LENGTH);
            SocketTransportFactory transport = new SocketTransportFactory();
            sessions = new StandaloneSessions(transport, transport::deactivate);
            session = sessions.open(server.resource(), IO);
        }

        @TearDown
        public void close() throws IOException {
            sessions.close();
            server.close();
        }
    }

    /** A block server and a plain socket to it. */
    @State(Scope.Thread)
    public static class Raw {
        BlockServer server;
        Socket socket;
        InputStream in;
        OutputStream out;
        final byte[] buffer = new byte[64 * 1024];

        @Setup
        public void open() throws IOException {
            server = new BlockServer(LENGTH);
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress("127.0.0.1", server.port()), (int) IO.toMillis());
            socket.setSoTimeout((int) IO.toMillis());
            in = socket.getInputStream();
            out = socket.getOutputStream();
        }

        @TearDown
        public void close() throws IOException {
            socket.close();
            server.close();
        }
    }

    @Benchmark
    public long labhalQueryBlock(LabHal state) throws LabHalException {
        CountingSink sink = new CountingSink();
        long n = state.session.queryBlock(BlockServer.QUERY, sink, BlockProgress.NONE);
        return checked(n, sink);
    }

    @Benchmark
    public long rawSocketCopy(Raw state) throws IOException {
        return rawCopy(state);
    }

    /** The raw copy, shared with {@link LanBlockBenchmark}. */
    static long rawCopy(Raw state) throws IOException {
        state.out.write(RAW_QUERY);
        state.out.flush();
        InputStream in = state.in;
        if (next(in) != '#') {
            throw new IOException("not a block");
        }
        int digits = next(in) - '0';
        long length = 0;
        for (int i = 0; i < digits; i++) {
            length = length * 10 + (next(in) - '0');
        }
        CountingSink sink = new CountingSink();
        byte[] buffer = state.buffer;
        for (long remaining = length; remaining > 0; ) {
            int n = in.read(buffer, 0, (int) Math.min(buffer.length, remaining));
            if (n < 0) {
                throw new EOFException("the block ended " + remaining + " bytes early");
            }
            sink.write(buffer, 0, n);
            remaining -= n;
        }
        if (next(in) != '\n') {
            throw new IOException("no LF after the block");
        }
        return checked(length, sink);
    }

    private static int next(InputStream in) throws IOException {
        int b = in.read();
        if (b < 0) {
            throw new EOFException("the peer closed the stream");
        }
        return b;
    }

    static long checked(long n, CountingSink sink) {
        if (n != LENGTH || sink.count() != LENGTH) {
            throw new IllegalStateException("expected " + LENGTH + " bytes, got " + n + " (sink " + sink.count() + ")");
        }
        return n;
    }
}
