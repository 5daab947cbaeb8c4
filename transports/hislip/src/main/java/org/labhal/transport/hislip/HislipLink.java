package org.labhal.transport.hislip;

import java.time.Duration;

import org.labhal.api.LabHalException;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.InstrumentControl;
import org.labhal.api.transport.InstrumentLocking;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A HiSLIP connection: the {@link Connection} that the HiSLIP transport opens for
 * {@code TCPIP::host::hislipN[,port]::INSTR}, with the protocol's services beyond moving bytes.
 * Callers that need them ({@code connection instanceof HislipLink link}) get the instrument-side
 * lock, the status byte, remote/local control and trigger.
 *
 * <h2>Threads</h2>
 * The data path ({@link #write}, {@link #read}, {@link #clear}, {@link #trigger}) runs on the
 * synchronous channel and is called by one step at a time, as every {@link Connection}, with one
 * addition: {@link #clear} may also come from another thread while a read waits for its response.
 * That read then ends at once with {@link HislipClearedException}; the clear discards the response
 * it waited for, and the next message's response is its own. (A write in progress is not cut short:
 * the clear waits for it.) The asynchronous services ({@link #lock}, {@link #unlock},
 * {@link #lockInfo}, {@link #statusQuery}, {@link #remoteLocal}) run on the asynchronous channel and
 * may be called from any thread, also while a step is reading; they are serialised among themselves
 * (HiSLIP allows one outstanding asynchronous request), so a lock request that waits delays the
 * others. Their answers carry nothing that says which request they answer, so after a request whose
 * answer did not come in time the next one is sent only once that answer came (it is discarded; a
 * lock granted that late is released at once) or could no longer come (two seconds after the wait the
 * request asked for): an answer is never taken for another request's. {@link #close()} may come from
 * any thread and wakes every blocked call with {@link org.labhal.api.ConnectionLostException}.
 *
 * <h2>Bounds</h2>
 * Every call's timeout bounds the whole call, however the peer trickles or floods. A message whose
 * payload stops short (a call waits for the rest of it past its timeout), a header announcing a Data payload
 * beyond the maximum message size this client announced
 * ({@link org.labhal.api.AnswerTooLargeException}), or a message cut short on the way out leave the
 * link out of step: it closes, the call and every later one throw
 * {@link org.labhal.api.ConnectionLostException} naming what happened, and {@link #isOpen()} is
 * false. Memory does not grow with what the peer announces: data streams through a fixed 64 KiB
 * buffer into the caller's, other payloads are at most 64 KiB.
 *
 * <h2>Responses and message ids</h2>
 * Every message sent carries a message id, and the instrument tags each response with the id of
 * the message that produced it. In synchronized mode a read returns the response to the last message
 * sent; responses to earlier ones are discarded. In overlapped mode ({@link #overlapped()}) messages
 * may be pipelined and reads return their responses in order; a response whose read timed out is
 * discarded once the caller sends again (until then a repeated read still returns it). Both modes
 * discard responses from before the last device clear, and a response to a message this client never
 * sent (or, overlapped, one older than a response already received) is a
 * {@link HislipProtocolException} naming the expected and the received ids, after which the link is
 * closed: no response could be trusted to belong to its question any more.
 *
 * <h2>Instrument-side locks</h2>
 * As {@link InstrumentLocking} (what {@link org.labhal.api.Session#lockInstrument(Duration, String)}
 * uses) the link maps a {@code null} key to the exclusive lock and a key to the shared lock of that
 * lock string, through {@link #lock} and {@link #unlock}. While another client holds the exclusive
 * lock, or the shared lock under a lock string this link does not hold, instruments hold this link's
 * messages, device clears and remote/local requests back until the lock is free: reads then end
 * with {@link org.labhal.api.IoTimeoutException} after their own timeout. A device clear that is
 * not acknowledged in time stays pending and is completed by the next clear, read, write or trigger
 * before it does anything else, so a late acknowledgement never leaves the instrument discarding
 * data. Status queries and lock information are never held back.
 */
@ProviderType
public interface HislipLink extends Connection, InstrumentLocking, InstrumentControl {

    /** The two kinds of HiSLIP lock. */
    enum LockKind {
        /** Held by one client; asked for with an empty lock string. */
        EXCLUSIVE,
        /** Held by every client that asks with the same lock string. */
        SHARED
    }

    /** The requests of {@code AsyncRemoteLocalControl}, with their IVI-6.1 control codes. */
    enum RemoteLocal {
        /** 0: disable remote (VI_GPIB_REN_DEASSERT). */
        DISABLE_REMOTE(0),
        /** 1: enable remote (VI_GPIB_REN_ASSERT). */
        ENABLE_REMOTE(1),
        /** 2: disable remote and go to local (VI_GPIB_REN_DEASSERT_GTL). */
        DISABLE_AND_GO_TO_LOCAL(2),
        /** 3: enable remote and go to remote (VI_GPIB_REN_ASSERT_ADDRESS). */
        ENABLE_AND_GO_TO_REMOTE(3),
        /** 4: enable remote and lock out local (VI_GPIB_REN_ASSERT_LLO). */
        ENABLE_AND_LOCK_OUT_LOCAL(4),
        /** 5: enable remote, go to remote and lock out local (VI_GPIB_REN_ASSERT_ADDRESS_LLO). */
        ENABLE_GO_TO_REMOTE_AND_LOCK_OUT_LOCAL(5),
        /** 6: go to local without changing remote enable (VI_GPIB_REN_ADDRESS_GTL). */
        GO_TO_LOCAL(6);

        private final int code;

        RemoteLocal(int code) {
            this.code = code;
        }

        /** @return the control code sent */
        public int code() {
            return code;
        }
    }

    /**
     * What {@code AsyncLockInfo} reports.
     *
     * @param exclusive whether some client holds the exclusive lock
     * @param holders how many clients hold a lock, exclusive or shared
     */
    record LockInfo(boolean exclusive, long holders) {
    }

    /** @return the session id the instrument assigned in {@code InitializeResponse} */
    int sessionId();

    /** @return the instrument's HiSLIP protocol version, major in the high byte, e.g. 0x0100 for 1.0 */
    int serverProtocolVersion();

    /** @return the instrument's two-letter vendor id from {@code AsyncInitializeResponse} */
    String serverVendorId();

    /** @return whether the instrument works in overlapped mode (otherwise synchronized mode) */
    boolean overlapped();

    /**
     * @return the largest message, header included, the instrument accepts (from
     *         {@code AsyncMaximumMessageSizeResponse}); writes are fragmented to it
     */
    long serverMaximumMessageSize();

    /**
     * Asks the instrument for a lock ({@code AsyncLock} request) and waits for its answer: the
     * instrument waits up to {@code timeout} for the lock to become free.
     *
     * @param lockString empty for the exclusive lock; otherwise the shared lock's name (printable ASCII,
     *        at most 256 characters), shared with every client that uses the same string
     * @param timeout bounds the whole call: the instrument is asked to wait a quarter less (at most 1 s
     *        less) so that its answer is back in time; below 1 s the answer is still given 1 s, so that a
     *        zero timeout tries once. Huge values saturate.
     * @throws HislipLockException with reason {@link HislipLockException.Reason#HELD_ELSEWHERE} when the
     *         lock was not free within the timeout, saying whether the instrument refused at once or
     *         waited, and naming who holds locks where the instrument tells in the time left;
     *         {@link HislipLockException.Reason#REJECTED} when the instrument refused the request (this
     *         client holds that lock already, or asks for the shared lock while holding the exclusive one)
     * @throws IllegalArgumentException when the lock string is not printable ASCII or too long
     * @throws org.labhal.api.IoTimeoutException when the answer did not come in time; should the
     *         instrument grant the lock later, the next asynchronous call on this link releases it
     * @throws org.labhal.api.StepInterruptedException when interrupted while waiting; the link is closed
     *         then, so the instrument never grants the lock to a link nobody uses
     * @throws LabHalException when the link failed
     */
    void lock(String lockString, Duration timeout) throws LabHalException;

    /**
     * Releases this client's lock ({@code AsyncLock} release); with both locks held, the exclusive one
     * goes first. The release carries the id of the last message sent: the instrument lets other
     * clients in only after that message was carried out.
     *
     * <p>A release path: it runs whatever the caller's interrupt flag says (the flag stays as it was).
     * When it cannot tell whether the lock was released (no answer in time, an interrupt while it
     * waits, a broken link) it closes the link, which makes the instrument drop the lock.
     *
     * @param timeout how long to wait for the answer
     * @return which kind of lock was released
     * @throws HislipLockException with reason {@link HislipLockException.Reason#NOT_HELD} when this
     *         client held none
     * @throws org.labhal.api.ConnectionLostException when the release did not complete; the link is
     *         closed
     * @throws LabHalException when the instrument reported an error
     */
    LockKind unlock(Duration timeout) throws LabHalException;

    /**
     * Asks who holds locks ({@code AsyncLockInfo}).
     *
     * @param timeout how long to wait for the answer
     * @throws LabHalException when the link failed or the answer did not come
     */
    LockInfo lockInfo(Duration timeout) throws LabHalException;

    /**
     * Reads the instrument's status byte without touching the synchronous channel
     * ({@code AsyncStatusQuery}). It tells the instrument which response this client has taken whole
     * (synchronized mode: the RMT-delivered bit; overlapped mode: the id of the last response
     * delivered), so that MAV (bit 4) means a response the caller has not read yet; the other bits
     * are the instrument's (EAV 2, ESB 5, RQS/MSS 6, ...).
     *
     * @param timeout bounds the whole call
     * @return the IEEE 488.2 status byte, 0 to 255
     * @throws LabHalException when the link failed or the answer did not come
     */
    int statusQuery(Duration timeout) throws LabHalException;

    /**
     * Sends {@code AsyncRemoteLocalControl} and waits for its response.
     *
     * @param request what to do
     * @param timeout how long to wait for the answer
     * @throws LabHalException when the link failed, the answer did not come or the instrument reported
     *         an error
     */
    void remoteLocal(RemoteLocal request, Duration timeout) throws LabHalException;

    /**
     * {@link InstrumentControl}'s status byte: {@link #statusQuery(Duration)}.
     *
     * @since 1.2
     */
    @Override
    default int readStatusByte(Duration timeout) throws LabHalException {
        return statusQuery(timeout);
    }

    /**
     * {@link InstrumentControl}'s remote / local control, as {@code AsyncRemoteLocalControl} with the control
     * code of the same VISA mode: {@code REMOTE} 3, {@code LOCAL} 6, {@code LOCAL_LOCKOUT} 5,
     * {@code RELEASE} 0.
     *
     * @since 1.2
     */
    @Override
    default void remoteLocal(org.labhal.api.RemoteLocal mode, Duration timeout) throws LabHalException {
        remoteLocal(switch (mode) {
            case REMOTE -> RemoteLocal.ENABLE_AND_GO_TO_REMOTE;
            case LOCAL -> RemoteLocal.GO_TO_LOCAL;
            case LOCAL_LOCKOUT -> RemoteLocal.ENABLE_GO_TO_REMOTE_AND_LOCK_OUT_LOCAL;
            case RELEASE -> RemoteLocal.DISABLE_REMOTE;
        }, timeout);
    }

    /**
     * Sends a {@code Trigger} message (the GPIB group execute trigger) on the synchronous channel.
     *
     * @param timeout how long the instrument may take to accept it
     * @throws LabHalException when the link failed or timed out
     */
    void trigger(Duration timeout) throws LabHalException;
}
