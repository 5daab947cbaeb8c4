package org.labhal.api.internal.session;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

import org.labhal.api.LabHalException;

import org.labhal.api.ResourceAddress;
import org.labhal.api.SessionClosedException;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.InstrumentLocking;
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
    /** Nested instrument-side holds on this connection; the transport is asked on the first only. */
    private int instrumentHolds; // guarded by this
    private String instrumentKey; // guarded by this; the shared key of the held lock, null: exclusive

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

    /**
     * Takes the instrument-side lock, or one more hold on it when this connection has it already.
     * Called under the session lock, so holders of one session lock never race here.
     */
    void holdInstrument(InstrumentLocking locking, Duration timeout, String sharedKey, String session)
            throws LabHalException {
        synchronized (this) {
            if (instrumentHolds > 0) {
                if (!Objects.equals(sharedKey, instrumentKey)) {
                    throw new IllegalArgumentException("Session " + session + ": the connection already holds the "
                            + describeLock(instrumentKey) + " on the instrument; cannot nest the "
                            + describeLock(sharedKey) + " inside it");
                }
                instrumentHolds++;
                return;
            }
        }
        locking.lockInstrument(timeout, sharedKey);
        synchronized (this) {
            instrumentHolds++;
            instrumentKey = sharedKey;
        }
    }

    /** Gives back one hold; the last one releases the instrument-side lock. */
    void releaseInstrument(InstrumentLocking locking, Duration timeout) throws LabHalException {
        synchronized (this) {
            if (--instrumentHolds > 0) {
                return;
            }
            instrumentKey = null;
        }
        locking.unlockInstrument(timeout);
    }

    private static String describeLock(String sharedKey) {
        return sharedKey == null ? "exclusive lock" : "shared lock '" + sharedKey + "'";
    }
}
