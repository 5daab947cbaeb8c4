package org.labhal.runtime.internal.instrument;

import java.time.Duration;
import java.time.Instant;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.Session;
import org.labhal.api.SessionFactory;
import org.labhal.api.SessionOptions;
import org.labhal.api.trace.StepObserver;
import org.labhal.api.TransportKind;
import org.labhal.api.TransportUnavailableException;
import org.labhal.api.instrument.Identity;
import org.labhal.api.instrument.Instrument;
import org.labhal.api.instrument.ModelQuirks;
import org.labhal.api.instrument.ScpiInstrument;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.LockPolicy;
import org.labhal.api.transport.TransportFactory;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.FrameworkListener;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.log.Logger;

/**
 * The life of one configured instrument: connect, identify by {@code *IDN?}, pick the model, open
 * the session with the model's lock policy, register the {@link Instrument} service, and keep the
 * driver bound as models come and go. The session and its lock belong to this object, not to the
 * driver bundle: a driver update swaps the driver in the {@link DriverSlot} and leaves the session,
 * the lock and the service registration alone. A failed connect is retried with back-off; a lost
 * connection is reopened.
 * <p>
 * Threading: all connection work runs as the instrument's {@link SerialWork}, one task at a time on
 * the runtime's shared {@link InstrumentWorkers} ("the instrument thread" below); model departures are
 * handled on the thread that unregisters the model (they only touch the slot); {@link #status()} and
 * {@link #instrument()} may be called from anywhere.
 */
public final class InstrumentConnection implements ModelCatalog.Listener {

    /** Where an instrument is in its life. */
    public enum State {
        /** Opening the session and identifying the instrument. */
        CONNECTING,
        /** The configured model, or a transport for the resource, is not installed; connects when it appears. */
        WAITING,
        /** Connected and registered as a service (with or without a driver bound). */
        ONLINE,
        /** Connecting failed or the connection was lost; retrying. */
        OFFLINE,
        /** Configuration deleted or runtime stopped. */
        CLOSED
    }

    /** Service property: the {@code *IDN?} answer. */
    public static final String IDENTITY = "labhal.instrument.identity";
    private static final Duration WATCHDOG = Duration.ofSeconds(2);
    private static final Duration FRAMEWORK_START = Duration.ofSeconds(60);
    /** What {@link Instrument#identity()} reports when the {@code *IDN?} answer could not be parsed. */
    private static final Identity UNIDENTIFIED = new Identity("unknown", "unknown", "0", "0");
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    private static final Duration MAX_DRAIN = Duration.ofSeconds(30);
    private static final Duration TRANSPORT_STARTING = Duration.ofMillis(20);
    /** Added to each connecting step's budget: its own work beyond the waits it is made of. */
    private static final Duration STEP_GRACE = Duration.ofSeconds(1);
    /** How many steps a model's prepare() is given time for. */
    private static final int PREPARE_STEPS = 4;

    private final InstrumentSettings settings;
    private final SessionFactory sessions;
    private final ModelCatalog catalog;
    private final BundleContext context;
    private final Logger logger;
    private final StepObserver observer;
    private final SerialWork executor;
    private final InstrumentWorkers workers;
    private final DriverSlot slot;
    private final ServedConnections served;
    private final ConnectGuard guard;

    // Guarded by this. Written on the instrument thread (and by close() once that thread has stopped).
    private State state = State.CONNECTING;
    private String detail = "starting";
    private Instant since = Instant.now();
    private Session session;
    private String idnAnswer;
    private Identity identity;
    private ModelCatalog.Entry model;
    private String modelSource = "";
    private String policySource = "";
    private String instrumentLockSource = "";
    private ModelQuirks quirks;
    private String prepared; // the model name prepare() ran for on this session
    private InstrumentView view;
    private ServiceRegistration<?> registration;
    private Set<Class<?>> registeredTypes = Set.of();
    private int failures;
    private String lastFailure = "";
    private SerialWork.Cancellable retry;
    private volatile ScheduledFuture<?> watchdog; // checks on the timer thread; reconnecting is the instrument thread's
    private int pendingTasks; // work handed to the instrument thread and not done yet
    private boolean waitingForTransport;
    private int transportRetries;
    private volatile boolean closed;

