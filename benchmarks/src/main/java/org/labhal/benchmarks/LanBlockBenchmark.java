package org.labhal.benchmarks;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.labhal.api.BlockProgress;
import org.labhal.api.LabHalException;
import org.labhal.api.Session;
import org.labhal.transport.hislip.internal.HislipTransportFactory;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One 100 MB ({@value BlockReadBenchmark#LENGTH} bytes) definite-length block per operation over
 * loopback: {@link Session#queryBlock(String, java.io.OutputStream, BlockProgress)} through the HiSLIP
 * transport from a {@link HislipBlockServer}, against the same through the socket transport and the
 * raw socket copy, both from a {@link BlockServer} (the states of {@link BlockReadBenchmark}). All
 * stream into a {@link CountingSink} and check the byte count.
 * <p>
 * {@link Hislip#maxMessageSize} is the client's {@code max_message_size}: the server fragments the
 * response into Data messages of at most that size (header included). 1048576 (1 MiB) is the
 * transport's default, so about 96 Data messages per block; {@code -p maxMessageSize=65536} shows the
 * cost of small fragments (1,526 messages).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Threads(1)
@Fork(2)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class LanBlockBenchmark {
    private static final Duration IO = Duration.ofSeconds(10);

    /** A HiSLIP block server and a LabHAL session to it through the HiSLIP transport. */
    @State(Scope.Thread)
    public static class Hislip {
        /** The client's maximum message size in bytes, header included. */
        @Param({"1048576"})
        public long maxMessageSize;

        HislipBlockServer server;
        StandaloneSessions sessions;
        Session session;

        @Setup
        public void open() throws IOException, LabHalException {
            server = new HislipBlockServer(BlockReadBenchmark.LENGTH);
            HislipTransportFactory transport = new HislipTransportFactory();
            sessions = new StandaloneSessions(transport, transport::deactivate);
            session = sessions.open(server.resource(maxMessageSize), IO);
        }

        @TearDown
        public void close() throws IOException {
            sessions.close();
            server.close();
        }
    }

    @Benchmark
    public long hislipQueryBlock(Hislip state) throws LabHalException {
        return queryBlock(state.session);
    }

    @Benchmark
    public long socketQueryBlock(BlockReadBenchmark.LabHal state) throws LabHalException {
        return queryBlock(state.session);
    }

    @Benchmark
    public long rawSocketCopy(BlockReadBenchmark.Raw state) throws IOException {
        return BlockReadBenchmark.rawCopy(state);
    }

    static long queryBlock(Session session) throws LabHalException {
        CountingSink sink = new CountingSink();
        long n = session.queryBlock(BlockServer.QUERY, sink, BlockProgress.NONE);
        return BlockReadBenchmark.checked(n, sink);
    }
}
