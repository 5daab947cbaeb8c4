package org.labhal.runtime.internal.shell;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.labhal.api.InstrumentError;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionFactory;
import org.labhal.api.SessionOptions;
import org.labhal.api.TransportKind;
import org.labhal.api.dto.LockInfo;
import org.labhal.api.instrument.Instrument;
import org.labhal.api.instrument.ModelQuirks;
import org.labhal.api.lock.LockPolicy;
import org.labhal.api.lock.LockService;
import org.labhal.api.transport.TransportFactory;
import org.labhal.runtime.internal.NamedThreadFactory;
import org.labhal.runtime.internal.instrument.InstrumentConnection;
import org.labhal.runtime.internal.instrument.InstrumentDirectory;
import org.labhal.runtime.internal.instrument.InstrumentWorkers;
import org.labhal.runtime.internal.instrument.InstrumentSettings;
import org.labhal.runtime.internal.instrument.InstrumentStatus;
import org.labhal.runtime.internal.instrument.ModelCatalog;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

/**
 * The Gogo commands of scope {@code instr}: configured instruments, models, transports and locks,
 * plus the two diagnostics {@code sessiontest} and {@code stress}. Every command returns its output
 * as text; a failing command throws an exception whose message says what went wrong, which Gogo
 * prints as one line and the command-line mode turns into a non-zero exit code.
 */
// Immediate: Gogo gets and releases the service around every command, and a delayed component would be
// disposed in between, dropping the locks held from the shell.
@Component(service = InstrumentCommands.class, immediate = true)
@GogoCommand(scope = "instr", function = { "list", "info", "connect", "disconnect", "query", "write", "errors",
        "models", "transports", "locks", "lock", "unlock", "sessiontest", "stress" })
public final class InstrumentCommands {
    private static final Duration SETTLE = Duration.ofSeconds(15);
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

    private final InstrumentDirectory directory;
    private final ModelCatalog catalog;
    private final SessionFactory sessions;
    private final LockService locks;
    private final ConfigurationAdmin configurations;
    private final InstrumentWorkers instrumentThreads;
    private final BundleContext context;
    private final LockHolders holders;
    private final ExecutorService workers = Executors.newCachedThreadPool(new NamedThreadFactory("labhal-shell-stress"));

    /**
     * @param directory the running instruments
     * @param catalog the installed models
     * @param sessions opens the sessions of sessiontest and stress
     * @param locks reports on every lock
     * @param configurations where instrument configurations are made and deleted
     * @param instrumentThreads the instruments' connection threads, reported by {@code list}
     * @param holders the locks held from the shell and the web dashboard
     * @param context finds the transport services
     */
    @Activate
    public InstrumentCommands(@Reference InstrumentDirectory directory, @Reference ModelCatalog catalog,
            @Reference SessionFactory sessions, @Reference LockService locks,
            @Reference ConfigurationAdmin configurations, @Reference InstrumentWorkers instrumentThreads,
            @Reference LockHolders holders, BundleContext context) {
        this.directory = directory;
        this.catalog = catalog;
        this.sessions = sessions;
        this.locks = locks;
        this.configurations = configurations;
        this.instrumentThreads = instrumentThreads;
        this.holders = holders;
        this.context = context;
    }

    /** Stops running stress threads (the locks held from the shell stay with {@link LockHolders}). */
    @Deactivate
    public void deactivate() {
        workers.shutdownNow();
    }

    // ---- instruments ---------------------------------------------------------------------------------

    /**
     * @return one line per configured instrument, failed configurations included
     * @throws IOException when the configurations cannot be read
     */
    @Descriptor("list the configured instruments: state, model, lock policy, resource and where each is configured")
    public String list() throws IOException {
        Table table = new Table("ID", "STATE", "MODEL", "POLICY", "RESOURCE", "CONFIGURED BY", "DETAIL");
        for (InstrumentConnection connection : directory.all()) {
            InstrumentStatus status = connection.status();
            table.row(status.id(), status.state(), status.model().orElse(null),
                    status.policy().map(Enum::name).orElse(null), status.settings().address().canonical(),
                    status.settings().origin(), status.detail());
        }
        for (Unstarted unstarted : unstarted()) {
            table.row(unstarted.id, unstarted.state, null, null, unstarted.resource, unstarted.origin, unstarted.reason);
        }
        if (table.isEmpty()) {
            return "No instruments configured. Add one with instr:connect <id> <resource>, or drop an "
                    + InstrumentSettings.FACTORY_PID + "-<id>.cfg file into the watched folder.";
        }
        return table + "\n" + instrumentThreads.report();
    }

