package org.labhal.api.transport;

import java.time.Duration;

import org.labhal.api.LabHalException;
import org.labhal.api.RemoteLocal;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * The IEEE 488 control functions a transport carries beside messages: the serial poll, the bus trigger
 * and remote / local control (USB488 control requests, a GPIB controller's {@code ++spoll}, {@code ++trg},
 * {@code ++loc}, {@code ++llo}, VXI-11 {@code device_readstb}, {@code device_trigger}, HiSLIP
 * {@code AsyncStatusQuery}, {@code Trigger}, {@code AsyncRemoteLocalControl}). A {@link Connection} that
 * also implements this interface offers them; sessions call these methods one step at a time under their
 * lock, like the rest of a connection, and the promises of {@link Connection} hold for them too (one
 * deadline per call, interrupts end waits, a link out of step is closed).
 * <p>
 * A transport without such functions simply does not implement this interface.
 *
 * @since 1.5
 */
@ConsumerType
public interface InstrumentControl {

    /**
     * Reads the instrument's IEEE 488 status byte without sending a message (a serial poll), so nothing
     * is queued, interrupted or cleared: MAV (bit 4) tells whether an answer waits, bit 6 whether the
     * instrument requests service.
     *
     * @param timeout bounds this whole call
     * @return the status byte, 0 to 255
     * @throws LabHalException when the instrument does not answer in time or the link failed
     */
    int readStatusByte(Duration timeout) throws LabHalException;

    /**
     * Sends the bus trigger (IEEE 488.1 Group Execute Trigger, or the transport's equivalent), which an
     * instrument waiting for a bus trigger ({@code TRIGger:SOURce BUS}) acts on like {@code *TRG}.
     *
     * @param timeout bounds this whole call
     * @throws LabHalException when the instrument does not take it in time or the link failed
     */
    void trigger(Duration timeout) throws LabHalException;

    /**
     * Puts the instrument in remote or local operation.
     *
     * @param mode what to do; see {@link RemoteLocal}
     * @param timeout bounds this whole call
     * @throws LabHalException when the transport cannot do {@code mode} (naming what it can do instead), the
     *         instrument does not take it in time, or the link failed
     */
    void remoteLocal(RemoteLocal mode, Duration timeout) throws LabHalException;
}
