package org.labhal.transport.vxi11;

import java.time.Duration;

import org.labhal.api.LabHalException;
import org.labhal.api.RemoteLocal;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.InstrumentControl;
import org.labhal.api.transport.InstrumentLocking;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A VXI-11 link to one device: every {@link Connection} the VXI-11 transport opens is one, so a
 * holder of the connection reaches the operations below with
 * {@code if (connection instanceof Vxi11Link link)}.
 *
 * <p>Threads: like {@link Connection}, used by one step at a time (the session's lock serialises
 * them); a second caller waits for the first call to finish. Two methods are meant for other threads
 * while a call is blocked:
 * <ul>
 * <li>{@link #abort(Duration)} ends the blocked call with a {@link Vxi11AbortedException} and keeps
 * the link;</li>
 * <li>{@link #close()} (also what closing a session or stopping the transport does) first aborts the
 * blocked call on the abort channel, so that the instrument ends it and frees its resources at once,
 * then destroys the link (which releases its device lock) and closes the connection; the blocked
 * caller gets a {@link org.labhal.api.ConnectionLostException}. Without a working abort channel it
 * closes the connection right away, as instruments release a dropped link's resources too.</li>
 * </ul>
 * Interrupting the thread of a blocked call does what {@link #close()} does (like an
 * {@link java.nio.channels.InterruptibleChannel}): the call is aborted, the link destroyed and closed,
 * and the caller gets a {@link org.labhal.api.StepInterruptedException} with its interrupt status set.
 * A call started with the interrupt status already set sends nothing, throws that exception and
 * leaves the link open. Release paths are the exception: {@link #unlock()},
 * {@link #unlockInstrument(Duration)}, {@link #clear(Duration)} and {@link #close()} run to the end
 * whatever the interrupt status says, and leave it set.
 *
 * <p>Time: a call's timeout bounds the whole call (every RPC and every byte of the replies); the
 * instrument gets it as its io_timeout, and the reply may come up to one second later.
 *
 * <p>Staying in step: a message cut short (device_write failed or unanswered after the instrument
 * took part of it) is cleared from the instrument's input with device_clear before the failure is
 * thrown, or the link is closed when that fails, so that no fragment is ever glued to the next
 * message. A device_lock or device_unlock left unanswered by the deadline closes the link, since the
 * instrument frees a dropped link's lock: a late grant never leaves the device locked. A closed
 * link's {@link #isOpen()} is false.
 *
 * <p>Errors: a VXI-11 error code from the instrument is a {@link Vxi11Exception} naming the code
 * (I/O timeout, code 15, is an {@link org.labhal.api.IoTimeoutException}); no answer within the
 * timeout is an {@link org.labhal.api.IoTimeoutException}; a broken link or a reply that is not
 * valid ONC RPC closes the link and is a {@link org.labhal.api.ConnectionLostException}.
 *
 * <p>Instrument-side locks: as {@link InstrumentLocking} (what
 * {@link org.labhal.api.Session#lockInstrument(Duration, String)} uses) the link offers the device lock,
 * which VXI-11 has only as an exclusive lock: a shared key is refused.
 */
@ProviderType
public interface Vxi11Link extends Connection, InstrumentLocking, InstrumentControl {

    /**
     * Takes the device lock (device_lock), exclusive across all links to the device, from any host.
     * While this link holds it, other links' I/O waits up to their lock timeout and then fails with
     * {@link Vxi11Error#DEVICE_LOCKED_BY_ANOTHER_LINK}. Taking it again while holding it succeeds.
     *
     * @param wait how long the instrument waits for another link to release the lock; zero fails at
     *        once when it is held (the waitlock flag is then off)
     * @throws Vxi11Exception with {@link Vxi11Error#DEVICE_LOCKED_BY_ANOTHER_LINK} when another link
     *         still holds it after {@code wait}
     * @throws LabHalException when the link failed
     */
    void lock(Duration wait) throws LabHalException;

    /**
     * Releases the device lock (device_unlock).
     *
     * @throws Vxi11Exception with {@link Vxi11Error#NO_LOCK_HELD_BY_THIS_LINK} when this link holds none
     * @throws LabHalException when the link failed
     */
    void unlock() throws LabHalException;

    /**
     * Reads the IEEE 488.2 status byte without using the output queue (device_readstb, a serial poll).
     *
     * @param timeout the I/O timeout
     * @return the status byte, 0 to 255
     * @throws LabHalException when the instrument answered an error or the link failed
     */
    int readStatusByte(Duration timeout) throws LabHalException;

    /**
     * Sends a group execute trigger (device_trigger, like {@code *TRG}).
     *
     * @param timeout the I/O timeout
     * @throws LabHalException when the instrument answered an error or the link failed
     */
    void trigger(Duration timeout) throws LabHalException;

    /**
     * Puts the device in remote state (device_remote): its front panel is locked out.
     *
     * @param timeout the I/O timeout
     * @throws LabHalException when the instrument answered an error or the link failed
     */
    void remote(Duration timeout) throws LabHalException;

    /**
     * Returns the device to local state (device_local): its front panel works again.
     *
     * @param timeout the I/O timeout
     * @throws LabHalException when the instrument answered an error or the link failed
     */
    void local(Duration timeout) throws LabHalException;

    /**
     * {@link InstrumentControl}'s remote / local control on the core channel's two calls: {@code REMOTE} and
     * {@code LOCAL_LOCKOUT} are device_remote (VXI-11 B.6.6: every programmable local control disabled, so
     * a lockout already), {@code LOCAL} and {@code RELEASE} are device_local. VXI-11 has no separate REN
     * line; a GPIB gateway maps these calls onto its bus.
     *
     * @since 1.2
     */
    @Override
    default void remoteLocal(RemoteLocal mode, Duration timeout) throws LabHalException {
        switch (mode) {
            case REMOTE, LOCAL_LOCKOUT -> remote(timeout);
            case LOCAL, RELEASE -> local(timeout);
            default -> throw new AssertionError(mode);
        }
    }

    /**
     * Aborts the call in progress on this link (device_abort on the abort channel, a TCP connection of
     * its own to the port create_link named, opened on first use). The instrument ends that call,
     * typically a device_read waiting for a response or a device_write waiting for the instrument,
     * with error 23, which its caller gets as a {@link Vxi11AbortedException}; the link stays open and
     * keeps its device lock. Callable from any thread, and does not wait for the call in progress.
     * When no call is in progress (or the call was not yet started on the instrument) the abort has
     * no effect.
     *
     * @param timeout bounds connecting the abort channel and waiting for its answer together
     * @throws Vxi11AbortedException when the instrument answers device_abort itself with error 23
     * @throws Vxi11Exception when it answers another error code, e.g.
     *         {@link Vxi11Error#INVALID_LINK_IDENTIFIER} for a link it no longer knows
     * @throws org.labhal.api.IoTimeoutException when the abort channel did not connect or answer in time
     * @throws org.labhal.api.StepInterruptedException when the calling thread was interrupted (its
     *         status stays set)
     * @throws org.labhal.api.ConnectionLostException when this link is closed
     * @throws LabHalException when the instrument offers no abort channel (create_link answered
     *         abortPort 0), or it cannot be reached or refused the call; the link itself is unaffected
     */
    void abort(Duration timeout) throws LabHalException;

    /** The device name this link was created with, e.g. {@code inst0} or {@code gpib0,5}. */
    String device();

    /** The largest device_write the instrument accepts (create_link's maxRecvSize); longer writes are split. */
    int maxReceiveSize();
}
