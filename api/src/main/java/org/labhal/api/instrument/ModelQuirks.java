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
 */
public record ModelQuirks(Duration ioTimeout, boolean errorChecking, Duration opcTimeout, boolean opcPolling) {

    private static final ModelQuirks DEFAULTS = new ModelQuirks(Duration.ofSeconds(5), false, Duration.ofSeconds(60),
            true);

    /**
     * @throws NullPointerException for a null timeout
     * @throws IllegalArgumentException for a timeout that is zero or negative
     */
    public ModelQuirks {
        positive(ioTimeout, "ioTimeout");
        positive(opcTimeout, "opcTimeout");
    }

    /**
     * @return 5 s I/O timeout, no error checking, 60 s OPC timeout with polling
     */
    public static ModelQuirks defaults() {
        return DEFAULTS;
    }

    /**
     * @param timeout the I/O timeout, positive
     * @return a copy with that I/O timeout
     */
    public ModelQuirks withIoTimeout(Duration timeout) {
        return new ModelQuirks(timeout, errorChecking, opcTimeout, opcPolling);
    }

    /**
     * @param enabled whether to read the error queue after each write and query
     * @return a copy with error checking switched accordingly
     */
    public ModelQuirks withErrorChecking(boolean enabled) {
        return new ModelQuirks(ioTimeout, enabled, opcTimeout, opcPolling);
    }

    /**
     * @param timeout the OPC timeout, positive
     * @return a copy with that OPC timeout
     */
    public ModelQuirks withOpcTimeout(Duration timeout) {
        return new ModelQuirks(ioTimeout, errorChecking, timeout, opcPolling);
    }

    /**
     * @param polling whether completion may be awaited by polling {@code *ESR?}
     * @return a copy with OPC polling switched accordingly
     */
    public ModelQuirks withOpcPolling(boolean polling) {
        return new ModelQuirks(ioTimeout, errorChecking, opcTimeout, polling);
    }

    private static void positive(Duration value, String what) {
        Objects.requireNonNull(value, what);
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(what + " must be positive, got " + value);
        }
    }
}
