package org.labhal.api;

import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;

import org.labhal.api.lock.Lease;
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
 * or break away to a fresh one ({@link #breakAway()}). Whatever lock a handle holds, the steps of all
 * handles on one connection take turns on it: a lock only decides which leases exclude each other.
 *
 * <h2>Timeouts</h2>
 * The I/O timeout bounds each transfer as a whole: writing a command, reading its whole answer
 * (however slowly the instrument trickles it); a binary block gets one I/O timeout for each piece
 * of up to 64 KiB (see below). The lock timeout bounds
 * the wait for the lock. They are separate: a long queue for a busy instrument is not an I/O
 * failure. Huge timeouts are taken as "practically forever"; they never overflow.
 * <p>
 * An answer collected in memory is bounded by {@link #maxAnswerSize()} (16 MiB unless set): an
 * instrument that streams without end fails the step with {@link AnswerTooLargeException} instead of
 * exhausting memory. After any failure that may leave part of an answer or of a command on the wire
 * the session resynchronises (device clear) or, where it cannot (a command cut short on a byte
 * stream), closes the connection: a later step never gets another step's bytes.
 * <p>
 * Text is sent and received as ISO-8859-1; a response's trailing line feed (and carriage return) is
 * removed.
 *
 * <h2>Binary blocks</h2>
 * The {@code queryBlock}, {@code writeBlock} and {@code query...Values} methods exchange IEEE 488.2
 * arbitrary blocks: definite-length {@code #<n><length><data>} and indefinite-length
 * {@code #0<data>} ended by the message end. Each transfer is one step: the lock is held from the
 * command to the message terminator, however long the data takes, so other steps on the same lock
 * wait that long (give them a lock timeout to match). The I/O timeout bounds the block header, each
 * piece of up to 64 KiB of data and the terminator, each as a whole: a block may take as long as it
 * keeps arriving at 64 KiB per timeout (13 KiB/s at the default 5 s), while an instrument that
 * trickles a few bytes now and then fails within one timeout. Lengths on the wire are never trusted: data is read by what arrives, in
 * pieces of at most 64 KiB, and the streaming variants hold no more than that in memory. Stream
 * transports ({@link TransportKind#SOCKET}, {@link TransportKind#SERIAL}) have no END indicator, so
 * there an indefinite-length block ends at its first line feed; instruments send definite-length
 * blocks there. A response that is not the block asked for fails with a
 * {@link MalformedResponseException}; after any failure with part of the response unread, the
 * session resynchronises as after a timeout.
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
     * line feeds. Memory grows with the bytes that arrive, never by an announced length.
     *
     * @param query an SCPI query, without termination
     * @return the raw response, termination included
     * @throws MalformedResponseException when a definite-length block header has a non-digit in its
     *         length
     * @throws LabHalException as for {@link #query(String)}, or when the response exceeds 2 GiB
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

    /**
     * Reads the instrument's IEEE 488 status byte as a step, without sending a message (a serial poll:
     * USB488 {@code READ_STATUS_BYTE}, a GPIB controller's serial poll, VXI-11 {@code device_readstb}),
     * so nothing is queued, interrupted or cleared.
     *
     * @return the status byte, 0 to 255
     * @throws InstrumentControlUnsupportedException when the transport has no such function, naming the
     *         resource and its transport kind ({@link #instrumentControlSupported()} tells beforehand)
     * @throws LabHalException as for {@link #write(String)}
     * @since 1.3
     */
    int readStatusByte() throws LabHalException;

    /**
     * Sends the bus trigger (IEEE 488.1 Group Execute Trigger or the transport's equivalent) as a step.
     *
     * @throws InstrumentControlUnsupportedException when the transport has no such function
     * @throws LabHalException as for {@link #write(String)}
     * @since 1.3
     */
    void trigger() throws LabHalException;

    /**
     * Puts the instrument in remote or local operation as a step.
     *
     * @param mode what to do; see {@link RemoteLocal}
     * @throws InstrumentControlUnsupportedException when the transport has no such function
     * @throws LabHalException as for {@link #write(String)}, or naming what the transport can do when it
     *         cannot do {@code mode}
     * @since 1.3
     */
    void remoteLocal(RemoteLocal mode) throws LabHalException;

    /**
     * @return whether the transport carries the IEEE 488 control functions {@link #readStatusByte()},
     *         {@link #trigger()} and {@link #remoteLocal(RemoteLocal)}
     * @since 1.3
     */
    boolean instrumentControlSupported();

    /**
     * Sends a query and reads its response, an IEEE 488.2 binary block, into memory as one step;
     * with error checking on, then reads the error queue within the same step.
     *
     * @param query an SCPI query, without termination, e.g. {@code "MMEM:DATA? 'setup.dfl'"}
     * @return the block's data, without header and terminator
     * @throws MalformedResponseException when the response is not a block: no {@code #}, a length
     *         with non-digits, a message that ends before the announced data, bytes other than the
     *         terminator after it
     * @throws IoTimeoutException when the block stopped arriving before its announced length, or its
     *         terminator did not come; the session was resynchronised
     * @throws LabHalException as for {@link #query(String)}, or when an indefinite-length block
     *         exceeds 2 GiB
     */
    byte[] queryBlock(String query) throws LabHalException;

    /**
     * Sends a query and streams its response, an IEEE 488.2 binary block, to {@code sink} as one
     * step, holding at most 64 KiB of it in memory; with error checking on, then reads the error
     * queue within the same step. To save a 1 GB waveform to a file:
     *
     * <pre>{@code
     * try (OutputStream file = Files.newOutputStream(path)) {
     *     session.queryBlock("CURV?", file, (done, total) -> bar.set(done, total));
     * }
     * }</pre>
     *
     * @param query an SCPI query, without termination
     * @param sink receives the block's data, without header and terminator; neither flushed nor
     *        closed. When the step fails it holds the data read until then.
     * @param progress told how far the transfer has come, see {@link BlockProgress}; or
     *        {@link BlockProgress#NONE}
     * @return the number of data bytes written to {@code sink}
     * @throws StepInterruptedException when the thread was interrupted during the transfer
     * @throws LabHalException as for {@link #queryBlock(String)}, or naming the resource and the
     *         byte count when {@code sink} failed (with its {@link java.io.IOException} as cause);
     *         an unchecked exception from {@code progress} or {@code sink} is rethrown as it is. In
     *         each case the session was resynchronised if part of the response was unread.
     */
    long queryBlock(String query, OutputStream sink, BlockProgress progress) throws LabHalException;

    /**
     * Sends a command with a definite-length binary block as one program message, as one step; with
     * error checking on, then reads the error queue within the same step. The message is
     * {@code commandPrefix}, {@code #<n><length>}, the data, then the transport's termination.
     *
     * @param commandPrefix sent verbatim before the block, separator included, e.g.
     *        {@code "MMEM:DATA 'wave.bin',"} or {@code "TRAC:DATA "}
     * @param data the block's data, at most 999,999,999 bytes
     * @throws IllegalArgumentException when {@code data} is longer than a definite-length header can
     *         announce
     * @throws LabHalException as for {@link #write(String)}; when the step failed after sending
     *         began, the session was resynchronised
     */
    void writeBlock(String commandPrefix, byte[] data) throws LabHalException;

    /**
     * As {@link #writeBlock(String, byte[])}, streaming the data from {@code data} with at most
     * 64 KiB of it in memory. With {@code length} -1 the block has indefinite length ({@code #0}) and
     * ends at the end of {@code data}; that needs an END indicator, so stream transports
     * ({@link TransportKind#SOCKET}, {@link TransportKind#SERIAL}) refuse it before sending anything.
     * If the step fails after sending began (the source fails or ends early, a timeout, an
     * interrupt), the session sends a device clear; on a transport without one the instrument may
     * still be waiting for the rest of the block.
     *
     * @param commandPrefix sent verbatim before the block, separator included
     * @param data the source, read exactly {@code length} bytes far (to its end for -1); not closed
     * @param length the number of data bytes, 0 to 999,999,999, or -1 for indefinite length
     * @param progress told how far the transfer has come; or {@link BlockProgress#NONE}
     * @return the number of data bytes sent
     * @throws IllegalArgumentException when {@code length} is outside -1..999,999,999
     * @throws StepInterruptedException when the thread was interrupted during the transfer
     * @throws LabHalException as for {@link #write(String)}, when an indefinite-length block needs an
     *         END the transport lacks, or naming the resource and the byte count when {@code data}
     *         failed or ended before {@code length} bytes
     */
    long writeBlock(String commandPrefix, InputStream data, long length, BlockProgress progress)
            throws LabHalException;

    /**
     * Sends a query whose response is a binary block of numbers and decodes it, as one step (see
     * {@link #queryBlock(String)}). Set the instrument's data format to match first, e.g.
     * {@code FORM REAL,32} with {@link BinaryFormat#REAL32}.
     *
     * @param query an SCPI query, without termination, e.g. {@code "TRAC? TRACE1"}
     * @param format the element type and byte order of the data
     * @return the values, in order
     * @throws MalformedResponseException as for {@link #queryBlock(String)}, or when the data is not a
     *         whole number of elements
     * @throws LabHalException as for {@link #queryBlock(String)}
     */
    double[] queryBinaryValues(String query, BinaryFormat format) throws LabHalException;

    /**
     * Sends a query whose response lists decimal numbers separated by commas, as one step, and
     * parses them. Each element must be an IEEE 488.2 NR1, NR2 or NR3 number ({@code 12},
     * {@code -1.5}, {@code +3.0E-3}); whitespace around it is ignored.
     *
     * @param query an SCPI query, without termination, e.g. {@code "FETC?"}
     * @return the values, in order; empty for an empty response
     * @throws MalformedResponseException naming the first element that is not a number, with its
     *         position
     * @throws LabHalException as for {@link #query(String)}
     */
    double[] queryAsciiValues(String query) throws LabHalException;

    /**
     * Extends the session lock to the instrument with its exclusive instrument-side lock, as
     * {@link #lockInstrument(Duration, String) lockInstrument(timeout, null)}.
     *
     * @param timeout how long to wait for both locks together
     * @return the lease; closing it releases the instrument-side lock, then the session lock
     * @throws LabHalException as for {@link #lockInstrument(Duration, String)}
     */
    Lease lockInstrument(Duration timeout) throws LabHalException;

    /**
     * Takes a layered lock: first this handle's {@link #lock() session lock} (keeping other steps in
     * this framework out), then the instrument-side lock of the transport (keeping other processes
     * and hosts out: VXI-11 {@code device_lock}, HiSLIP exclusive or shared {@code AsyncLock}).
     * Closing the lease releases them in reverse order; it must be closed by the thread that took it.
     * When taking the instrument-side lock fails, the session lock is released before the exception
     * is thrown. Nested calls on the same connection share one instrument-side hold, released when
     * the outermost lease closes; handles that {@link #breakAway() broke away} share it without
     * coordination.
     *
     * <pre>{@code
     * try (Lease lease = session.lockInstrument(Duration.ofSeconds(5))) {
     *     session.write("*RST");
     *     session.query("*OPC?");
     * }
     * }</pre>
     * <p>
     * Closing the lease releases the instrument-side lock whatever the thread's interrupt flag says
     * (the flag is kept). When the release fails (the instrument refuses it, does not answer, or the
     * link is busy beyond the lock timeout) the session closes the connection, which makes the
     * instrument free the lock: the instrument is never left locked, and {@link #isOpen()} turns
     * false so the owner reconnects. The session lock is released in every case.
     *
     * @param timeout how long to wait for both locks together, zero (try once) or positive
     * @param sharedKey {@code null} for the exclusive instrument-side lock; otherwise a shared lock
     *        name (HiSLIP only)
     * @return the lease holding both locks
     * @throws InstrumentLockUnsupportedException when the transport has no instrument-side lock,
     *         naming the resource and transport kind
     * @throws org.labhal.api.lock.LockTimeoutException when the session lock was not free in time
     * @throws IllegalArgumentException when {@code sharedKey} is given to a transport with exclusive
     *         locks only, or differs from the key of a lock this connection already holds
     * @throws LabHalException the transport's specific exception when the instrument-side lock is held
     *         elsewhere beyond the timeout; or for a closed session, a lost connection or an interrupt
     */
    Lease lockInstrument(Duration timeout, String sharedKey) throws LabHalException;

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
     * keep the old one. Its leases no longer exclude theirs, so their multi-step transactions may
     * interleave; single steps on a shared connection still take turns on it, so no step ever gets
     * another's answer. For a connection of its own, open a new session instead.
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

    /**
     * @return whether each step also holds the instrument-side lock, as opened with
     *         {@link SessionOptions#withInstrumentLock(boolean)}
     */
    boolean instrumentLock();

    /**
     * @return whether this session's transport has an instrument-side lock (VXI-11, HiSLIP), that is
     *         whether {@link #lockInstrument(Duration)} and {@link SessionOptions#withInstrumentLock(boolean)}
     *         can work; {@code false} for transports that would refuse them with
     *         {@link InstrumentLockUnsupportedException}
     */
    boolean instrumentLockSupported();

    /**
     * @return the I/O timeout: the longest one transfer may take as a whole (writing a command,
     *         reading an answer however slowly its bytes arrive, each 64 KiB piece of a block)
     */
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

    /** @return the most bytes one answer collected in memory may have, see {@link SessionOptions#maxAnswerSize()} */
    long maxAnswerSize();

    /** @param bytes the new limit, 1 to {@link SessionOptions#MAX_ANSWER_LIMIT} */
    void setMaxAnswerSize(long bytes);

    /**
     * @return whether this handle is open: false once closed, and once its connection closed or was
     *         found broken (a lost link, a message cut short), so that the owner can reconnect
     */
    boolean isOpen();

    /**
     * Closes this handle; the connection closes with its last handle. A step running on another
     * thread fails with a specific exception. Idempotent.
     */
    @Override
    void close();
}