    /**
     * @param id an instrument id
     * @return everything known about it
     * @throws IOException when the configurations cannot be read
     */
    @Descriptor("show an instrument in detail: identity, model and why, lock policy and why, driver, session, lock")
    public String info(@Descriptor("instrument id") String id) throws IOException {
        Optional<InstrumentConnection> connection = directory.find(id);
        if (connection.isEmpty()) {
            for (Unstarted unstarted : unstarted()) {
                if (unstarted.id.equalsIgnoreCase(id)) {
                    return Table.keyValues(List.of(pair("id", unstarted.id), pair("state", unstarted.state),
                            pair("reason", unstarted.reason), pair("configuration", unstarted.pid),
                            pair("configured by", unstarted.origin)));
                }
            }
            throw unknown(id);
        }
        InstrumentStatus s = connection.get().status();
        List<String[]> pairs = new ArrayList<>();
        pairs.add(pair("id", s.id()));
        pairs.add(pair("state", s.state() + " since " + clock(s.since()) + " (" + ago(s.since()) + ")"
                + (s.detail().isEmpty() ? "" : ": " + s.detail())));
        pairs.add(pair("resource", s.address().orElse(s.settings().address()).canonical()));
        pairs.add(pair("lock domain", s.settings().effectiveLockDomain() + (s.settings().lockDomain().isPresent()
                ? " (configured: lockDomain)" : " (from the resource: " + domainSource(s.settings().address()) + ")")));
        s.settings().address().busKey().ifPresent(bus -> pairs.add(pair("bus lock", bus
                + " (every step takes it too: the bus's instruments share one controller and one talker)")));
        pairs.add(pair("identity", s.identity().orElse("-")));
        pairs.add(pair("model", s.model().map(m -> m + (s.modelBundle().map(b -> " from " + b).orElse(""))
                + " (" + s.modelSource() + ")").orElse("-")));
        pairs.add(pair("lock policy", s.policy().map(p -> p + " (" + s.policySource() + ")").orElse("-")));
        pairs.add(pair("instrument lock", s.instrumentLock().map(on -> (on ? "every step" : "off") + " ("
                + s.instrumentLockSource() + ")").orElse("-")));
        pairs.add(pair("driver", (s.driverBound() ? "bound since " : "none bound since ") + clock(s.driverSince())
                + ", types " + ModelCatalog.simpleNames(s.driverTypes()) + ", driver bindings " + s.driverBindings()));
        pairs.add(pair("quirks", s.quirks().map(InstrumentCommands::quirks).orElse("-")));
        pairs.add(pair("session", s.sessionName().map(name -> name + ", I/O timeout "
                + s.ioTimeout().map(d -> d.toMillis() + " ms").orElse("-") + ", lock timeout "
                + s.lockTimeout().map(d -> d.toMillis() + " ms").orElse("-") + ", error checking "
                + s.errorChecking().map(b -> b ? "on" : "off").orElse("-")).orElse("-")));
        pairs.add(pair("lock", s.lockName().map(this::lockSummary).orElse("-")
                + (holders.holds(s.id()) ? " (held from the shell: instr:unlock " + s.id() + ")" : "")));
        pairs.add(pair("configuration", s.settings().pid()));
        pairs.add(pair("configured by", s.settings().origin()));
        return Table.keyValues(pairs);
    }

