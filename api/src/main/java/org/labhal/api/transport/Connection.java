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
 */
@ConsumerType
public interface Connection extends AutoCloseable {

    /**
     * Sends bytes to the instrument.
     *
     * @param data the bytes from position to limit; consumed entirely on success
     * @param end whether these bytes end a program message: stream transports append their write
     *        termination, message-based ones set their END indicator
     * @param timeout the I/O timeout for this call
     * @throws org.labhal.api.IoTimeoutException when the instrument does not accept the bytes in time
     * @throws org.labhal.api.ConnectionLostException when the link broke
     * @throws LabHalException for other transport failures
     */
    void write(ByteBuffer data, boolean end, Duration timeout) throws LabHalException;

    /**
     * Reads at least one byte of the instrument's response into {@code into} (from its position up
     * to its limit), stopping after a byte that ends a message (the END indicator, or the read
     * termination character of stream transports) so that no byte of a later message is consumed.
     *
     * @param into the buffer to fill; has at least one byte remaining
     * @param timeout the I/O timeout for this call
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
     * @param timeout the I/O timeout for this call
     * @throws LabHalException when the instrument could not be cleared
     */
    void clear(Duration timeout) throws LabHalException;

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
