package org.labhal.api.transport;

import java.nio.ByteBuffer;
import java.time.Duration;

import org.labhal.api.LabHalException;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A raw link to one instrument, made by a {@link TransportFactory}. It moves bytes and marks
 * message ends; it does not lock, retry or parse. Sessions call it only while holding their lock,
 * so it is never used by two steps at once, with one exception: {@link #close()} may be called from
 * any thread at any time and must wake a blocked {@link #read} or {@link #write} with a
 * {@link org.labhal.api.ConnectionLostException} or {@link org.labhal.api.SessionClosedException}.
 *
 * <h2>Promises every transport keeps</h2>
 * <ul>
 * <li><b>A timeout bounds the whole call</b>, however many packets, frames or records it takes: make a
 * {@link Deadline} from it and wait on what is left of it. A peer that trickles one byte at a time
 * cannot stretch a call. Huge timeouts saturate ({@link Deadline#nanos}), they never overflow.</li>
 * <li><b>Interrupts end waits at once</b> with {@link org.labhal.api.StepInterruptedException}, never
 * with a spin until the deadline; the interrupt flag stays set. When a message was half sent or half
 * received at that moment, the link is closed first, since it is out of step.</li>
 * <li><b>A link out of step is closed, never reused</b>: a message cut short by a timeout, a frame
 * that announced more than it brought, a header announcing an absurd size. The call throws
 * {@link org.labhal.api.ConnectionLostException} naming what happened, every later call throws it
 * too, and {@link #isOpen()} turns false, so the session and the runtime see it and reconnect.</li>
 * <li><b>Memory is bounded</b>: no buffer grows with what the peer announces or floods; a frame or
 * record beyond the transport's limit fails with {@link org.labhal.api.AnswerTooLargeException}.</li>
 * <li><b>Release paths complete</b> whatever the interrupt flag says ({@link Uninterruptibly}):
 * {@link InstrumentLocking#unlockInstrument}, {@link #close()}.</li>
 * </ul>
 */
@ConsumerType
public interface Connection extends AutoCloseable {

    /**
     * Sends bytes to the instrument.
     *
     * @param data the bytes from position to limit; consumed entirely on success; after a failure its
     *        position tells how many went out, so the caller knows whether a message was cut
     * @param end whether these bytes end a program message: stream transports append their write
     *        termination, message-based ones set their END indicator
     * @param timeout bounds this whole call (see the class comment)
     * @throws org.labhal.api.IoTimeoutException when the instrument does not accept the bytes in time
     * @throws org.labhal.api.ConnectionLostException when the link broke
     * @throws LabHalException for other transport failures
     */
    void write(ByteBuffer data, boolean end, Duration timeout) throws LabHalException;

    /**
     * Sends a whole program message whose response the caller reads next, with {@link #read} until
     * the message ends (or gives up on it with {@link #clear} or {@link #close}). A message-based
     * transport may ask the instrument for the response in the same breath: VXI-11 sends its
     * device_read right behind the device_write, saving a round trip per query. The response of a
     * query the caller does not read is dropped before the next message goes out, never handed to a
     * later read. The default is {@code write(query, true, timeout)}.
     *
     * @param query the bytes from position to limit: the whole message; consumed entirely on success;
     *        after a failure its position tells how many went out
     * @param timeout bounds this whole call (see the class comment)
     * @throws org.labhal.api.IoTimeoutException when the instrument does not accept the bytes in time
     * @throws org.labhal.api.ConnectionLostException when the link broke
     * @throws LabHalException for other transport failures
     * @since 1.3
     */
    default void writeQuery(ByteBuffer query, Duration timeout) throws LabHalException {
        write(query, true, timeout);
    }

    /**
     * Reads at least one byte of the instrument's response into {@code into} (from its position up
     * to its limit), stopping after a byte that ends a message (the END indicator, or the read
     * termination character of stream transports) so that no byte of a later message is consumed.
     *
     * @param into the buffer to fill; has at least one byte remaining
     * @param timeout bounds this whole call (see the class comment)
     * @return whether the last byte read ended a message
     * @throws org.labhal.api.IoTimeoutException when no byte arrives in time
     * @throws org.labhal.api.ConnectionLostException when the link broke
     * @throws LabHalException for other transport failures
     */
    boolean read(ByteBuffer into, Duration timeout) throws LabHalException;

    /**
     * Resynchronises with the instrument after a timeout or an aborted step: a device clear where the
     * transport has one (VXI-11, HiSLIP, the simulators), otherwise a bounded drain of pending input.
     *
     * @param timeout bounds this whole call (see the class comment)
     * @throws LabHalException when the instrument could not be cleared
     */
    void clear(Duration timeout) throws LabHalException;

    /**
     * Whether this transport deals with a message cut short itself: when {@link #write} or
     * {@link #writeQuery} fails after part of a message went out, the instrument has already dropped
     * that part (VXI-11 sends its own device_clear within the write's deadline) or the link is closed.
     * A session then adds no device clear of its own, which would only double the time a failing
     * step can take. The default, {@code false}, lets the session clear the device after a cut.
     *
     * @return whether a cut message leaves nothing behind in the instrument
     * @since 1.4
     */
    default boolean dropsCutMessages() {
        return false;
    }

    /**
     * @return false once the link is closed, by {@link #close()} or because the transport found it
     *         broken or out of step; a session on a link that is not open reports itself closed
     */
    default boolean isOpen() {
        return true;
    }

    /**
     * @return a short description for messages, e.g. the remote address
     */
    String describe();

    /**
     * Closes the link. Idempotent; callable from any thread; never blocks for long.
     */
    @Override
    void close();
}
