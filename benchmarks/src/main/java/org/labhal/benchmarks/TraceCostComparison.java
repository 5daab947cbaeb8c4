package org.labhal.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.api.lock.LockPolicy;
import org.labhal.api.trace.StepObserver;
import org.labhal.runtime.internal.trace.InstrumentTrace;
import org.labhal.runtime.internal.trace.TraceFeed;
import org.labhal.runtime.internal.trace.Traces;
import org.labhal.transport.sim.SimServer;
import org.labhal.transport.sim.internal.SimTransportFactory;
import org.labhal.transport.socket.internal.SocketTransportFactory;

/**
 * What the runtime's trace costs a step (issue 13): the same query through sessions that differ only in their
 * {@link StepObserver}, in interleaved windows ({@link InterleavedComparison}). The instrument is the in-process
 * simulated SMW200A, the cheapest real step LabHAL has (a few microseconds, no wire), so the trace's share is as
 * large as it can be; over a wire it is smaller by the wire's time.
 * <ul>
 * <li>{@code noObserver}: a session without observer, as any session outside the runtime;</li>
 * <li>{@code traceOff}: the runtime's instrument session with its trace off (statistics only: two clock reads,
 * a histogram record and one small object per step);</li>
 * <li>{@code traceOn}: the trace on, with a live feed nobody reads (the full feed drops and counts);</li>
 * <li>{@code traceOnRead}: the trace on, with a thread reading a live feed as the dashboard does.</li>
 * </ul>
 * A third run goes over loopback TCP to the C responder of {@code benchmarks/c/scpi_responder.c}, a server that
 * is not ours, when it has been built ({@code benchmarks/run-trace-cost.sh} builds it with gcc).
 * <p>
 * Usage: {@code java -cp benchmarks/target/benchmarks.jar org.labhal.benchmarks.TraceCostComparison
 * [path of the built scpi_responder, default benchmarks/target/scpi_responder]}
 */
public final class TraceCostComparison {
    private TraceCostComparison() {
    }

    public static void main(String[] args) throws Exception {
        SimTransportFactory sim = new SimTransportFactory();
        DefaultSessionFactory sessions = new DefaultSessionFactory(new DefaultLockService());
        sessions.addTransport(sim);
        Traces traces = new Traces(null);
        InstrumentTrace off = traces.of("trace-off");
        InstrumentTrace on = traces.of("trace-on");
        on.trace(true);
        InstrumentTrace onRead = traces.of("trace-on-read");
        onRead.trace(true);
        TraceFeed unread = traces.follow(100);
        TraceFeed feed = traces.follow(10_000);
        Thread reader = new Thread(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    feed.poll(Duration.ofMillis(100));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "feed-reader");
        reader.setDaemon(true);
        reader.start();
        sessions.addTransport(new SocketTransportFactory());
        List<Session> open = new ArrayList<>();
        List<SimServer> servers = new ArrayList<>();
        Path binary = Path.of(args.length > 0 ? args[0] : "benchmarks/target/scpi_responder");
        ScpiResponder responder = Files.isExecutable(binary) ? new ScpiResponder(binary, false, false) : null;
        try {
            List<StepObserver> observers = java.util.Arrays.asList(null, off, on, onRead);
            // Each client its own simulated instrument: no lock or buffer shared between them.
            List<Session> inProcess = new ArrayList<>();
            List<Session> overTcp = new ArrayList<>();
            for (int i = 0; i < observers.size(); i++) {
                inProcess.add(open(sessions, "SIM::SMW200A::" + (i + 1) + "::INSTR", observers.get(i), open));
                SimServer server = SimServer.builder("SMW200A").start();
                servers.add(server);
                overTcp.add(open(sessions, server.resource(), observers.get(i), open));
            }
            compare("A query through the in-process SIM SMW200A (*IDN?), queries/s", inProcess);
            compare("A query over loopback TCP to SimServer's SMW200A (*IDN?), queries/s", overTcp);
            if (responder != null) {
                List<Session> toC = new ArrayList<>();
                for (StepObserver observer : observers) {
                    toC.add(open(sessions, responder.resource(), observer, open));
                }
                compare("A query over loopback TCP to the C responder (*IDN?, one poll() thread), queries/s", toC);
            } else {
                System.out.println("\n(no C responder at " + binary + ": benchmarks/run-trace-cost.sh builds it)");
            }
            System.out.printf("  steps dropped by the unread feed: %d, by the read one: %d%n", unread.dropped(),
                    feed.dropped());
        } finally {
            reader.interrupt();
            unread.close();
            feed.close();
            open.forEach(Session::close);
            for (SimServer server : servers) {
                server.close();
            }
            if (responder != null) {
                responder.close();
            }
            sim.deactivate();
        }
    }

    private static void compare(String title, List<Session> clients) throws Exception {
        String[] names = { "noObserver", "traceOff", "traceOn", "traceOnRead" };
        List<InterleavedComparison.Client> runs = new ArrayList<>();
        for (int i = 0; i < names.length; i++) {
            Session session = clients.get(i);
            runs.add(new InterleavedComparison.Client(names[i], () -> session.query("*IDN?")));
        }
        InterleavedComparison.compare(title, 60, 1, runs, List.of(new InterleavedComparison.Ratio(1, 0),
                new InterleavedComparison.Ratio(2, 0), new InterleavedComparison.Ratio(3, 0)));
    }

    private static Session open(DefaultSessionFactory sessions, String resource, StepObserver observer,
            List<Session> open) throws Exception {
        Session session = sessions.open(ResourceAddress.parse(resource),
                SessionOptions.defaults().withLockPolicy(LockPolicy.INDEPENDENT_SESSIONS).withStepObserver(observer));
        open.add(session);
        return session;
    }
}
