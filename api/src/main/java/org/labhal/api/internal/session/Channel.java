package org.labhal.api.internal.session;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.SessionClosedException;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.dto.HolderInfo;
import org.labhal.api.lock.LockTimeoutException;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.Deadline;
import org.labhal.api.transport.InstrumentLocking;
import org.labhal.api.transport.TransportFactory;
import org.labhal.api.transport.Uninterruptibly;

/**
 * One physical connection and the session handles on it ({@link DefaultSession#share()} and
 * single-connection multiplexing). It closes with its last handle, at once when its transport goes
 * away, and when the connection fails in a way that leaves it unusable (lost, or out of step).
 * <p>
 * <b>The wire lock.</b> Handles on one connection usually share one session lock, but a handle may
 * {@link DefaultSession#breakAway() break away} or {@link DefaultSession#adoptLock adopt} another
 * lock. Whatever session lock a step holds, its traffic on the connection is serialised here: every
 * step takes the wire lock after its session lock and gives it back before. The wire lock is a leaf
 * (nothing else is waited for while it is held but the connection itself, whose calls are bounded
 * by their timeouts), so it cannot take part in a deadlock, and a step waits for it no longer than
 * its lock timeout.
 * <p>
 * Every call to the connection goes through this class, which closes the channel when the
 * connection reports itself lost or closed, so that {@link DefaultSession#isOpen()} tells the truth
 * and its owner can reconnect.
 */
final class Channel {
    /** The most one read of a response asks the connection for. */
    static final int RECEIVE_CHUNK = 8192;
    final ResourceAddress address;
    final Connection connection;
    final TransportFactory transport;
    private final AtomicLong sessionNumbers;
    private final Runnable onClose;
    private final ReentrantLock wire = new ReentrantLock();
    /** Whether the transport tells by {@link Connection#isOpen()} when its link is gone. */
    private final boolean reportsOpen;
    private volatile Thread wireHolder;
    private volatile String wireActivity;
    private volatile long wireSince;
    private int handles; // guarded by this
    private volatile String closedBecause;
    /** The failure of a call on this channel that closed it, if that is why it closed. */
    private volatile Throwable closingFailure;
    /** Nested instrument-side holds on this connection; the transport is asked on the first only. */
    private int instrumentHolds; // guarded by wire
    private String instrumentKey; // guarded by wire; the shared key of the held lock, null: exclusive
    /**
     * Where steps read responses into; guarded by wire. One per connection rather than one per
     * response: a short answer then costs no allocation but its result (see DefaultSession.receive).
     */
    private final ByteBuffer receiveChunk = ByteBuffer.allocate(RECEIVE_CHUNK);

    Channel(ResourceAddress address, Connection connection, TransportFactory transport, AtomicLong sessionNumbers,
            Runnable onClose) {
        this.address = address;
        this.sessionNumbers = sessionNumbers;
        this.connection = connection;
        this.transport = transport;
        this.onClose = onClose;
        this.reportsOpen = reportsOpen(connection);
    }

