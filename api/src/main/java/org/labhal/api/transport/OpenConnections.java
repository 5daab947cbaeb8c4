package org.labhal.api.transport;

import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;

/**
 * The connections a transport factory has open, so that stopping the transport closes every one of
 * them, including one that was being opened at that very moment. Thread-safe.
 *
 * <pre>{@code
 * private final OpenConnections<MyConnection> open =
 *         new OpenConnections<>(MyConnection::kill, "closed because the FOO transport stopped");
 * // open():       MyConnection c = open.add(new MyConnection(address, open::remove)); c.connect(timeout);
 * // deactivate(): open.closeAll();
 * }</pre>
 *
 * @param <C> the transport's connection type
 */
public final class OpenConnections<C> {
    private final Set<C> open = ConcurrentHashMap.newKeySet();
    private final BiConsumer<C, String> kill;
    private final String stopReason;
    private volatile boolean stopped;

    /**
     * @param kill closes a connection at once, waking its blocked callers with the given reason
     * @param stopReason the reason given to connections closed because the transport stopped
     */
    public OpenConnections(BiConsumer<C, String> kill, String stopReason) {
        this.kill = Objects.requireNonNull(kill, "kill");
        this.stopReason = Objects.requireNonNull(stopReason, "stopReason");
    }

    /**
     * Tracks a new connection. When the transport has already stopped (a deactivation that raced with
     * this open) the connection is closed at once, so it cannot outlive its transport.
     *
     * @param connection the connection just created
     * @return the connection
     */
    public C add(C connection) {
        open.add(connection);
        if (stopped) {
            kill.accept(connection, stopReason);
        }
        return connection;
    }

    /**
     * Forgets a connection that closed.
     *
     * @param connection the closed connection
     */
    public void remove(C connection) {
        open.remove(connection);
    }

    /** @return how many connections are open */
    public int size() {
        return open.size();
    }

    /** Closes every open connection and every one added from now on. */
    public void closeAll() {
        stopped = true;
        for (C connection : List.copyOf(open)) {
            kill.accept(connection, stopReason);
        }
    }
}