    /**
     * @param id a new instrument id
     * @param resource its resource string
     * @return the new instrument's summary once it is online
     * @throws IOException when the configuration cannot be stored
     * @throws InterruptedException when interrupted while waiting for it to connect
     */
    @Descriptor("configure an instrument from the shell (kept across restarts) and wait until it is online")
    public String connect(@Descriptor("new instrument id, e.g. dmm-2") String id,
            @Descriptor("resource string, e.g. SIM::SMW200A::2::INSTR (quote it)") String resource)
            throws IOException, InterruptedException {
        Map<String, Object> properties = InstrumentSettings.shellProperties(id, resource);
        Map<String, Object> check = new HashMap<>(properties);
        check.put("service.pid", InstrumentSettings.FACTORY_PID + "~" + id);
        InstrumentSettings.from(check);
        Optional<InstrumentConnection> existing = directory.find(id);
        if (existing.isPresent()) {
            throw new IllegalStateException("instrument " + id + " exists already (configured by "
                    + existing.get().settings().origin() + "); pick another id or instr:disconnect " + id + " first");
        }
        Configuration configuration = configurations.getFactoryConfiguration(InstrumentSettings.FACTORY_PID, id, "?");
        if (configuration.getProperties() != null) {
            throw new IllegalStateException("a configuration named " + id + " exists already ("
                    + configuration.getPid() + "); instr:info " + id + " shows it");
        }
        configuration.update(new java.util.Hashtable<>(properties));
        Instant deadline = Instant.now().plus(SETTLE);
        InstrumentConnection connection = directory.await(id, true, SETTLE).orElseThrow(() -> new IllegalStateException(
                "configured " + id + ", but it did not start within " + SETTLE.toSeconds() + " s; instr:list shows why"));
        InstrumentConnection.State state = connection.awaitSettled(Duration.between(Instant.now(), deadline));
        InstrumentStatus status = connection.status();
        if (state != InstrumentConnection.State.ONLINE) {
            throw new IllegalStateException("configured " + id + ", but it is " + state + ": " + status.detail()
                    + ". The configuration stays and the runtime keeps trying; instr:disconnect " + id
                    + " removes it");
        }
        return id + ": online as " + status.identity().orElse("?") + ", model " + status.model().orElse("?")
                + ", lock policy " + status.policy().map(Enum::name).orElse("?");
    }

    /**
     * @param id an instrument configured from the shell (or a built-in default)
     * @return a confirmation once it is gone
     * @throws IOException when the configuration cannot be deleted
     * @throws InterruptedException when interrupted while waiting for it to go
     */
    @Descriptor("disconnect an instrument and delete its configuration (not for instruments configured by a file)")
    public String disconnect(@Descriptor("instrument id") String id) throws IOException, InterruptedException {
        String pid;
        String origin;
        Optional<InstrumentConnection> connection = directory.find(id);
        if (connection.isPresent()) {
            pid = connection.get().settings().pid();
            origin = connection.get().settings().origin();
        } else {
            Unstarted unstarted = unstarted().stream().filter(u -> u.id.equalsIgnoreCase(id)).findFirst()
                    .orElseThrow(() -> unknown(id));
            pid = unstarted.pid;
            origin = unstarted.origin;
        }
        if (origin.startsWith("file ")) {
            throw new IllegalStateException(id + " is configured by the " + origin + ": delete that file to remove "
                    + "it (FileInstall disconnects it within a second)");
        }
        Configuration[] found = listConfigurations("(service.pid=" + pid + ")");
        if (found.length == 0) {
            throw new IllegalStateException("the configuration " + pid + " of " + id + " is gone already");
        }
        found[0].delete();
        if (holders.holds(id)) {
            holders.release(id);
        }
        directory.await(id, false, SETTLE);
        return "disconnected " + id + " and deleted its configuration " + pid;
    }

    /**
     * @param id an instrument id
     * @param scpi the query words, joined with spaces
     * @return the answer
     * @throws LabHalException when the query fails
     */
    @Descriptor("send a query as one locked step and return the answer")
    public String query(@Descriptor("instrument id") String id,
            @Descriptor("the query, quoted: '*IDN?' ('*' and '?' are globs to Gogo otherwise)") String... scpi)
            throws LabHalException {
        return instrument(id).session().query(join(scpi, "query"));
    }

    /**
     * @param id an instrument id
     * @param scpi the command words, joined with spaces
     * @return {@code ok}
     * @throws LabHalException when the write fails
     */
    @Descriptor("send a command as one locked step")
    public String write(@Descriptor("instrument id") String id,
            @Descriptor("the command, quoted: 'FREQ 2.5 GHz'") String... scpi) throws LabHalException {
        instrument(id).session().write(join(scpi, "command"));
        return "ok";
    }

