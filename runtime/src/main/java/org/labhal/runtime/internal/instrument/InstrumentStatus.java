package org.labhal.runtime.internal.instrument;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;

import org.labhal.api.ResourceAddress;
import org.labhal.api.instrument.ModelQuirks;
import org.labhal.api.lock.LockPolicy;

/**
 * A snapshot of one configured instrument, for the shell.
 *
 * @param settings its configuration
 * @param state where it is in its life
 * @param detail what is going on, or why it is not online
 * @param since when it entered that state
 * @param identity the {@code *IDN?} answer, empty before the first connect
 * @param model the model name in force ({@code unknown} when none matched), empty before connecting
 * @param modelBundle the bundle of the model in force, or empty
 * @param modelSource why that model: a match score, or the configuration's {@code model}
 * @param policy the lock policy of the open session, empty while not connected
 * @param policySource where the policy came from
 * @param instrumentLock whether each step of the open session also holds the instrument-side lock,
 *        empty while not connected
 * @param instrumentLockSource why it does or does not
 * @param address the address of the open session (the configured one plus the model's options)
 * @param sessionName the open session's name, or empty
 * @param lockName the name of the lock its steps take, or empty
 * @param ioTimeout the session's I/O timeout
 * @param lockTimeout the session's lock timeout
 * @param errorChecking whether the session checks the error queue
 * @param quirks the quirks in force
 * @param driverBound whether a driver is bound now
 * @param driverBindings how many drivers were bound since the instrument was configured
 * @param driverSince when the driver was bound or unbound last
 * @param driverTypes the driver types the service is registered under
 */
public record InstrumentStatus(InstrumentSettings settings, InstrumentConnection.State state, String detail,
        Instant since, Optional<String> identity, Optional<String> model, Optional<String> modelBundle,
        String modelSource, Optional<LockPolicy> policy, String policySource, Optional<Boolean> instrumentLock,
        String instrumentLockSource, Optional<ResourceAddress> address,
        Optional<String> sessionName, Optional<String> lockName, Optional<Duration> ioTimeout,
        Optional<Duration> lockTimeout, Optional<Boolean> errorChecking, Optional<ModelQuirks> quirks,
        boolean driverBound, long driverBindings, Instant driverSince, Set<Class<?>> driverTypes) {

    /** @return the instrument id */
    public String id() {
        return settings.id();
    }
}