    /**
     * @param settings the checked configuration
     * @param sessions opens the session
     * @param catalog the installed models
     * @param context registers the instrument service
     * @param logger where lifecycle events and trouble go
     * @param served what the runtime knows of the connections each resource serves
     * @param guard bounds each step of connecting as a whole
     * @param workers the threads the connection work runs on
     * @param observer told of every step of the instrument's sessions (its trace and statistics); null for none
     */
    public InstrumentConnection(InstrumentSettings settings, SessionFactory sessions, ModelCatalog catalog,
            BundleContext context, Logger logger, ServedConnections served, ConnectGuard guard,
            InstrumentWorkers workers, StepObserver observer) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.sessions = Objects.requireNonNull(sessions, "sessions");
        this.catalog = Objects.requireNonNull(catalog, "catalog");
        this.context = Objects.requireNonNull(context, "context");
        this.logger = Objects.requireNonNull(logger, "logger");
        this.served = Objects.requireNonNull(served, "served");
        this.guard = Objects.requireNonNull(guard, "guard");
        this.workers = Objects.requireNonNull(workers, "workers");
        this.observer = observer;
        this.executor = workers.serial(settings.id(), (id, failure) -> logger.error("{}: connection work failed: {}",
                id, failure.toString(), failure));
        this.slot = new DriverSlot(settings.id());
    }

    /**
     * Starts connecting in the background, once the framework has finished starting (so that every
     * installed transport and model is there), and follows model changes from now on.
     */
    public void start() {
        catalog.subscribe(this);
        Bundle system = context.getBundle(Constants.SYSTEM_BUNDLE_LOCATION);
        if (system == null || system.getState() == Bundle.ACTIVE) {
            schedule(this::connect);
            return;
        }
        synchronized (this) {
            enter(State.CONNECTING, "waiting for the framework to finish starting");
        }
        // No thread waits for the framework: its STARTED event (or, failing that, a timer) schedules the connect.
        AtomicBoolean once = new AtomicBoolean();
        FrameworkListener[] listener = new FrameworkListener[1];
        Runnable go = () -> {
            if (once.compareAndSet(false, true)) {
                try {
                    context.removeFrameworkListener(listener[0]);
                } catch (IllegalStateException e) {
                    // our bundle is stopping
                }
                schedule(this::connect);
            }
        };
        listener[0] = event -> {
            if (event.getType() == FrameworkEvent.STARTED) {
                go.run();
            }
        };
        context.addFrameworkListener(listener[0]);
        if (system.getState() == Bundle.ACTIVE) {
            go.run(); // started before the listener was added
            return;
        }
        try {
            executor.schedule(() -> {
                if (!once.get()) {
                    logger.warn("{}: the framework has not finished starting after {} s; connecting anyway",
                            settings.id(), FRAMEWORK_START.toSeconds());
                }
                go.run();
            }, FRAMEWORK_START);
        } catch (RejectedExecutionException e) {
            // closed meanwhile
        }
    }

    /** A transport appeared: an instrument that could not connect tries again at once. */
    public void transportAdded() {
        synchronized (this) {
            if (state != State.OFFLINE && !(state == State.WAITING && waitingForTransport)) {
                return;
            }
            enter(State.CONNECTING, "a transport appeared; connecting again");
        }
        schedule(this::connect);
    }

    /** @return the configured settings */
    public InstrumentSettings settings() {
        return settings;
    }

    /** @return the registered instrument while online */
    public synchronized Optional<Instrument> instrument() {
        return Optional.ofNullable(view);
    }

    /**
     * Waits until the instrument is no longer {@link State#CONNECTING} and has no model change left to
     * handle.
     *
     * @param timeout the longest wait
     * @return the state then
     * @throws InterruptedException when interrupted
     */
    public synchronized State awaitSettled(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!settled()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return state;
    }

    /** @return whether it is past connecting, with no model change left to handle */
    public synchronized boolean settled() {
        return state != State.CONNECTING && pendingTasks == 0;
    }

    /** @return a snapshot for the shell */
    public synchronized InstrumentStatus status() {
        DriverSlot.State driver = slot.state();
        Optional<Session> open = Optional.ofNullable(session);
        return new InstrumentStatus(settings, state, detail, since, Optional.ofNullable(idnAnswer),
                Optional.ofNullable(session == null ? null : modelName()),
                Optional.ofNullable(model).map(ModelCatalog.Entry::bundle), modelSource,
                open.map(Session::lockPolicy), policySource, open.map(Session::instrumentLock), instrumentLockSource,
                open.map(Session::address), open.map(Session::name),
                open.map(s -> s.lock().name()), open.map(Session::ioTimeout), open.map(Session::lockTimeout),
                open.map(Session::errorChecking), Optional.ofNullable(quirks), driver.model().isPresent(),
                driver.bindings(), driver.since(), registeredTypes);
    }

    /**
     * Disconnects for good: unregisters the service, fails calls waiting for a driver and closes the
     * session. Steps running on the session fail with the session's specific exception.
     */
    public void close() {
        closed = true;
        catalog.unsubscribe(this);
        cancelWatchdog();
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
                logger.warn("{}: its connection thread did not stop within 10 s", settings.id());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        cancelWatchdog(); // again: the instrument thread may have started one as close() began
        slot.close("instrument " + settings.id() + " was disconnected");
        withdraw();
        Session last;
        synchronized (this) {
            last = session;
            session = null;
            view = null;
            enter(State.CLOSED, "disconnected");
        }
        if (last != null) {
            last.close();
        }
        logger.info("{}: disconnected from {}", settings.id(), settings.address().canonical());
    }

    @Override
    public void modelAdded(ModelCatalog.Entry entry) {
        schedule(this::reconsider);
    }

    @Override
    public void modelRemoved(ModelCatalog.Entry entry) {
        try {
            int running = slot.unbind(entry, drainTime());
            if (running > 0) {
                logger.warn("{}: {} call(s) still running on the driver of model '{}' as its bundle goes away",
                        settings.id(), running, entry.name());
            } else if (running == 0) {
                logger.info("{}: driver of model '{}' unbound; calls wait up to {} ms for the next one",
                        settings.id(), entry.name(), settings.driverWait().toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        schedule(this::reconsider);
    }

    // ---- on the instrument thread ------------------------------------------------------------------

    private void connect() {
        synchronized (this) {
            if (closed || state == State.ONLINE) {
                return; // a retry and a transport's arrival may both ask
            }
        }
        cancel(retry);
        Optional<ModelCatalog.Entry> forced = Optional.empty();
        if (settings.model().isPresent()) {
            forced = catalog.named(settings.model().get());
            if (forced.isEmpty()) {
                synchronized (this) {
                    enter(State.WAITING, "waiting for model '" + settings.model().get() + "' to be installed");
                }
                logger.info("{}: waiting for model '{}' to be installed before connecting to {}", settings.id(),
                        settings.model().get(), settings.address().canonical());
                return;
            }
        }
        synchronized (this) {
            waitingForTransport = false;
            enter(State.CONNECTING, "connecting to " + settings.address().canonical());
        }
        Session opened = null;
        ServedConnections.FirstContact contact = null;
        try {
            contact = served.firstContact(settings.address(), firstContactWait());
            ModelQuirks probeQuirks = forced.map(ModelCatalog.Entry::quirks).orElse(ModelQuirks.defaults());
            // a configured instrumentLock=true guards the probe too and fails it over a transport without one
            opened = open(policyFor(forced.orElse(null)), probeQuirks, settings.instrumentLock().orElse(false));
            Session probe = opened;
            String answer = bounded(probe, identifyBudget(probe), "the *IDN? probe", () -> identify(probe));
            Identity parsed = parse(answer);
            ModelCatalog.Entry chosen;
            String source;
            if (forced.isPresent()) {
                chosen = forced.get();
                source = "configured (model=" + settings.model().get() + ")";
            } else {
                Optional<ModelCatalog.Match> match = parsed == null ? Optional.empty() : catalog.bestMatch(parsed);
                chosen = match.map(ModelCatalog.Match::entry).orElse(null);
                source = match.map(m -> "matched *IDN? with score " + m.score()).orElse("no installed model matches");
            }
            ModelQuirks chosenQuirks = chosen == null ? ModelQuirks.defaults() : chosen.quirks();
            boolean instrumentLock = instrumentLockFor(chosen, opened);
            if (mayServeOneConnection(chosen, opened)) {
                opened = checkSecondConnection(opened, chosenQuirks, instrumentLock);
            }
            contact.close(); // identified, and what the device serves is known: the next may ask
            LockPolicy policy = policyFor(chosen);
            if (policy != opened.lockPolicy() || instrumentLock != opened.instrumentLock()) {
                opened.close();
                opened = open(policy, chosenQuirks, instrumentLock);
            }
            applyTimeouts(opened, chosenQuirks);
            ScpiInstrument scpi = parsed == null ? new ScpiInstrument(opened, chosenQuirks)
                    : new ScpiInstrument(opened, chosenQuirks, parsed);
            if (chosen != null) {
                bounded(opened, prepareBudget(opened), "preparing the instrument for model '" + chosen.name() + "'",
                        () -> {
                            chosen.model().prepare(scpi);
                            return null;
                        });
            }
            online(opened, answer, parsed, chosen, source, scpi);
        } catch (TransportUnavailableException e) {
            if (opened != null) {
                opened.close();
            }
            boolean starting;
            synchronized (this) { // against transportAdded(): either it sees WAITING or we see the transport
                // at most a second of this: a transport the session factory never takes must not spin
                starting = transportRegistered(e.kind()) && transportRetries++ < 50;
                if (starting) {
                    enter(State.CONNECTING, "a transport for " + e.kind() + " resources is starting");
                } else {
                    transportRetries = 0;
                    waitingForTransport = true;
                    enter(State.WAITING, "waiting for a transport for " + e.kind() + " resources to be installed");
                }
            }
            if (starting) {
                schedule(this::connect, TRANSPORT_STARTING); // registered, not yet known to the session factory
            } else {
                logger.info("{}: waiting for a transport for {} resources to be installed", settings.id(), e.kind());
            }
        } catch (LabHalException | RuntimeException e) {
            if (opened != null) {
                opened.close();
            }
            offline(e);
        } catch (InterruptedException e) {
            if (opened != null) {
                opened.close();
            }
            Thread.currentThread().interrupt(); // closing: the executor is being shut down
        } finally {
            if (contact != null) {
                contact.close();
            }
        }
    }

    /** A step of connecting, run under a {@link ConnectGuard} budget. */
    private interface Step<T> {
        T run() throws LabHalException;
    }

    /**
     * Runs a step of connecting bounded as a whole: when it has not finished within the budget its
     * session is closed, which ends any wait in it, and the step fails saying so.
     */
    private <T> T bounded(Session session, Duration budget, String what, Step<T> step) throws LabHalException {
        try (ConnectGuard.Armed armed = guard.arm(budget, session::close)) {
            T result;
            try {
                result = step.run();
            } catch (LabHalException | RuntimeException e) {
                if (armed.fired()) {
                    throw overran(what, budget, e);
                }
                throw e;
            }
            if (armed.fired()) {
                throw overran(what, budget, null);
            }
            return result;
        }
    }

    private static IoTimeoutException overran(String what, Duration budget, Exception cause) {
        IoTimeoutException timeout = new IoTimeoutException(what + " did not finish within " + budget.toMillis()
                + " ms; its session was closed" + (cause == null ? "" : " (" + cause.getMessage() + ")"), budget);
        if (cause != null) {
            timeout.initCause(cause);
        }
        return timeout;
    }

    /** The *IDN? probe: the instrument-side lock where it may be taken, one answer, and a grace. */
    private Duration identifyBudget(Session probe) {
        Duration lock = probe.instrumentLockSupported() ? settings.lockTimeout() : Duration.ZERO;
        return lock.plus(probe.ioTimeout()).plus(STEP_GRACE);
    }

    /** A model's prepare() may take a few steps: the lock wait and a few answers each. */
    private Duration prepareBudget(Session session) {
        return settings.lockTimeout().plus(session.ioTimeout()).multipliedBy(PREPARE_STEPS).plus(STEP_GRACE);
    }

    /** Another instrument of this runtime identifying the same resource takes at most about this long. */
    private Duration firstContactWait() {
        Duration io = settings.ioTimeout().orElse(ModelQuirks.defaults().ioTimeout());
        return settings.lockTimeout().plus(io.multipliedBy(4)).plus(STEP_GRACE);
    }

    /**
     * Whether the session's instrument might serve one connection at a time without the runtime knowing:
     * an unknown model whose lock policy is not configured, over a transport that can open more than one
     * connection, on a resource not checked yet.
     */
    private boolean mayServeOneConnection(ModelCatalog.Entry chosen, Session first) {
        return chosen == null && settings.lockPolicy().isEmpty() && !settings.address().kind().isSingleLink()
                && settings.address().kind() != TransportKind.SIM && first.lockPolicy() != LockPolicy.SINGLE_CONNECTION
                && served.oneOnly(settings.address()).isEmpty();
    }

    /**
     * Checks whether the instrument serves a second connection while the first is open. Real
     * instruments differ: some serve several; some serve one client at a time and leave the next
     * connected but unanswered in their backlog; on some the newest connection takes over. The check
     * opens the second connection as the resource's one shared connection
     * ({@link LockPolicy#SINGLE_CONNECTION}) and asks {@code *IDN?} on it:
     * <ul>
     * <li>answered, and the first still answers: several connections are served; the second is closed
     * and the first kept;</li>
     * <li>answered, but the first fails now: the newest took over; the first is closed;</li>
     * <li>not answered in time: the first is closed, and the device, free now, answers the question
     * waiting on the second, so no question is left for it to answer into a closed socket.</li>
     * </ul>
     * In the last two cases the runtime learns that the resource serves one connection, and the second
     * connection becomes the instrument's session.
     *
     * @return the session to keep: {@code first}, or the new single connection
     */
    private Session checkSecondConnection(Session first, ModelQuirks quirks, boolean instrumentLock)
            throws LabHalException {
        Duration wait = first.ioTimeout();
        Session second;
        try {
            second = open(LockPolicy.SINGLE_CONNECTION, quirks, instrumentLock);
        } catch (TransportUnavailableException e) {
            throw e;
        } catch (LabHalException e) {
            learnOneOnly("a second connection was refused while the first was open (" + e.getMessage() + ")");
            first.close();
            return open(LockPolicy.SINGLE_CONNECTION, quirks, instrumentLock);
        }
        try {
            String fromSecond = bounded(second, wait.plus(STEP_GRACE), "the second connection's *IDN?", () -> {
                second.write("*IDN?");
                return answerOrNull(second);
            });
            if (fromSecond != null) {
                String firstFailure = stillAnswers(first);
                if (firstFailure == null) {
                    second.close();
                    return first;
                }
                learnOneOnly("a second connection took over: the first then " + firstFailure);
                first.close();
                return second;
            }
            first.close(); // one client at a time: the device serves the waiting second connection only now
            fromSecond = bounded(second, wait.plus(STEP_GRACE), "the second connection's *IDN?",
                    () -> answerOrNull(second));
            if (fromSecond == null) {
                learnOneOnly("a second connection was answered neither while the first was open nor within "
                        + wait.toMillis() + " ms after it closed");
                throw new IoTimeoutException(settings.address().canonical() + " answered a second connection's *IDN? "
                        + "neither while the first was open nor after it closed", wait);
            }
            learnOneOnly("a second connection was answered only once the first closed (it waited in the "
                    + "instrument's backlog for " + wait.toMillis() + " ms)");
            return second;
        } catch (LabHalException | RuntimeException e) {
            second.close();
            throw e;
        }
    }

    /** @return the answer to the question asked, or {@code null} when none came within the I/O timeout */
    private static String answerOrNull(Session session) throws LabHalException {
        try {
            return session.read().strip();
        } catch (IoTimeoutException e) {
            return null;
        }
    }

    /** @return {@code null} when the session still answers {@code *IDN?}; else what happened */
    private String stillAnswers(Session first) {
        try {
            bounded(first, first.ioTimeout().plus(STEP_GRACE), "the first connection's *IDN?",
                    () -> first.query("*IDN?"));
            return null;
        } catch (LabHalException e) {
            return "failed: " + e.getMessage();
        }
    }

    private void learnOneOnly(String why) {
        served.learnOneOnly(settings.address(), why);
        logger.warn("{}: {} serves one connection at a time: {}; its sessions share one connection (lock policy {})",
                settings.id(), settings.address().canonical(), why, LockPolicy.SINGLE_CONNECTION);
    }

    /**
     * Asks {@code *IDN?}, under the instrument-side lock where the transport has one and the configuration
     * does not forbid it: before the model is known, the instrument may share its buffers with other
     * clients that do lock it.
     */
    private String identify(Session probe) throws LabHalException {
        if (probe.instrumentLock() || !probe.instrumentLockSupported() || !settings.instrumentLock().orElse(true)) {
            return probe.query("*IDN?").strip();
        }
        try (Lease lease = probe.lockInstrument(settings.lockTimeout())) {
            return probe.query("*IDN?").strip();
        }
    }

    private Session open(LockPolicy policy, ModelQuirks modelQuirks, boolean instrumentLock) throws LabHalException {
        SessionOptions options = settings.applyTo(SessionOptions.defaults()).withLockPolicy(policy)
                .withIoTimeout(settings.ioTimeout().orElse(modelQuirks.ioTimeout()))
                .withLockTimeout(settings.lockTimeout())
                .withErrorChecking(settings.errorChecking().orElse(false))
                .withInstrumentLock(instrumentLock).withStepObserver(observer);
        return sessions.open(settings.address(), options);
    }

    private void applyTimeouts(Session target, ModelQuirks modelQuirks) {
        target.setIoTimeout(settings.ioTimeout().orElse(modelQuirks.ioTimeout()));
        target.setErrorChecking(settings.errorChecking().orElse(modelQuirks.errorChecking()));
    }

    private LockPolicy policyFor(ModelCatalog.Entry entry) {
        if (settings.address().kind().isSingleLink()) {
            return LockPolicy.SINGLE_CONNECTION; // what the session factory opens on one wire anyway
        }
        if (settings.lockPolicy().isPresent()) {
            return settings.lockPolicy().get();
        }
        if (served.oneOnly(settings.address()).isPresent()) {
            return LockPolicy.SINGLE_CONNECTION; // what the device does beats what its model says
        }
        return entry == null ? LockPolicy.SHARED_BUFFER : entry.policy();
    }

    /** Configured, else the model's quirk where the session's transport has an instrument-side lock. */
    private boolean instrumentLockFor(ModelCatalog.Entry entry, Session over) {
        return settings.instrumentLock()
                .orElse(entry != null && entry.quirks().instrumentLock() && over.instrumentLockSupported());
    }

    private String instrumentLockSourceFor(ModelCatalog.Entry entry, Session over) {
        if (settings.instrumentLock().isPresent()) {
            return "configured (instrumentLock=" + settings.instrumentLock().get() + ")";
        }
        if (entry == null) {
            return "unknown model";
        }
        if (!entry.quirks().instrumentLock()) {
            return "model '" + entry.name() + "' does not ask for it";
        }
        return over.instrumentLockSupported() ? "model '" + entry.name() + "'"
                : "model '" + entry.name() + "' asks for it, but the " + over.address().kind()
                        + " transport has no instrument-side lock";
    }

    private String policySourceFor(ModelCatalog.Entry entry) {
        if (settings.address().kind().isSingleLink()) {
            return "a " + settings.address().kind() + " line carries one connection";
        }
        if (settings.lockPolicy().isPresent()) {
            return "configured (lockPolicy=" + settings.lockPolicy().get() + ")";
        }
        Optional<String> oneOnly = served.oneOnly(settings.address());
        if (oneOnly.isPresent()) {
            return "the instrument serves one connection at a time: " + oneOnly.get();
        }
        return entry == null ? "safe default for unknown models" : "model '" + entry.name() + "'";
    }

    private Identity parse(String answer) {
        try {
            return Identity.parse(answer);
        } catch (IllegalArgumentException e) {
            logger.warn("{}: {}; no model can match it", settings.id(), e.getMessage());
            return null;
        }
    }

    private void online(Session opened, String answer, Identity parsed, ModelCatalog.Entry chosen, String source,
            ScpiInstrument scpi) {
        synchronized (this) {
            if (closed) {
                opened.close();
                return;
            }
            session = opened;
            idnAnswer = answer;
            identity = parsed != null ? parsed : UNIDENTIFIED;
            model = chosen;
            prepared = chosen == null ? null : chosen.name();
            modelSource = source;
            policySource = policySourceFor(chosen);
            instrumentLockSource = instrumentLockSourceFor(chosen, opened);
            quirks = scpi.quirks();
            view = new InstrumentView(settings.id(), opened, identity, scpi, modelName(), slot,
                    settings.driverWait());
            failures = 0;
            lastFailure = "";
            enter(State.ONLINE, chosen == null ? "unknown model: lock policy " + opened.lockPolicy()
                    + " (" + policySource + ")" : "");
        }
        if (chosen == null) {
            logger.warn("{}: no installed model matches *IDN? \"{}\"; using {} lock policy {}", settings.id(), answer,
                    settings.lockPolicy().isPresent() ? "the configured" : "the safe default", opened.lockPolicy());
        } else {
            bindDriver(chosen, scpi);
        }
        publish(chosen == null ? Set.of() : chosen.driverTypes());
        try {
            watchdog = workers.everyOnTimer(() -> {
                if (connectionLost()) {
                    schedule(this::checkAlive);
                }
            }, WATCHDOG);
        } catch (RejectedExecutionException e) {
            return; // closed meanwhile
        }
        logger.info("{}: online at {} as \"{}\", model {}, lock policy {} ({})", settings.id(),
                opened.address().canonical(), answer, chosen == null ? "unknown" : "'" + chosen.name() + "'",
                opened.lockPolicy(), policySource);
    }

    private void bindDriver(ModelCatalog.Entry entry, ScpiInstrument scpi) {
        Object driver;
        try {
            driver = entry.model().createDriver(scpi);
        } catch (RuntimeException e) {
            logger.error("{}: model '{}' failed to create a driver: {}", settings.id(), entry.name(), e.toString(), e);
            return;
        }
        for (Class<?> type : entry.driverTypes()) {
            if (!type.isInstance(driver)) {
                logger.error("{}: the driver of model '{}' ({}) does not implement its declared type {}; not bound",
                        settings.id(), entry.name(), driver == null ? "null" : driver.getClass().getName(),
                        type.getName());
                return;
            }
        }
        slot.bind(entry, driver);
    }

    /** A model came or went: bind a better or returning driver, or reconnect when the policy must change. */
    private void reconsider() {
        if (closed) {
            return;
        }
        State now;
        synchronized (this) {
            now = state;
        }
        if (now == State.WAITING) {
            if (!waitingForTransport) {
                connect();
            }
            return;
        }
        if (now != State.ONLINE) {
            return;
        }
        ModelCatalog.Entry bound = slot.model().orElse(null);
        if (bound != null && !catalog.models().contains(bound)) {
            unbind(bound); // raced with its removal
            bound = null;
        }
        Optional<ModelCatalog.Entry> best = settings.model().isPresent() ? catalog.named(settings.model().get())
                : identity == UNIDENTIFIED ? Optional.empty()
                        : catalog.bestMatch(identity).map(ModelCatalog.Match::entry);
        if (best.isEmpty() || best.get() == bound) {
            if (bound == null && model != null) {
                synchronized (this) {
                    detail = "no driver bound: model '" + model.name() + "' is not installed";
                }
            }
            return;
        }
        ModelCatalog.Entry next = best.get();
        Session current = session;
        if (policyFor(next) != current.lockPolicy() || instrumentLockFor(next, current) != current.instrumentLock()) {
            logger.info("{}: model '{}' needs lock policy {} and instrument lock {} (the session has {} and {}); "
                    + "reconnecting", settings.id(), next.name(), policyFor(next), instrumentLockFor(next, current),
                    current.lockPolicy(), current.instrumentLock());
            disconnect("model '" + next.name() + "' needs another session");
            connect();
            return;
        }
        if (bound != null) {
            unbind(bound);
        }
        ScpiInstrument scpi = view.scpi();
        boolean newView = !next.quirks().equals(quirks);
        if (newView) {
            scpi = identity == UNIDENTIFIED ? new ScpiInstrument(current, next.quirks())
                    : new ScpiInstrument(current, next.quirks(), identity);
            applyTimeouts(current, next.quirks());
        }
        if (!next.name().equals(prepared)) {
            try {
                next.model().prepare(scpi);
                prepared = next.name();
            } catch (LabHalException | RuntimeException e) {
                logger.warn("{}: model '{}' failed to prepare the instrument: {}; reconnecting", settings.id(),
                        next.name(), e.getMessage());
                disconnect("model '" + next.name() + "' failed to prepare the instrument");
                offline(e);
                return;
            }
        }
        bindDriver(next, scpi);
        boolean reregister;
        ServiceRegistration<?> registered;
        Dictionary<String, Object> properties;
        synchronized (this) {
            model = next;
            modelSource = settings.model().isPresent() ? "configured (model=" + settings.model().get() + ")"
                    : "matched *IDN? with score " + catalog.score(next, identity);
            policySource = policySourceFor(next);
            instrumentLockSource = instrumentLockSourceFor(next, current);
            quirks = next.quirks();
            detail = "";
            reregister = newView || !next.driverTypes().equals(registeredTypes);
            if (reregister) {
                view = new InstrumentView(settings.id(), current, identity, scpi, modelName(), slot,
                        settings.driverWait());
            } else {
                view.model(modelName());
            }
            registered = registration;
            properties = serviceProperties();
        }
        // service calls outside the monitor: the framework calls listeners from inside them
        if (reregister) {
            withdraw();
            publish(next.driverTypes());
        } else if (registered != null) {
            try {
                registered.setProperties(properties);
            } catch (IllegalStateException e) {
                // unregistered meanwhile by close()
            }
        }
        logger.info("{}: driver of model '{}' from {} bound", settings.id(), next.name(), next.bundle());
    }

    private void unbind(ModelCatalog.Entry entry) {
        try {
            slot.unbind(entry, drainTime());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** On the timer thread: only looks. */
    private boolean connectionLost() {
        Session current;
        synchronized (this) {
            current = session;
        }
        return current != null && !current.isOpen() && !closed;
    }

    private void checkAlive() {
        Session current;
        synchronized (this) {
            current = session;
        }
        if (current != null && !current.isOpen() && !closed && !shuttingDown()) {
            logger.warn("{}: lost its connection to {}; reconnecting", settings.id(), current.address().canonical());
            disconnect("connection lost");
            connect();
        }
    }

    private void disconnect(String reason) {
        cancelWatchdog();
        slot.model().ifPresent(this::unbind);
        withdraw();
        Session old;
        synchronized (this) {
            old = session;
            session = null;
            view = null;
            enter(State.CONNECTING, reason);
        }
        if (old != null) {
            old.close();
        }
    }

    private void offline(Exception failure) {
        String message = failure.getMessage() == null ? failure.toString() : failure.getMessage();
        long delay;
        boolean repeated;
        synchronized (this) {
            failures++;
            delay = Math.min(MAX_BACKOFF.toMillis(), 1000L << Math.min(failures - 1, 5));
            repeated = message.equals(lastFailure);
            lastFailure = message;
            enter(State.OFFLINE, message + " (retrying in " + delay / 1000 + " s)");
        }
        if (repeated || shuttingDown()) {
            logger.debug("{}: still cannot connect: {}", settings.id(), message);
        } else {
            logger.warn("{}: cannot connect to {}: {}; retrying with back-off", settings.id(),
                    settings.address().canonical(), message);
        }
        if (!closed) {
            try {
                retry = executor.schedule(this::connect, Duration.ofMillis(delay));
            } catch (RejectedExecutionException e) {
                // closed meanwhile
            }
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------

    private boolean transportRegistered(TransportKind kind) {
        try {
            return !context.getServiceReferences(TransportFactory.class,
                    "(" + TransportFactory.KINDS_PROPERTY + "=" + kind + ")").isEmpty();
        } catch (InvalidSyntaxException | IllegalStateException e) {
            return false;
        }
    }

    /** Runs connection work on the instrument thread, counted so {@link #settled()} can tell it is pending. */
    private void schedule(Runnable task) {
        schedule(task, Duration.ZERO);
    }

    private void schedule(Runnable task, Duration delay) {
        if (closed) {
            return;
        }
        synchronized (this) {
            pendingTasks++;
        }
        try {
            executor.schedule(() -> {
                try {
                    task.run();
                } finally {
                    synchronized (this) {
                        pendingTasks--;
                        notifyAll();
                    }
                }
            }, delay);
        } catch (RejectedExecutionException e) {
            synchronized (this) {
                pendingTasks--; // closing
                notifyAll();
            }
        }
    }

    /** Transports and models leave first when the framework stops: no reconnecting or warnings then. */
    private boolean shuttingDown() {
        try {
            return context.getBundle(Constants.SYSTEM_BUNDLE_LOCATION).getState() == Bundle.STOPPING
                    || context.getBundle().getState() == Bundle.STOPPING;
        } catch (IllegalStateException e) {
            return true; // our bundle context is gone
        }
    }

    private Duration drainTime() {
        Session current = session;
        Duration io = current == null ? ModelQuirks.defaults().ioTimeout() : current.ioTimeout();
        Duration drain = settings.lockTimeout().plus(io.multipliedBy(2));
        return drain.compareTo(MAX_DRAIN) > 0 ? MAX_DRAIN : drain;
    }

    /**
     * Registers the instrument service. Called on the instrument thread, never under this object's
     * monitor: the framework calls service listeners from inside registerService, and one of them
     * calling back into this object ({@link #status()}, say) from another thread would deadlock. A
     * {@link #close()} that ran meanwhile (its 10 s wait for this thread may have run out) wins: the
     * fresh registration is withdrawn at once.
     */
    private void publish(Set<Class<?>> types) {
        String[] classes = new String[types.size() + 1];
        classes[0] = Instrument.class.getName();
        int i = 1;
        for (Class<?> type : types) {
            classes[i++] = type.getName();
        }
        Object service;
        Dictionary<String, Object> properties;
        synchronized (this) {
            if (closed || view == null) {
                return;
            }
            service = view.serviceObject(types);
            properties = serviceProperties();
        }
        ServiceRegistration<?> fresh;
        try {
            fresh = context.registerService(classes, service, properties);
        } catch (IllegalStateException e) {
            return; // our bundle is stopping
        }
        boolean keep;
        synchronized (this) {
            keep = !closed && registration == null;
            if (keep) {
                registration = fresh;
                registeredTypes = Set.copyOf(types);
            }
        }
        if (!keep) {
            unregister(fresh);
        }
    }

    /** Unregisters the instrument service, if registered; outside the monitor, as {@link #publish}. */
    private void withdraw() {
        ServiceRegistration<?> old;
        synchronized (this) {
            old = registration;
            registration = null;
            registeredTypes = Set.of();
        }
        if (old != null) {
            unregister(old);
        }
    }

    private static void unregister(ServiceRegistration<?> registration) {
        try {
            registration.unregister();
        } catch (IllegalStateException e) {
            // already gone with the bundle
        }
    }

    /** Guarded by this. */
    private Dictionary<String, Object> serviceProperties() {
        Hashtable<String, Object> properties = new Hashtable<>();
        properties.put(Instrument.ID, settings.id());
        properties.put(Instrument.RESOURCE, session.address().canonical());
        properties.put(Instrument.MODEL, modelName());
        properties.put(Instrument.LOCK_POLICY, session.lockPolicy().name());
        properties.put(IDENTITY, idnAnswer);
        properties.put(Constants.SERVICE_DESCRIPTION, "LabHAL instrument " + settings.id());
        return properties;
    }

    /** Guarded by this. */
    private String modelName() {
        return model == null ? "unknown" : model.name();
    }

    /** Guarded by this. */
    private void enter(State next, String why) {
        if (state == State.CLOSED) {
            return; // for good: a late step of the instrument thread after close() gave up waiting for it
        }
        if (state != next) {
            since = Instant.now();
        }
        state = next;
        detail = why;
        notifyAll();
    }

    private void cancelWatchdog() {
        ScheduledFuture<?> checks = watchdog;
        if (checks != null) {
            checks.cancel(false);
        }
    }

    private static void cancel(SerialWork.Cancellable scheduled) {
        if (scheduled != null) {
            scheduled.cancel();
        }
    }
}
