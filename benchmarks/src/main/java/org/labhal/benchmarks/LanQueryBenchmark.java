package org.labhal.benchmarks;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

import org.labhal.api.LabHalException;
import org.labhal.transport.hislip.internal.HislipTransportFactory;
import org.labhal.transport.hislip.server.HislipServer;
import org.labhal.transport.vxi11.internal.Vxi11TransportFactory;
import org.labhal.transport.vxi11.sim.Vxi11SimServer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Query round trips over loopback through the three LAN transports, one thread, one session each,
 * every one asking a simulated SMW200A {@code SIM:ECHO? x} and checking the answer: the socket
 * transport to {@code SimServer} (the states of {@link SocketQueryBenchmark}), VXI-11 to
 * {@link Vxi11SimServer} (through its portmapper, device {@code inst0}) and HiSLIP to
 * {@link HislipServer} (synchronized mode, default 1 MiB maximum message size both ways), plus the
 * raw socket client of {@link SocketQueryBenchmark} as the floor. Every state starts its own server
 * of the same model. The aim: HiSLIP at least 0.85 of the socket transport.
 * <p>
 * A VXI-11 query is two RPCs (device_write, then device_read), so two round trips where the other
 * transports make one.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(2)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class LanQueryBenchmark {
    static final String MODEL = "SMW200A";

    /** A VXI-11 simulator and a LabHAL session to it through the VXI-11 transport. */
    @State(Scope.Thread)
    public static class Vxi11 extends ServedSession {
        @Override
        String serve() throws IOException {
            Vxi11SimServer vxi11 = Vxi11SimServer.builder(MODEL).start();
            server = vxi11;
            return vxi11.resource();
        }

        @Override
        StandaloneSessions sessions() {
            Vxi11TransportFactory transport = new Vxi11TransportFactory();
            return new StandaloneSessions(transport, transport::deactivate);
        }
    }

    /** A HiSLIP simulator and a LabHAL session to it through the HiSLIP transport. */
    @State(Scope.Thread)
    public static class Hislip extends ServedSession {
        @Override
        String serve() throws IOException {
            HislipServer hislip = HislipServer.builder(MODEL).start();
            server = hislip;
            return hislip.resource();
        }

        @Override
        StandaloneSessions sessions() {
            HislipTransportFactory transport = new HislipTransportFactory();
            return new StandaloneSessions(transport, transport::deactivate);
        }
    }

    @Benchmark
    public String socketSession(SocketQueryBenchmark.LabHal state) throws LabHalException {
        return SocketQueryBenchmark.checked(state.session.query(SocketQueryBenchmark.QUERY));
    }

    @Benchmark
    public String vxi11Session(Vxi11 state) throws LabHalException {
        return SocketQueryBenchmark.checked(state.session.query(SocketQueryBenchmark.QUERY));
    }

    @Benchmark
    public String hislipSession(Hislip state) throws LabHalException {
        return SocketQueryBenchmark.checked(state.session.query(SocketQueryBenchmark.QUERY));
    }

    @Benchmark
    public String rawSocket(SocketQueryBenchmark.Raw state) throws IOException {
        return SocketQueryBenchmark.checked(state.client.query(SocketQueryBenchmark.RAW_QUERY));
    }
}