    /**
     * @param id an instrument id
     * @return the error queue, oldest first
     * @throws LabHalException when reading it fails
     */
    @Descriptor("read and clear the instrument's error queue (SYST:ERR? until 0)")
    public String errors(@Descriptor("instrument id") String id) throws LabHalException {
        List<InstrumentError> errors = instrument(id).session().errors();
        if (errors.isEmpty()) {
            return "no errors";
        }
        return errors.stream().map(InstrumentError::toString).collect(Collectors.joining("\n"));
    }

    // ---- models, transports, locks -------------------------------------------------------------------

    /** @return one line per installed instrument model */
    @Descriptor("list the installed instrument models, their lock policies, driver types and the instruments using them")
    public String models() {
        List<ModelCatalog.Entry> models = catalog.models();
        if (models.isEmpty()) {
            return "No instrument models installed: every instrument is 'unknown' and gets lock policy SHARED_BUFFER. "
                    + "Drop a driver bundle into the watched folder to add models.";
        }
        Map<String, List<String>> users = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (InstrumentConnection connection : directory.all()) {
            InstrumentStatus status = connection.status();
            status.model().ifPresent(m -> users.computeIfAbsent(m, k -> new ArrayList<>()).add(status.id()));
        }
        Table table = new Table("MODEL", "POLICY", "DRIVER TYPES", "QUIRKS", "BUNDLE", "USED BY");
        for (ModelCatalog.Entry model : models) {
            table.row(model.name(), model.policy(), ModelCatalog.simpleNames(model.driverTypes()),
                    quirks(model.quirks()), model.bundle(),
                    String.join(", ", users.getOrDefault(model.name(), List.of())));
        }
        return table.toString();
    }

    /**
     * @return one line per installed transport
     * @throws InvalidSyntaxException never
     */
    @Descriptor("list the installed transports and the resource kinds each serves")
    public String transports() throws InvalidSyntaxException {
        Collection<ServiceReference<TransportFactory>> references = context.getServiceReferences(TransportFactory.class,
                null);
        if (references.isEmpty()) {
            return "No transports installed: no instrument can be reached.";
        }
        Table table = new Table("KIND", "BUNDLE");
        List<String[]> rows = new ArrayList<>();
        for (ServiceReference<TransportFactory> reference : references) {
            Object kinds = reference.getProperty(TransportFactory.KINDS_PROPERTY);
            String kindText = kinds instanceof String[] array ? String.join(", ", array) : String.valueOf(kinds);
            rows.add(new String[] { kindText, reference.getBundle() == null ? "?"
                    : reference.getBundle().getSymbolicName() + " " + reference.getBundle().getVersion() });
        }
        rows.sort((a, b) -> a[0].compareTo(b[0]));
        rows.forEach(row -> table.row((Object[]) row));
        return table + "\nserved now: " + sessions.transports();
    }

    /** @return one line per live lock */
    @Descriptor("list every live session lock: holder, waiters and counters")
    public String locks() {
        Map<String, List<String>> users = directory.lockUsers();
        Table table = new Table("LOCK DOMAIN", "POLICY", "HOLDER", "HELD FOR", "WAITERS", "ACQUISITIONS", "CONTENDED",
                "LONGEST WAIT", "INSTRUMENTS");
        for (LockInfo info : locks.locks()) {
            table.row(info.name(), info.policy(),
                    info.holder().map(h -> h.thread() + (h.activity().isEmpty() ? "" : " (" + h.activity() + ")"))
                            .orElse(null),
                    info.holder().map(h -> ShellDurations.format(h.heldFor())).orElse(null), info.waiters().size(),
                    info.acquisitions(), info.contended(), ShellDurations.format(info.longestWait()),
                    String.join(", ", users.getOrDefault(info.name(), List.of())));
        }
        if (table.isEmpty()) {
            return "No live locks.";
        }
        return table.toString();
    }

