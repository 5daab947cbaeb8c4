package org.labhal.api.instrument;

import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.lock.LockPolicy;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A configured, connected instrument, registered as an OSGi service by the runtime with the
 * properties {@link #ID}, {@link #RESOURCE}, {@link #MODEL} and {@link #LOCK_POLICY}. The runtime also
 * registers it under the model's {@link InstrumentModel#driverTypes() driver types}; those calls go to
 * the currently bound driver and wait (bounded) while a driver bundle is being updated. Thread-safe.
 */
@ProviderType
public interface Instrument {
    /** Service property: the configured instrument id, e.g. {@code sim-smw}. */
    String ID = "labhal.instrument.id";
    /** Service property: the canonical resource string. */
    String RESOURCE = "labhal.instrument.resource";
    /** Service property: the model name, or {@code unknown}. */
    String MODEL = "labhal.instrument.model";
    /** Service property: the {@link LockPolicy} name in force. */
    String LOCK_POLICY = "labhal.instrument.lockPolicy";

    /** @return the configured id */
    String id();

    /** @return the address it is connected to */
    ResourceAddress address();

    /** @return what it answered to {@code *IDN?} */
    Identity identity();

    /** @return the {@link InstrumentModel#name() name} of the model in force, {@code unknown} when none matched */
    String model();

    /** @return the lock policy in force */
    LockPolicy lockPolicy();

    /**
     * @return the one generic SCPI access the runtime made for this instrument, with the model's quirks;
     *         the same object every bound driver wraps
     */
    ScpiInstrument scpi();

    /** @return the runtime's session (its lock is the instrument's) */
    Session session();
}
