package org.labhal.runtime.internal.instrument;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.labhal.api.instrument.Identity;
import org.labhal.api.instrument.InstrumentModel;
import org.labhal.api.instrument.ModelQuirks;
import org.labhal.api.lock.LockPolicy;
import org.labhal.api.transport.Deadline;
import org.labhal.runtime.internal.NamedThreadFactory;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * The instrument models the driver bundles have registered, as they come and go. Each model's name,
 * policy, quirks and driver types are read once when it arrives; a model whose methods throw is
 * logged and left out, never taking the others down. Listeners hear of arrivals on the thread that
 * registered the model, and of departures all at once on threads of the catalog's own while the
 * unregistering thread waits for them (bounded), after the catalog itself has changed.
 * Thread-safe; readers get snapshots.
 */
@Component(service = ModelCatalog.class)
public final class ModelCatalog {

    /** Hears about models coming and going. */
    public interface Listener {
        /** @param model a model that was just registered */
        void modelAdded(Entry model);

        /**
         * Called while the model's service is being unregistered: a listener may wait (bounded) for
         * calls into the model's driver to finish, since the driver bundle stops only afterwards.
         *
         * @param model a model that is going away
         */
        void modelRemoved(Entry model);
    }

    /**
     * One registered model, its properties read once.
     *
     * @param model the service object
     * @param serviceId its service id
     * @param ranking its service ranking
     * @param bundle the registering bundle, {@code symbolic-name version}
     * @param name the model's name, its stable key
     * @param description the model's one-line description
     * @param policy the model's lock policy
     * @param quirks the model's quirks
     * @param driverTypes the driver interfaces its drivers implement
     */
    public record Entry(InstrumentModel model, long serviceId, int ranking, String bundle, String name,
            String description, LockPolicy policy, ModelQuirks quirks, Set<Class<?>> driverTypes) {
    }

    /**
     * A model that matched an identity.
     *
     * @param entry the model
     * @param score its match score, positive
     */
    public record Match(Entry entry, int score) {
    }

    /** Among equal scores: the higher service ranking, then the older registration. */
    /** Each instrument bounds its own wait for driver calls at 30 s; all of them together get a little more. */
    private static final Duration REMOVAL_WAIT = Duration.ofSeconds(35);

    private static final Comparator<Entry> PREFERENCE = Comparator.comparingInt((Entry e) -> -e.ranking())
            .thenComparingLong(Entry::serviceId);

    private final Logger logger;
    private final CopyOnWriteArrayList<Entry> entries = new CopyOnWriteArrayList<>();
    private final CopyOnWriteArrayList<Listener> listeners = new CopyOnWriteArrayList<>();
    private final ExecutorService removals = Executors.newCachedThreadPool(new NamedThreadFactory("labhal-model-removal"));

    /** @param logger where model arrivals and broken models are logged */
    @Activate
    public ModelCatalog(@Reference(service = LoggerFactory.class) Logger logger) {
        this.logger = logger;
    }

    /**
     * @param model a model that appeared
     * @param reference its service reference
     */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void addModel(InstrumentModel model, ServiceReference<InstrumentModel> reference) {
        Entry entry;
        try {
            entry = new Entry(model, serviceId(reference), ranking(reference), bundleOf(reference),
                    Objects.requireNonNull(model.name(), "name()"), String.valueOf(model.description()),
                    Objects.requireNonNull(model.lockPolicy(),
                            "lockPolicy()"), Objects.requireNonNull(model.quirks(), "quirks()"),
                    Set.copyOf(model.driverTypes()));
        } catch (RuntimeException e) {
            logger.error("Instrument model {} (service {}) is left out: it failed to describe itself: {}",
                    model.getClass().getName(), serviceId(reference), e.toString(), e);
            return;
        }
        for (Class<?> type : entry.driverTypes()) {
            if (!type.isInterface()) {
                logger.error("Instrument model '{}' is left out: its driver type {} is not an interface", entry.name(),
                        type.getName());
                return;
            }
        }
        entries.add(entry);
        logger.info("Instrument model '{}' from {} is available: lock policy {}, driver types {}", entry.name(),
                entry.bundle(), entry.policy(), simpleNames(entry.driverTypes()));
        for (Listener listener : listeners) {
            listener.modelAdded(entry);
        }
    }

