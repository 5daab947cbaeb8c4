package org.labhal.api.instrument;

import java.util.Set;

import org.labhal.api.LabHalException;
import org.labhal.api.lock.LockPolicy;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * An instrument model, registered as an OSGi service by its driver bundle. Models describe; they do
 * not own connections: sessions, locks and the {@link ScpiInstrument} stay in the runtime.
 *
 * <h2>How the runtime uses a model</h2>
 * <ol>
 * <li>On connect it asks {@code *IDN?} and picks the registered model with the highest
 * {@link #match(Identity)} score above {@link #NO_MATCH}, or the model whose {@link #name()} the
 * configuration names. No match: {@link LockPolicy#SHARED_BUFFER} and {@link ModelQuirks#defaults()}.</li>
 * <li>It applies {@link #lockPolicy()} and {@link #quirks()} (configuration overrides win), makes one
 * {@link ScpiInstrument} for the connection and calls {@link #prepare(ScpiInstrument)} once.</li>
 * <li>It calls {@link #createDriver(ScpiInstrument)} and registers the instrument under
 * {@link #driverTypes()}. When the model service goes away (driver bundle updated or stopped) it
 * drops the driver object and later binds a new one from the new service, on the same connection and
 * lock: driver objects have no close method and keep no state of their own.</li>
 * </ol>
 * Implementations must be thread-safe and must keep no state about instruments.
 */
@ConsumerType
public interface InstrumentModel {

    /**
     * Service property a model should be registered with: its {@link #name()}, so that tools and tests can
     * find one model with a filter such as {@code (labhal.model.name=rs-smw200a)} without calling it.
     */
    String NAME_PROPERTY = "labhal.model.name";

    /** {@link #match} score: this model does not handle the instrument. */
    int NO_MATCH = 0;
    /** {@link #match} score: a model family, e.g. manufacturer plus a model-name prefix. */
    int FAMILY_MATCH = 5;
    /** {@link #match} score: manufacturer and exact model. */
    int MODEL_MATCH = 10;
    /** {@link #match} score: manufacturer, exact model and a firmware range that matters. */
    int FIRMWARE_MATCH = 20;

    /**
     * @return the model's stable key, unique among installed models, lower case without spaces, e.g.
     *         {@code rs-smw200a}: what a configuration's {@code model} override names and what the
     *         instrument service's {@link Instrument#MODEL} property shows
     */
    String name();

    /** @return one line for people, e.g. {@code Rohde & Schwarz SMW200A vector signal generator} */
    String description();

    /**
     * Tells how specifically this model handles an instrument. Pure: no I/O, no side effects.
     *
     * @param identity the connected instrument's {@code *IDN?}
     * @return {@link #NO_MATCH} when this model does not handle the instrument; otherwise how specific
     *         the match is, normally {@link #FAMILY_MATCH}, {@link #MODEL_MATCH} or {@link #FIRMWARE_MATCH}
     */
    int match(Identity identity);

    /** @return how sessions to this model must share locks */
    LockPolicy lockPolicy();

    /** @return the model's quirks; {@link ModelQuirks#defaults()} when it has none */
    default ModelQuirks quirks() {
        return ModelQuirks.defaults();
    }

    /**
     * Puts a freshly connected instrument into the state the driver needs, e.g. {@code SYST:REM} on a
     * serial 34401A. Called once per connection, after identification and before the first
     * {@link #createDriver}; not called again when a driver is re-bound on the same connection. A failure
     * fails the connection as a failed {@code *IDN?} would.
     *
     * @param instrument the instrument, over the runtime's session
     * @throws LabHalException when a step fails
     */
    default void prepare(ScpiInstrument instrument) throws LabHalException {
        // most instruments need nothing
    }

    /**
     * @return the driver interfaces (e.g. {@link SignalGenerator}) that {@link #createDriver} objects
     *         implement; the runtime also registers each instrument under these. Empty for a model that
     *         only sets a lock policy and quirks.
     */
    Set<Class<?>> driverTypes();

    /**
     * Creates the driver object for a connected instrument. Cheap and free of I/O, because it is called
     * again whenever the driver is re-bound, possibly while the instrument is busy.
     *
     * @param instrument the generic SCPI access to the instrument, over the runtime's session
     * @return an object implementing every type in {@link #driverTypes()}, holding nothing but
     *         {@code instrument}
     */
    Object createDriver(ScpiInstrument instrument);
}
