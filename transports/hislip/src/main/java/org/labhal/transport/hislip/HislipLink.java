package org.labhal.transport.hislip;

import java.time.Duration;

import org.labhal.api.LabHalException;
import org.labhal.api.transport.Connection;
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
 * synchronous channel and is called by one step at a time, as every {@link Connection}. The
 * asynchronous services ({@link #lock}, {@link #unlock}, {@link #lockInfo}, {@link #statusQuery},
 * {@link #remoteLocal}) run on the asynchronous channel and may be called from any thread, also while
 * a step is reading; they are serialised among themselves (HiSLIP allows one outstanding asynchronous
 * request), so a lock request that waits delays the others. {@link #close()} may come from any thread
 * and wakes every blocked call with {@link org.labhal.api.ConnectionLostException}.
 *
 * <h2>Instrument-side locks</h2>
 * As {@link InstrumentLocking} (what {@link org.labhal.api.Session#lockInstrument(Duration, String)}
 * uses) the link maps a {@code null} key to the exclusive lock and a key to the shared lock of that
 * lock string, through {@link #lock} and {@link #unlock}.
 */
@ProviderType
public interface HislipLink extends Connection, InstrumentLocking {

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
     * @param timeout how long the instrument may wait for the lock; the call returns at most a few
     *        seconds later (the answer's way back)
     * @throws HislipLockException with reason {@link HislipLockException.Reason#HELD_ELSEWHERE} when the
     *         lock was not free within the timeout, naming who holds locks where the instrument tells;
     *         {@link HislipLockException.Reason#REJECTED} when the instrument refused the request
     * @throws IllegalArgumentException when the lock string is not printable ASCII or too long
     * @throws LabHalException when the link failed or the answer did not come
     */
    void lock(String lockString, Duration timeout) throws LabHalException;

    /**
     * Releases this client's lock ({@code AsyncLock} release).
     *
     * @param timeout how long to wait for the answer
     * @return which kind of lock was released
     * @throws HislipLockException with reason {@link HislipLockException.Reason#NOT_HELD} when this
     *         client held none
     * @throws LabHalException when the link failed or the answer did not come
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
     * ({@code AsyncStatusQuery}).
     *
     * @param timeout how long to wait for the answer
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
     * Sends a {@code Trigger} message (the GPIB group execute trigger) on the synchronous channel.
     *
     * @param timeout how long the instrument may take to accept it
     * @throws LabHalException when the link failed or timed out
     */
    void trigger(Duration timeout) throws LabHalException;
}