    private static boolean reportsOpen(Connection connection) {
        try {
            return connection.getClass().getMethod("isOpen").getDeclaringClass() != Connection.class;
        } catch (NoSuchMethodException e) {
            throw new AssertionError("Connection declares isOpen()", e);
        }
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

    /**
     * @return why the channel is closed, or {@code null} while it is open; a link the transport
     *         closed on its own closes the channel here, so that every caller sees it at once
     */
    String closedBecause() {
        if (closedBecause == null && !connection.isOpen()) {
            kill("its connection " + connection.describe() + " was closed by the transport");
        }
        return closedBecause;
    }

    void ensureOpen(String session) throws SessionClosedException {
        String reason = closedBecause();
        if (reason != null) {
            throw new SessionClosedException("Session " + session + " is closed: " + reason);
        }
    }

    /**
     * Takes the wire lock for one step (see the class comment).
     *
     * @param wait by when to have it, at the latest, when a step of another session lock holds it
     */
    void lockWire(Deadline wait, String session, String activity) throws LabHalException {
        // A free wire lock is taken without asking the clock what is left of the wait (the usual case:
        // handles with one session lock never find it taken); an interrupted thread takes the timed
        // path, which throws as it always did
        if (Thread.currentThread().isInterrupted() || !wire.tryLock()) {
            lockWireWaiting(wait.remaining(), session, activity);
        }
        if (wire.getHoldCount() == 1) {
            wireHolder = Thread.currentThread();
            wireActivity = activity;
            wireSince = System.nanoTime();
        }
    }

    private void lockWireWaiting(Duration wait, String session, String activity) throws LabHalException {
        try {
            if (!wire.tryLock(Deadline.nanos(wait), TimeUnit.NANOSECONDS)) {
                throw new LockTimeoutException("connection " + address.canonical() + " (shared by handles with "
                        + "different session locks)", wait, wireHolderInfo(), wire.getQueueLength());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StepInterruptedException("Interrupted waiting for the connection of " + session + " to "
                    + activity, e);
        }
    }

    /** Gives the wire lock back. */
    void unlockWire() {
        if (wire.getHoldCount() == 1) {
            wireHolder = null;
        }
        wire.unlock();
    }

    private HolderInfo wireHolderInfo() {
        Thread holder = wireHolder;
        if (holder == null) {
            return null;
        }
        Duration held = Duration.ofNanos(System.nanoTime() - wireSince);
        return new HolderInfo(holder.getName(), holder.getId(), wireActivity, Instant.now().minus(held), held, 1);
    }

    /**
     * @return the buffer a step reads responses into; only the thread holding the wire lock may use
     *         it, and only until it gives the lock back
     */
    ByteBuffer receiveChunk() {
        assert wire.isHeldByCurrentThread() : "the receive chunk belongs to the step holding the wire lock";
        return receiveChunk;
    }

    /** {@link Connection#write}, closing the channel when the connection is lost. */
    void write(ByteBuffer data, boolean end, Duration timeout) throws LabHalException {
        try {
            connection.write(data, end, timeout);
        } catch (LabHalException e) {
            throw failed(e);
        }
    }

    /** {@link Connection#writeQuery}, closing the channel when the connection is lost. */
    void writeQuery(ByteBuffer query, Duration timeout) throws LabHalException {
        try {
            connection.writeQuery(query, timeout);
        } catch (LabHalException e) {
            throw failed(e);
        }
    }

    /** One call of the transport's {@link org.labhal.api.transport.InstrumentControl}. */
    @FunctionalInterface
    interface ControlCall {
        int run() throws LabHalException;
    }

    /** An {@link org.labhal.api.transport.InstrumentControl} call, closing the channel when the connection is lost. */
    int control(ControlCall call) throws LabHalException {
        try {
            return call.run();
        } catch (LabHalException e) {
            throw failed(e);
        }
    }

    /** {@link Connection#read}, closing the channel when the connection is lost. */
    boolean read(ByteBuffer into, Duration timeout) throws LabHalException {
        try {
            return connection.read(into, timeout);
        } catch (LabHalException e) {
            throw failed(e);
        }
    }

    /**
     * A device clear to resynchronise after a failure: it runs whatever the interrupt flag says, and
     * when it fails the connection is out of step for good, so the channel closes.
     *
     * @return the failure, or {@code null} when the clear succeeded
     */
    LabHalException resynchronise(Duration timeout) {
        try {
            Uninterruptibly.run(() -> connection.clear(timeout));
            return null;
        } catch (LabHalException e) {
            kill("resynchronising after a failed step failed: " + e.getMessage());
            return e;
        }
    }

    /** A device clear the caller asked for, closing the channel when the connection is lost. */
    void clear(Duration timeout) throws LabHalException {
        try {
            connection.clear(timeout);
        } catch (LabHalException e) {
            throw failed(e);
        }
    }

    /**
     * A command was cut short on a byte stream: the instrument holds a fragment that the next command
     * would be glued to, and nothing on the wire can tell it to drop it. Closing the connection is
     * the one sure way back (instruments discard a closed connection's input).
     *
     * @return the exception to throw
     */
    ConnectionLostException cutShort(String session, String what, LabHalException cause) {
        String reason = what + " was cut short (" + cause.getMessage() + "); the connection was closed so that "
                + "the instrument cannot join the next command to the fragment";
        kill(reason);
        return new ConnectionLostException(session + ": " + reason, cause);
    }

    private LabHalException failed(LabHalException e) {
        // A transport that reports isOpen() may survive a lost link (a socket that reconnects on the
        // next write); one that does not is taken at its word that the connection is lost.
        if (!connection.isOpen() || e instanceof ConnectionLostException && !reportsOpen) {
            killBy(e, "the connection " + connection.describe() + " was lost: " + e.getMessage());
        }
        return e;
    }

    /** Closes the channel because of {@code failure}, which then reports the closure itself. */
    private void killBy(LabHalException failure, String reason) {
        synchronized (this) {
            if (closedBecause == null) {
                closingFailure = failure;
            }
        }
        kill(reason);
    }

    /**
     * @return whether the channel closed because of this very failure (then the failure says best
     *         what happened), rather than because another thread closed it meanwhile
     */
    boolean closedBy(LabHalException failure) {
        return closingFailure == failure;
    }

    /**
     * Takes the instrument-side lock, or one more hold on it when this connection has it already.
     * Called under the session lock and the wire lock.
     */
    void holdInstrument(InstrumentLocking locking, Duration timeout, String sharedKey, String session)
            throws LabHalException {
        if (instrumentHolds > 0) {
            if (!Objects.equals(sharedKey, instrumentKey)) {
                throw new IllegalArgumentException("Session " + session + ": the connection already holds the "
                        + describeLock(instrumentKey) + " on the instrument; cannot nest the "
                        + describeLock(sharedKey) + " inside it");
            }
            instrumentHolds++;
            return;
        }
        try {
            locking.lockInstrument(timeout, sharedKey);
        } catch (IoTimeoutException e) {
            // No answer in time: the instrument may still grant the lock to this link, and nobody would
            // release it. Closing the link is the release that cannot miss.
            killBy(e, "the instrument did not answer the lock request in time (" + e.getMessage() + "); closed so "
                    + "that a late grant cannot leave the instrument locked");
            throw e;
        } catch (LabHalException e) {
            throw failed(e);
        }
        instrumentHolds++;
        instrumentKey = sharedKey;
    }

    /**
     * Gives back one hold; the last one releases the instrument-side lock. Like every release path it
     * runs to the end whatever the interrupt flag says (the flag is restored). When the release fails,
     * or the connection stays busy with a step of another session lock for longer than
     * {@code wireWait}, the instrument may still hold the lock for this link, so the channel closes the
     * link, which makes every instrument free it.
     */
    void releaseInstrument(InstrumentLocking locking, Duration timeout, Duration wireWait) {
        boolean interrupted = Thread.interrupted();
        try {
            if (!wire.tryLock(Deadline.nanos(wireWait), TimeUnit.NANOSECONDS)) {
                kill("the connection stayed busy with another session's step for " + Deadline.millis(wireWait)
                        + " ms while the instrument-side lock was to be released; closed so that the instrument "
                        + "frees the lock");
                return;
            }
        } catch (InterruptedException e) {
            interrupted = true; // interrupted again while waiting: closing is the release that cannot wait
            kill("interrupted while waiting to release the instrument-side lock; closed so that the instrument "
                    + "frees the lock");
            return;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            releaseHeld(locking, timeout);
        } finally {
            wire.unlock();
        }
    }

    private void releaseHeld(InstrumentLocking locking, Duration timeout) {
        if (instrumentHolds > 1) {
            instrumentHolds--;
            return;
        }
        instrumentHolds = 0;
        instrumentKey = null;
        if (closedBecause() != null) {
            return; // the closed link took its instrument-side lock with it
        }
        try {
            Uninterruptibly.run(() -> locking.unlockInstrument(timeout));
        } catch (LabHalException | RuntimeException e) {
            kill("releasing the instrument-side lock failed (" + e.getMessage() + "); the connection was closed "
                    + "so that the instrument frees the lock");
        }
    }

    private static String describeLock(String sharedKey) {
        return sharedKey == null ? "exclusive lock" : "shared lock '" + sharedKey + "'";
    }
}
