package org.labhal.api.instrument;

import java.time.Duration;
import java.util.Objects;

/**
 * What an instrument model needs beyond plain SCPI. Immutable; start from {@link #defaults()} and
 * change what the model needs:
 *
 * <pre>{@code
 * ModelQuirks.defaults().withIoTimeout(Duration.ofSeconds(10)).withErrorChecking(true)
 * }</pre>
 *
 * The runtime opens the instrument's session with {@link #ioTimeout()} and {@link #errorChecking()}
 * unless the instrument's configuration sets them; the OPC settings go to the {@link ScpiInstrument}.
 * Line settings and termination are not quirks: they are needed before {@code *IDN?} can even be
 * asked, so they belong in the configured resource string (each driver's README says which).
 *
 * @param ioTimeout the I/O timeout the model needs for its slowest ordinary answer; positive
 * @param errorChecking whether to read the error queue after each write and query
 * @param opcTimeout how long an overlapped operation ({@link ScpiInstrument#writeAndWait}) may take,
 *        separate from the I/O timeout; positive
 * @param opcPolling whether completion may be awaited by polling {@code *ESR?} with the lock released
 *        between polls; {@code false} for instruments whose status registers are shared by sessions that
 *        do not share our {@link ScpiInstrument} (another session's {@code *ESR?} would clear the bit we
 *        wait for), which then wait with one {@code *OPC?} that holds the lock until completion
 * @param instrumentLock whether every step should also hold the instrument-side lock where the
 *        transport has one (VXI-11 {@code device_lock}, HiSLIP's exclusive lock): for instruments whose
 *        I/O buffers all sessions share and which other processes or computers may reach, where the
 *        in-process session lock alone cannot keep their answers apart. Each step then costs the
 *        lock's round trips too. The runtime applies it only where the transport has such a lock (a
 *        serial line or a raw socket has none), unless the instrument's configuration decides
 */
public record ModelQuirks(Duration ioTimeout, boolean errorChecking, Duration opcTimeout, boolean opcPolling,
        boolean instrumentLock) {

    private static final ModelQuirks DEFAULTS = new ModelQuirks(Duration.ofSeconds(5), false, Duration.ofSeconds(60),
            true, false);

    /**
     * @throws NullPointerException for a null timeout
     * @throws IllegalArgumentException for a timeout that is zero or negative
     */
    public ModelQuirks {
        positive(ioTimeout, "ioTimeout");
        positive(opcTimeout, "opcTimeout");
    }

    /**
     * The quirks without the instrument-side lock, as before {@link #instrumentLock()} existed.
     *
     * @param ioTimeout see the record
     * @param errorChecking see the record
     * @param opcTimeout see the record
     * @param opcPolling see the record
     * @throws NullPointerException for a null timeout
     * @throws IllegalArgumentException for a timeout that is zero or negative
     */
    public ModelQuirks(Duration ioTimeout, boolean errorChecking, Duration opcTimeout, boolean opcPolling) {
        this(ioTimeout, errorChecking, opcTimeout, opcPolling, false);
    }

    /**
     * @return 5 s I/O timeout, no error checking, 60 s OPC timeout with polling, no instrument-side lock
     */
    public static ModelQuirks defaults() {
        return DEFAULTS;
    }

    /**
     * @param timeout the I/O timeout, positive
     * @return a copy with that I/O timeout
     */
    public ModelQuirks withIoTimeout(Duration timeout) {
        return new ModelQuirks(timeout, errorChecking, opcTimeout, opcPolling, instrumentLock);
    }

    /**
     * @param enabled whether to read the error queue after each write and query
     * @return a copy with error checking switched accordingly
     */
    public ModelQuirks withErrorChecking(boolean enabled) {
        return new ModelQuirks(ioTimeout, enabled, opcTimeout, opcPolling, instrumentLock);
    }

    /**
     * @param timeout the OPC timeout, positive
     * @return a copy with that OPC timeout
     */
    public ModelQuirks withOpcTimeout(Duration timeout) {
        return new ModelQuirks(ioTimeout, errorChecking, timeout, opcPolling, instrumentLock);
    }

    /**
     * @param polling whether completion may be awaited by polling {@code *ESR?}
     * @return a copy with OPC polling switched accordingly
     */
    public ModelQuirks withOpcPolling(boolean polling) {
        return new ModelQuirks(ioTimeout, errorChecking, opcTimeout, polling, instrumentLock);
    }

    /**
     * @param enabled whether every step should also hold the instrument-side lock where the transport
     *        has one
     * @return a copy with the instrument-side lock switched accordingly
     */
    public ModelQuirks withInstrumentLock(boolean enabled) {
        return new ModelQuirks(ioTimeout, errorChecking, opcTimeout, opcPolling, enabled);
    }

    private static void positive(Duration value, String what) {
        Objects.requireNonNull(value, what);
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(what + " must be positive, got " + value);
        }
    }
}