    /**
     * @param id an instrument id
     * @return who holds the lock now
     * @throws LabHalException when the lock is not free within 10 s
     */
    @Descriptor("take the instrument's lock and keep it (60 s lease) until instr:unlock")
    public String lock(@Descriptor("instrument id") String id) throws LabHalException {
        return lock(id, "10s", "60s");
    }

    /**
     * @param id an instrument id
     * @param timeout how long to wait for the lock
     * @return who holds the lock now
     * @throws LabHalException when the lock is not free in time
     */
    @Descriptor("take the instrument's lock, waiting at most timeout, and keep it (60 s lease) until instr:unlock")
    public String lock(@Descriptor("instrument id") String id,
            @Descriptor("longest wait for the lock, e.g. 5s or 500ms") String timeout) throws LabHalException {
        return lock(id, timeout, "60s");
    }

    /**
     * @param id an instrument id
     * @param timeout how long to wait for the lock
     * @param lease how long to keep it at most
     * @return who holds the lock now
     * @throws LabHalException when the lock is not free in time
     */
    @Descriptor("take the instrument's lock, waiting at most timeout, and keep it until instr:unlock or the lease ends")
    public String lock(@Descriptor("instrument id") String id,
            @Descriptor("longest wait for the lock, e.g. 5s or 500ms") String timeout,
            @Descriptor("longest hold, e.g. 30s or 5m") String lease) throws LabHalException {
        Duration wait = ShellDurations.parse(timeout, "timeout");
        Duration hold = ShellDurations.parse(lease, "lease");
        if (hold.isZero()) {
            throw new IllegalArgumentException("lease must be longer than 0");
        }
        Instrument instrument = instrument(id);
        String thread = holders.hold(instrument.id(), instrument.session().lock(), wait, hold);
        return instrument.id() + ": lock " + instrument.session().lock().name() + " held by thread " + thread
                + " for at most " + ShellDurations.format(hold) + "; instr:unlock " + instrument.id() + " releases it";
    }

    /**
     * @param id an instrument id
     * @return how long the shell held the lock
     */
    @Descriptor("release the instrument's lock taken with instr:lock")
    public String unlock(@Descriptor("instrument id") String id) {
        String known = directory.find(id).map(c -> c.settings().id()).orElseThrow(() -> unknown(id));
        Duration held = holders.release(known);
        return known + ": lock released after " + ShellDurations.format(held);
    }

    // ---- diagnostics ---------------------------------------------------------------------------------

    /**
     * @param resource a resource string
     * @return the verdict and its evidence
     * @throws LabHalException when the first session cannot be opened or asked anything
     */
    @Descriptor("find out whether an instrument keeps sessions apart: INDEPENDENT_SESSIONS, SHARED_BUFFER or "
            + "SINGLE_CONNECTION, with the evidence")
    public String sessiontest(@Descriptor("resource string (quote it)") String resource) throws LabHalException {
        return sessiontest(resource, "500ms");
    }

