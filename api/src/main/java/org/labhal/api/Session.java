package org.labhal.api;

import java.time.Duration;
import java.util.List;

import org.labhal.api.lock.LockPolicy;
import org.labhal.api.lock.Priority;
import org.labhal.api.lock.SessionLock;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A connection to one instrument, safe to use from many threads. Every communication step — a
 * write, a query (write then read), a write followed by an error-queue check — runs under the
 * session's {@link SessionLock}, so steps never interleave with other steps under the same lock.
 * For multi-step work hold the lock yourself; steps inside re-enter it:
 *
 * <pre>{@code
 * try (Lease lease = session.lock().acquire(Duration.ofSeconds(5))) {
 *     session.write("FREQ 2 GHz");
 *     session.write("OUTP ON");
 * }
 * }</pre>
 *
 * <h2>Sharing, as in RsInstrument</h2>
 * {@link #share()} gives a second handle (say, for a second driver object) on the same connection
 * and the same lock. A handle can hand out its lock ({@link #lock()}), adopt another session's
 * ({@link #adoptLock}) so two independent sessions to a shared-buffer instrument never talk at once,
 * or break away to a fresh one ({@link #breakAway()}).
 *
 * <h2>Timeouts</h2>
 * The I/O timeout bounds each read and write on the wire; the lock timeout bounds the wait for the
 * lock. They are separate: a long queue for a busy instrument is not an I/O failure.
 * <p>
 * Text is sent and received as ISO-8859-1; a response's trailing line feed (and carriage return) is
 * removed.
 */
@ProviderType
public interface Session extends AutoCloseable {

    /** @return the resource this session is connected to */
    ResourceAddress address();

    /** @return a name unique among open sessions, for diagnostics */
    String name();

    /**
     * Sends a command as one step; with error checking on, then reads the error queue within the same
     * step.
     *
     * @param command an SCPI program message, without termination
     * @throws InstrumentErrorException when error checking found errors
     * @throws org.labhal.api.lock.LockTimeoutException when the lock was not free within the lock timeout
     * @throws IoTimeoutException when the instrument did not take the bytes in time
     * @throws LabHalException for a closed session, a lost connection, a deadlock or an interrupt
     */
    void write(String command) throws LabHalException;

    /**
     * Sends a query and reads its response as one step; with error checking on, then reads the error
     * queue within the same step.
     *
     * @param query an SCPI query, without termination
     * @return the response without its trailing line feed
     * @throws InstrumentErrorException when error checking found errors
     * @throws org.labhal.api.lock.LockTimeoutException when the lock was not free within the lock timeout
     * @throws IoTimeoutException when no complete response arrived in time
     * @throws LabHalException for a closed session, a lost connection, a deadlock or an interrupt
     */
    String query(String query) throws LabHalException;

    /**
     * As {@link #query(String)}, returning the response's raw bytes. A response that is an IEEE 488.2
     * definite-length block ({@code #<n><length><data>}) is read whole even when its data contains
     * line feeds.
     *
     * @param query an SCPI query, without termination
     * @return the raw response, termination included
     * @throws LabHalException as for {@link #query(String)}
     */
    byte[] queryBytes(String query) throws LabHalException;

    /**
     * Sends raw bytes as one complete program message (termination added by the transport).
     *
     * @param message the bytes to send
     * @throws LabHalException as for {@link #write(String)}
     */
    void writeBytes(byte[] message) throws LabHalException;

    /**
     * Reads one response message as a step of its own. Only meaningful inside a lease that also
     * covers the write that caused the response; otherwise another step may come in between.
     *
     * @return the response without its trailing line feed
     * @throws LabHalException as for {@link #query(String)}
     */
    String read() throws LabHalException;

    /**
     * Reads the whole error queue ({@code SYSTem:ERRor?} until {@code 0,...}) as one step.
     *
     * @return the entries, oldest first; empty when there were none
     * @throws LabHalException as for {@link #query(String)}, or when the queue never drains
     */
    List<InstrumentError> errors() throws LabHalException;

    /**
     * Clears the instrument's I/O buffers (device clear, or a drain on transports without one) as a
     * step.
     *
     * @throws LabHalException as for {@link #write(String)}
     */
    void clear() throws LabHalException;

    /** @return the lock this handle's steps take; hand it to other sessions with {@link #adoptLock} */
    SessionLock lock();

    /**
     * Makes this handle's steps take another session's lock from now on (RsInstrument's
     * {@code assign_lock}). A step already running keeps the lock it started with.
     *
     * @param lock the lock to share
     */
    void adoptLock(SessionLock lock);

    /**
     * Gives this handle a fresh lock of its own (RsInstrument's {@code clear_lock}). Other handles
     * keep the old one. On an instrument with shared buffers this invites crosstalk.
     *
     * @return the new lock
     */
    SessionLock breakAway();

    /**
     * Returns a new handle on the same connection, sharing this handle's current lock, for a second
     * driver object. Timeouts, error checking and priority start as this handle's and are then
     * independent. The connection closes when its last handle closes.
     *
     * @return the new handle
     * @throws SessionClosedException when this session is closed
     */
    Session share() throws SessionClosedException;

    /** @return the lock policy this session was opened with */
    LockPolicy lockPolicy();

    /** @return the I/O timeout of each read and write */
    Duration ioTimeout();

    /** @param timeout the new I/O timeout, positive */
    void setIoTimeout(Duration timeout);

    /** @return how long a step waits for the lock */
    Duration lockTimeout();

    /** @param timeout the new lock timeout, zero (try once) or positive */
    void setLockTimeout(Duration timeout);

    /** @return whether writes and queries are followed by an error-queue check */
    boolean errorChecking();

    /** @param enabled whether to check the error queue after each write and query */
    void setErrorChecking(boolean enabled);

    /** @return the priority this handle's steps wait for the lock with */
    Priority priority();

    /** @param priority the priority for this handle's steps, e.g. URGENT for an "RF off" handle */
    void setPriority(Priority priority);

    /** @return whether this handle is open */
    boolean isOpen();

    /**
     * Closes this handle; the connection closes with its last handle. A step running on another
     * thread fails with a specific exception. Idempotent.
     */
    @Override
    void close();
}
