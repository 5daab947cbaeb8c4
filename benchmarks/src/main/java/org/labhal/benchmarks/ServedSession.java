package org.labhal.benchmarks;

import java.time.Duration;

import org.labhal.api.Session;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The base of a benchmark state that serves a simulated instrument on loopback and opens one LabHAL
 * session to it through a transport made with {@code new} ({@link StandaloneSessions}); also used
 * outside JMH by {@link InterleavedComparison}, which calls {@link #open()} and {@link #close()}.
 */
public abstract class ServedSession {
    static final Duration IO = Duration.ofSeconds(5);

    AutoCloseable server;
    StandaloneSessions sessions;
    Session session;

    /**
     * Starts the server, keeping it in {@link #server}.
     *
     * @return the resource string that reaches it
     */
    abstract String serve() throws Exception;

    /** @return the session factory over this state's transport */
    abstract StandaloneSessions sessions();

    @Setup
    public void open() throws Exception {
        String resource = serve();
        sessions = sessions();
        session = sessions.open(resource, IO);
    }

    @TearDown
    public void close() throws Exception {
        sessions.close();
        server.close();
    }
}