    /**
     * @param resource a resource string
     * @param timeout how long to wait for each answer
     * @return the verdict and its evidence
     * @throws LabHalException when the first session cannot be opened or asked anything
     */
    @Descriptor("as sessiontest <resource>, waiting at most timeout for each answer (default 500ms)")
    public String sessiontest(@Descriptor("resource string (quote it)") String resource,
            @Descriptor("answer timeout, e.g. 500ms or 2s") String timeout) throws LabHalException {
        ResourceAddress address = ResourceAddress.parse(resource);
        Duration io = ShellDurations.parse(timeout, "timeout");
        if (io.isZero()) {
            throw new IllegalArgumentException("timeout must be longer than 0");
        }
        SessionOptions options = SessionOptions.defaults().withLockPolicy(LockPolicy.INDEPENDENT_SESSIONS)
                .withIoTimeout(io).withOpenTimeout(io.multipliedBy(6)).withErrorChecking(false);
        if (address.kind().isSingleLink()) {
            try (Session first = sessions.open(address, options)) {
                // e.g. a serial line: the session factory multiplexes every session over its one link
                return address.canonical() + ": SINGLE_CONNECTION\nquestions: none\n  a " + address.kind()
                        + " resource carries one connection: every session to it shares that link and its lock";
            }
        }
        Optional<InstrumentStatus> held = directory.all().stream().map(InstrumentConnection::status)
                .filter(s -> s.address().map(a -> a.canonical().equals(address.canonical())).orElse(false))
                .findFirst();
        if (held.isPresent() && held.get().policy().orElse(null) == LockPolicy.SINGLE_CONNECTION) {
            // Another connection would wait in the instrument's backlog, and whatever it asked would be
            // answered once the runtime lets go: into a closed socket.
            InstrumentStatus holder = held.get();
            return address.canonical() + ": SINGLE_CONNECTION\nquestions: none\n  the runtime's own session "
                    + "(instrument " + holder.id() + ") holds the instrument's one connection ("
                    + holder.policySource() + "); a probe's connection would wait unanswered behind it, so none "
                    + "was opened";
        }
        SessionProbe.Verdict verdict = new SessionProbe(3, address.kind() == TransportKind.SIM)
                .run(() -> new SessionLink(sessions.open(address, options)));
        StringBuilder text = new StringBuilder();
        text.append(address.canonical()).append(": ")
                .append(verdict.policy().map(Enum::name).orElse("UNDECIDED (see the evidence)"));
        text.append("\nquestions: ").append(verdict.method());
        held.ifPresent(holder -> text.append("\n  the runtime's own session (instrument ").append(holder.id())
                .append(") has a connection open too, lock policy ")
                .append(holder.policy().map(Enum::name).orElse("-")));
        for (String line : verdict.evidence()) {
            text.append("\n  ").append(line);
        }
        if (verdict.policy().isEmpty()) {
            throw new IllegalStateException(text.toString());
        }
        return text.toString();
    }

    /**
     * @param id an instrument id
     * @return the report
     * @throws LabHalException when the sessions cannot be opened
     * @throws InterruptedException when interrupted
     */
    @Descriptor("run concurrent queries through the instrument's lock policy: 4 threads, 1000 steps, 2 sessions")
    public String stress(@Descriptor("instrument id") String id) throws LabHalException, InterruptedException {
        return stress(id, 4, 1000, 2);
    }

    /**
     * @param id an instrument id
     * @param threads how many threads
     * @return the report
     * @throws LabHalException when the sessions cannot be opened
     * @throws InterruptedException when interrupted
     */
    @Descriptor("stress with that many threads, 1000 steps, 2 sessions")
    public String stress(@Descriptor("instrument id") String id, @Descriptor("threads") int threads)
            throws LabHalException, InterruptedException {
        return stress(id, threads, 1000, 2);
    }

    /**
     * @param id an instrument id
     * @param threads how many threads
     * @param steps total steps
     * @return the report
     * @throws LabHalException when the sessions cannot be opened
     * @throws InterruptedException when interrupted
     */
    @Descriptor("stress with that many threads and steps in total, 2 sessions")
    public String stress(@Descriptor("instrument id") String id, @Descriptor("threads") int threads,
            @Descriptor("steps in total") int steps) throws LabHalException, InterruptedException {
        return stress(id, threads, steps, 2);
    }