    /**
     * @param model a model that is going away
     * @param reference its service reference
     */
    void removeModel(InstrumentModel model, ServiceReference<InstrumentModel> reference) {
        for (Entry entry : entries) {
            if (entry.model() == model && entry.serviceId() == serviceId(reference)) {
                entries.remove(entry);
                logger.info("Instrument model '{}' from {} went away", entry.name(), entry.bundle());
                notifyRemoved(entry);
                return;
            }
        }
    }

    /**
     * Tells every listener at once, each on a thread of its own, and waits for them all at most
     * {@link #REMOVAL_WAIT}: each instrument waits (bounded) for the calls into the departing driver
     * to end, and on the bundle-stop thread those waits must not add up one instrument after another.
     */
    private void notifyRemoved(Entry entry) {
        List<Future<?>> calls = new ArrayList<>();
        for (Listener listener : listeners) {
            try {
                calls.add(removals.submit(() -> listener.modelRemoved(entry)));
            } catch (RejectedExecutionException e) {
                return; // the catalog is going away with the runtime
            }
        }
        Deadline deadline = Deadline.after(REMOVAL_WAIT);
        int pending = 0;
        for (Future<?> call : calls) {
            try {
                call.get(deadline.remainingNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                pending++;
            } catch (ExecutionException e) {
                logger.error("An instrument failed to let go of model '{}': {}", entry.name(), e.getCause().toString(),
                        e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        if (pending > 0) {
            logger.warn("{} instrument(s) still letting go of model '{}' after {} s; its bundle stops anyway", pending,
                    entry.name(), REMOVAL_WAIT.toSeconds());
        }
    }

    /** Stops the threads that tell instruments of departing models. */
    @Deactivate
    public void deactivate() {
        removals.shutdownNow();
    }

    /** @param listener hears of models from now on */
    public void subscribe(Listener listener) {
        listeners.add(listener);
    }

    /** @param listener no longer hears of models */
    public void unsubscribe(Listener listener) {
        listeners.remove(listener);
    }

    /** @return the registered models, by name */
    public List<Entry> models() {
        List<Entry> snapshot = new ArrayList<>(entries);
        snapshot.sort(Comparator.comparing(Entry::name, String.CASE_INSENSITIVE_ORDER));
        return snapshot;
    }

    /**
     * @param name a model name, case-insensitive
     * @return the model of that name (the highest ranked if several)
     */
    public Optional<Entry> named(String name) {
        return entries.stream().filter(e -> e.name().equalsIgnoreCase(name.strip())).min(PREFERENCE);
    }

    /**
     * @param identity an instrument's identity
     * @return the model with the highest score, then the highest service ranking, then the oldest
     *         registration; empty when none scores above 0
     */
    public Optional<Match> bestMatch(Identity identity) {
        Match best = null;
        for (Entry entry : entries) {
            int score = score(entry, identity);
            if (score <= 0) {
                continue;
            }
            if (best == null || score > best.score()
                    || score == best.score() && PREFERENCE.compare(entry, best.entry()) < 0) {
                best = new Match(entry, score);
            }
        }
        return Optional.ofNullable(best);
    }

    /**
     * @param entry a model
     * @param identity an identity
     * @return the model's score for it; 0 (logged) when the model's {@code match} throws
     */
    public int score(Entry entry, Identity identity) {
        try {
            return Math.max(0, entry.model().match(identity));
        } catch (RuntimeException e) {
            logger.warn("Instrument model '{}' failed to match {}: {}", entry.name(), identity, e.toString(), e);
            return 0;
        }
    }

    /**
     * @param types driver types
     * @return their simple names, comma-separated, or {@code -}
     */
    public static String simpleNames(Set<Class<?>> types) {
        return types.isEmpty() ? "-"
                : types.stream().map(Class::getSimpleName).sorted().reduce((a, b) -> a + ", " + b).orElse("-");
    }

    private static long serviceId(ServiceReference<?> reference) {
        return reference.getProperty(Constants.SERVICE_ID) instanceof Long id ? id : -1;
    }

    private static int ranking(ServiceReference<?> reference) {
        return reference.getProperty(Constants.SERVICE_RANKING) instanceof Integer ranking ? ranking : 0;
    }

    private static String bundleOf(ServiceReference<?> reference) {
        Bundle bundle = reference.getBundle();
        return bundle == null ? "?" : bundle.getSymbolicName() + " " + bundle.getVersion() + " [" + bundle.getBundleId()
                + "]";
    }
}
