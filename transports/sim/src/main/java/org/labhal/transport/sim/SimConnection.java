package org.labhal.transport.sim;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

import org.osgi.annotation.versioning.ProviderType;

/**
 * One remote session with a {@link SimulatedInstrument}, like a VXI-11 link or a socket
 * connection. What a session shares with the others depends on the model: on {@code SMW200A}
 * nothing but the instrument settings; on {@code SHARED} the input buffer, output queue, error
 * queue and status registers, so one session's answer can be read by another.
 *
 * <p>Thread-safe: every method may be called from several threads at once, and is as
 * unsynchronised as a real instrument is. Closing is final; afterwards every method but
 * {@link #close()} throws {@code IOException("connection closed")}.
 */
@ProviderType
public interface SimConnection extends AutoCloseable {

    /**
     * Sends bytes of a program message. Each {@code '\n'} in the data terminates a program
     * message, and so does {@code end = true} (the IEEE 488.2 END message) after the last byte.
     * Each message completed by this call is executed in this thread before the call returns:
     * the instrument waits its processing delay, then runs the commands, then puts the answers
     * of the message's queries, if any, in the output queue as one response message. If a
     * response was still unread when the message started, it is discarded and -410
     * "Query INTERRUPTED" is queued (IEEE 488.2 6.3.2.3). Bytes without a terminator stay in the
     * input buffer, which on the {@code SHARED} model is shared with every other connection.
     *
     * <p>Blocks while another message of the same exchange executes, for processing delays,
     * and for {@code *WAI} or {@code *OPC?} until pending operations complete.
     *
     * @param data the bytes (ASCII/ISO-8859-1)
     * @param offset index of the first byte in {@code data}
     * @param length number of bytes, may be 0
     * @param end whether the last byte carries END, completing the program message
     * @throws IOException when the connection is or gets closed; a message being executed is then
     *         abandoned
     * @throws InterruptedException when interrupted while waiting; the message is abandoned
     * @throws IndexOutOfBoundsException when the range is outside {@code data}
     */
    void write(byte[] data, int offset, int length, boolean end) throws IOException, InterruptedException;

    /**
     * Reads from the response message at the head of the output queue, waiting for one to
     * arrive if the queue is empty. A read never returns bytes of two response messages; if
     * {@code length} is shorter than the rest of the response, the remainder stays for the next
     * read and {@link SimRead#end()} is {@code false}.
     *
     * @param buffer where the bytes go
     * @param offset index of the first byte to fill
     * @param length maximum number of bytes, at least 1
     * @param timeout how long to wait for a response; zero or negative means do not wait
     * @return how many bytes were copied and whether they ended the response
     * @throws TimeoutException when no response arrived in time; the instrument queues -420
     *         "Query UNTERMINATED", as when a controller addresses a device to talk with nothing
     *         to say
     * @throws IOException when the connection is or gets closed, also while waiting
     * @throws InterruptedException when interrupted while waiting
     * @throws IllegalArgumentException when {@code length} is less than 1
     * @throws IndexOutOfBoundsException when the range is outside {@code buffer}
     */
    SimRead read(byte[] buffer, int offset, int length, Duration timeout)
            throws IOException, TimeoutException, InterruptedException;

    /**
     * IEEE 488.2 device clear (DCL/SDC, VXI-11 device_clear, HiSLIP clear): empties the input
     * buffer and output queue of this connection's exchange (on {@code SHARED}: everyone's),
     * discards the program message being executed there, and cancels a pending {@code *OPC}.
     * The error queue and status registers are kept.
     *
     * @throws IOException when the connection is closed
     */
    void deviceClear() throws IOException;

    /**
     * The IEEE 488.2 status byte of this connection's exchange as a transport's own status read
     * sees it (HiSLIP {@code AsyncStatusQuery}, VXI-11 {@code device_readstb}): EAV (bit 2), MAV
     * (bit 4), ESB (bit 5) and MSS (bit 6), the same bits {@code *STB?} reports, read without
     * sending a message, so nothing is queued, interrupted or cleared. This simulator has no
     * service-request state machine, so bit 6 is MSS, not a latched RQS.
     *
     * @param responsePending whether the transport holds a response that its client has not taken
     *        yet (already sent, not yet delivered), which counts as MAV here and in MSS, as it would
     *        on an instrument whose output queue the transport drains lazily
     * @return the status byte, 0 to 255
     * @throws IOException when the connection is closed
     */
    int statusByte(boolean responsePending) throws IOException;

    /**
     * Closes the session; idempotent. Threads blocked in {@link #read} or {@link #write} on it
     * wake with {@code IOException("connection closed")}. On {@code SHARED} the shared buffers
     * are left as they are, as a real instrument does when a client goes away.
     */
    @Override
    void close();
}
