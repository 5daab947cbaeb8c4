package org.labhal.api.internal.session;

import java.util.concurrent.atomic.AtomicLong;

import org.labhal.api.ResourceAddress;
import org.labhal.api.SessionClosedException;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.TransportFactory;

/**
 * One physical connection and the session handles on it ({@link DefaultSession#share()} and
 * single-connection multiplexing). It closes with its last handle, or at once when its transport
 * goes away.
 */
final class Channel {
    final ResourceAddress address;
    final Connection connection;
    final TransportFactory transport;
    private final AtomicLong sessionNumbers;
    private final Runnable onClose;
    private int handles; // guarded by this
    private volatile String closedBecause;

    Channel(ResourceAddress address, Connection connection, TransportFactory transport, AtomicLong sessionNumbers,
            Runnable onClose) {
        this.address = address;
        this.sessionNumbers = sessionNumbers;
        this.connection = connection;
        this.transport = transport;
        this.onClose = onClose;
    }

    /** @return a session name unique within the session factory */
    String nextName() {
        return address.canonical() + "#" + sessionNumbers.incrementAndGet();
    }

    /** Adds a handle; false when the channel is already closed. */
    synchronized boolean retain() {
        if (closedBecause != null) {
            return false;
        }
        handles++;
        return true;
    }

    /** Drops a handle, closing the connection with the last one. */
    void release() {
        synchronized (this) {
            if (--handles > 0 || closedBecause != null) {
                return;
            }
            closedBecause = "it was closed";
        }
        shutDown();
    }

    /** Closes the connection under every handle, e.g. because its transport was removed. */
    void kill(String reason) {
        synchronized (this) {
            if (closedBecause != null) {
                return;
            }
            closedBecause = reason;
        }
        shutDown();
    }

    private void shutDown() {
        connection.close();
        onClose.run();
    }

    /** @return why the channel is closed, or {@code null} while it is open */
    String closedBecause() {
        return closedBecause;
    }

    void ensureOpen(String session) throws SessionClosedException {
        String reason = closedBecause;
        if (reason != null) {
            throw new SessionClosedException("Session " + session + " is closed: " + reason);
        }
    }
}