    /**
     * @param ids an instrument id, or several separated by commas: the threads then visit every
     *        instrument in turn (a soak through the runtime's instruments)
     * @param threads how many threads
     * @param steps total steps
     * @param sessionCount how many sessions per instrument the threads share, round robin
     * @return the report
     * @throws LabHalException when the sessions cannot be opened
     * @throws InterruptedException when interrupted
     */
    @Descriptor("stress: threads query concurrently through sessions opened with each instrument's lock policy; "
            + "a session whose link is lost is opened again; reports steps, wrong answers, errors and throughput")
    public String stress(@Descriptor("instrument id, or ids separated by commas") String ids,
            @Descriptor("threads") int threads, @Descriptor("steps in total") int steps,
            @Descriptor("sessions per instrument, shared round robin") int sessionCount)
            throws LabHalException, InterruptedException {
        if (threads < 1 || threads > 256) {
            throw new IllegalArgumentException("threads must be 1 to 256, got " + threads);
        }
        if (steps < 1 || steps > 10_000_000) {
            throw new IllegalArgumentException("steps must be 1 to 10000000, got " + steps);
        }
        if (sessionCount < 1 || sessionCount > threads) {
            throw new IllegalArgumentException("sessions must be 1 to threads (" + threads + "), got " + sessionCount);
        }
        List<String> names = List.of(ids.split(",", -1));
        if (names.stream().anyMatch(String::isBlank) || names.stream().distinct().count() < names.size()) {
            throw new IllegalArgumentException("instrument ids must be distinct and separated by single commas, got \""
                    + ids + "\"");
        }
        List<Instrument> instruments = new ArrayList<>();
        for (String name : names) {
            instruments.add(instrument(name));
        }
        List<StressRun.Lane> lanes = new ArrayList<>();
        List<String> described = new ArrayList<>();
        try {
            for (Instrument instrument : instruments) {
                Session own = instrument.session();
                SessionOptions options = SessionOptions.defaults().withLockPolicy(own.lockPolicy())
                        .withIoTimeout(own.ioTimeout()).withLockTimeout(own.lockTimeout())
                        .withErrorChecking(own.errorChecking()).withInstrumentLock(own.instrumentLock())
                        .withMaxAnswerSize(own.maxAnswerSize());
                StressRun.SessionOpener opener = () -> sessions.open(own.address(), options);
                StressRun plan = null;
                for (int i = 0; i < sessionCount; i++) {
                    Session session = opener.open();
                    if (plan == null) {
                        try {
                            plan = StressRun.plan(session);
                        } catch (LabHalException | RuntimeException e) {
                            session.close();
                            throw e;
                        }
                    }
                    lanes.add(new StressRun.Lane(instrument.id(), plan, session, opener));
                }
                described.add(instrument.id() + " (lock policy " + own.lockPolicy()
                        + (own.instrumentLock() ? " with the instrument lock" : "") + ", each step " + plan.question()
                        + ")");
            }
            StressRun.Result result = StressRun.run(lanes, threads, steps, workers);
            List<String[]> pairs = new ArrayList<>();
            pairs.add(pair("steps done", result.answered() + " of " + result.steps()));
            pairs.add(pair("wrong answers", result.wrong() + (result.wrong() == 0 ? ""
                    : " (" + result.crossed() + " of them another step's answer, the rest garbled)")));
            pairs.add(pair("errors", result.errorCount() == 0 ? "0" : result.errorCount() + " " + result.errors()));
            pairs.add(pair("sessions reopened", Long.toString(result.reopened())));
            pairs.add(pair("elapsed", ShellDurations.format(result.elapsed())));
            pairs.add(pair("throughput", String.format(java.util.Locale.ROOT, "%.0f steps/s", result.throughput())));
            pairs.add(pair("latency", "p50 " + ShellDurations.format(result.percentile(0.5)) + ", p99 "
                    + ShellDurations.format(result.percentile(0.99)) + ", max "
                    + ShellDurations.format(result.percentile(1.0))));
            if (lanes.size() > 1) {
                lanes.forEach(lane -> pairs.add(pair("session", lane.summary())));
            }
            for (String example : result.examples()) {
                pairs.add(pair("example", example));
            }
            return "stress " + String.join(", ", described) + ": " + threads + " thread(s), " + sessionCount
                    + " session(s) each\n" + Table.keyValues(pairs);
        } finally {
            lanes.forEach(StressRun.Lane::close);
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------

    private Instrument instrument(String id) {
        return directory.online(id, SETTLE);
    }

    private IllegalArgumentException unknown(String id) {
        return directory.unknown(id);
    }

    private static String join(String[] words, String what) {
        if (words == null || words.length == 0) {
            throw new IllegalArgumentException("give the " + what + " to send, quoted, e.g. '*IDN?'");
        }
        return String.join(" ", words);
    }

    private String lockSummary(String name) {
        for (LockInfo info : locks.locks()) {
            if (info.name().equals(name)) {
                return name + ": " + info.holder().map(h -> "held by " + h.thread() + " for "
                        + ShellDurations.format(h.heldFor())).orElse("free") + ", " + info.waiters().size()
                        + " waiting, " + info.acquisitions() + " acquisitions, " + info.contended() + " contended";
            }
        }
        return name;
    }

    private static String quirks(ModelQuirks quirks) {
        return "I/O " + quirks.ioTimeout().toMillis() + " ms, OPC " + quirks.opcTimeout().toMillis() + " ms "
                + (quirks.opcPolling() ? "polled" : "blocking") + ", error checking "
                + (quirks.errorChecking() ? "on" : "off") + (quirks.instrumentLock() ? ", instrument lock" : "");
    }

    /** What part of a resource its domain key comes from, in words. */
    private static String domainSource(ResourceAddress address) {
        return switch (address.kind()) {
            case SOCKET, HISLIP -> "its host";
            case VXI11 -> address.gpibAddress().isPresent() ? "its gateway and GPIB address" : "its host";
            case SERIAL -> "its serial port";
            case USBTMC, USB_RAW -> "its USB vendor, product and serial number";
            case GPIB -> "its GPIB board and primary address";
            case SIM -> "its simulated model and instance";
        };
    }

    private static String[] pair(String key, String value) {
        return new String[] { key, value };
    }

    private static String clock(Instant instant) {
        return LocalTime.ofInstant(instant, ZoneId.systemDefault()).format(CLOCK);
    }

    private static String ago(Instant instant) {
        return ShellDurations.format(Duration.between(instant, Instant.now()).truncatedTo(ChronoUnit.MILLIS)) + " ago";
    }

    /** A configuration that has no running instrument: invalid, or its id is taken. */
    private record Unstarted(String id, String state, String pid, String resource, String origin, String reason) {
    }

    private List<Unstarted> unstarted() throws IOException {
        List<Unstarted> result = new ArrayList<>();
        Map<String, InstrumentConnection> byPid = new HashMap<>();
        directory.all().forEach(c -> byPid.put(c.settings().pid(), c));
        for (Configuration configuration : listConfigurations(
                "(service.factoryPid=" + InstrumentSettings.FACTORY_PID + ")")) {
            if (byPid.containsKey(configuration.getPid())) {
                continue;
            }
            Map<String, Object> properties = toMap(configuration.getProperties());
            String fallbackId = Optional.ofNullable(properties.get("id")).map(Object::toString)
                    .or(() -> Optional.ofNullable(InstrumentSettings.nameOf(configuration.getPid())))
                    .orElse(configuration.getPid());
            String resource = Optional.ofNullable(properties.get("resource")).map(Object::toString).orElse(null);
            String reason;
            String origin;
            String state = "FAILED";
            try {
                InstrumentSettings settings = InstrumentSettings.from(properties);
                origin = settings.origin();
                fallbackId = settings.id();
                Optional<InstrumentConnection> other = directory.find(settings.id());
                if (other.isPresent()) {
                    reason = "id " + settings.id() + " is already used by " + other.get().settings().pid() + " ("
                            + other.get().settings().origin() + ")";
                } else {
                    state = "PENDING";
                    reason = "not started yet";
                }
            } catch (IllegalArgumentException e) {
                reason = e.getMessage();
                origin = InstrumentSettings.originOf(properties);
            }
            result.add(new Unstarted(fallbackId, state, configuration.getPid(), resource, origin, reason));
        }
        result.sort((a, b) -> a.id.compareToIgnoreCase(b.id));
        return result;
    }

    private Configuration[] listConfigurations(String filter) throws IOException {
        try {
            Configuration[] found = configurations.listConfigurations(filter);
            return found == null ? new Configuration[0] : found;
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException("bad filter " + filter + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, Object> toMap(Dictionary<String, Object> dictionary) {
        if (dictionary == null) {
            return Map.of();
        }
        Map<String, Object> map = new HashMap<>();
        for (String key : Collections.list(dictionary.keys())) {
            map.put(key, dictionary.get(key));
        }
        return map;
    }

    /** A probe link over a session: sends and reads as separate steps, under no common lock. */
    private static final class SessionLink implements SessionProbe.Link {
        private final Session session;

        SessionLink(Session session) {
            this.session = session;
        }

        @Override
        public void send(String message) throws LabHalException {
            session.write(message);
        }

        @Override
        public String receive() throws LabHalException {
            return session.read();
        }

        @Override
        public void drain() {
            try {
                session.clear();
            } catch (LabHalException e) {
                // best effort between rounds
            }
        }

        @Override
        public void close() {
            session.close();
        }
    }
}
