package org.labhal.api.transport;

import java.time.Duration;

import org.labhal.api.LabHalException;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * The instrument-side lock of a transport that has one (VXI-11 {@code device_lock}, HiSLIP
 * {@code AsyncLock}), which keeps other clients — other processes, other hosts — off the instrument.
 * A {@link Connection} that also implements this interface offers it; sessions reach it through
 * {@link org.labhal.api.Session#lockInstrument(Duration, String)}, which takes the in-process session
 * lock first, so these methods are called by one step at a time, like the rest of a connection.
 * <p>
 * A transport without an instrument-side lock simply does not implement this interface.
 */
@ConsumerType
public interface InstrumentLocking {

    /**
     * Takes the instrument-side lock for this connection, waiting up to {@code timeout} for another
     * client to release it.
     *
     * @param timeout how long the instrument may wait for the lock; zero tries once
     * @param sharedKey {@code null} for the exclusive lock; otherwise the name of a shared lock held
     *        together with every client that uses the same key. A transport with exclusive locks only
     *        refuses a key with an {@link IllegalArgumentException} before sending anything.
     * @throws LabHalException a transport-specific subclass naming the instrument-side reason when
     *         the lock is held elsewhere beyond {@code timeout}; or when the link failed
     */
    void lockInstrument(Duration timeout, String sharedKey) throws LabHalException;

    /**
     * Releases the instrument-side lock this connection holds.
     *
     * @param timeout how long to wait for the instrument's answer
     * @throws LabHalException when this connection held no lock or the link failed
     */
    void unlockInstrument(Duration timeout) throws LabHalException;
}
