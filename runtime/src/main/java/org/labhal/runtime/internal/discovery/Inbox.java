package org.labhal.runtime.internal.discovery;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionFactory;
import org.labhal.api.SessionOptions;
import org.labhal.api.TransportKind;
import org.labhal.api.discovery.Discovered;
import org.labhal.api.discovery.Discoverer;
import org.labhal.api.discovery.DiscoveryRequest;
import org.labhal.api.instrument.Identity;
import org.labhal.api.lock.LockPolicy;
import org.labhal.runtime.internal.NamedThreadFactory;
import org.labhal.runtime.internal.instrument.InstrumentConnection;
import org.labhal.runtime.internal.instrument.InstrumentDirectory;
import org.labhal.runtime.internal.instrument.ModelCatalog;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.metatype.annotations.Designate;

/**
 * The instruments discovery found, as an inbox the user adds from or ignores: the {@link Discoverer}
 * services of the installed transport bundles run on request ({@link #discover}), each find is probed with
 * {@code *IDN?} where that is allowed and the instrument is not configured already, and the installed model
 * that would drive it is named with the lock policy it would get. A transport bundle installed later adds
 * its discoverer to the next search. Entries keep their numbers for the runtime's life; ignored ones are
 * hidden for that long. Thread-safe.
 */
@Component(service = Inbox.class, configurationPid = Inbox.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = DiscoveryConfiguration.class)
public final class Inbox {
    /** Configuration PID of discovery settings. */
    public static final String PID = "org.labhal.discovery";
    /** Setting the serial discoverer reads: ports that may be probed, each {@code path@baud}. */
    static final String SERIAL_PROBE = "serial.probe";
    /** Setting the GPIB discoverer reads: boards whose addresses may be scanned. */
    static final String GPIB_SCAN = "gpib.scan";
    /** What a search may take beyond its time to hand back what it found and close its sockets. */
    private static final Duration GRACE = Duration.ofSeconds(2);
    private static final int PROBE_THREADS = 8;

    /** The groups {@code instr:discover} accepts besides the kinds' own names. */
    static final Map<String, Set<TransportKind>> GROUPS = Map.of(
            "all", EnumSet.allOf(TransportKind.class),
            "lan", EnumSet.of(TransportKind.SOCKET, TransportKind.VXI11, TransportKind.HISLIP),
            "serial", EnumSet.of(TransportKind.SERIAL),
            "usb", EnumSet.of(TransportKind.USBTMC, TransportKind.USB_RAW),
            "gpib", EnumSet.of(TransportKind.GPIB));

    /** One instrument in the inbox. */
    public record Entry(int number, Discovered found, Optional<String> identity, String probe,
            Optional<String> model, LockPolicy policy, Optional<String> configuredAs) {
    }

    /** What one discoverer did in a search: how many it found, or why it failed. */
    public record Outcome(String discoverer, int found, Optional<String> failure) {
    }

    /** One search's result: what each discoverer did and the inbox after it. */
    public record Search(List<Outcome> outcomes, List<Entry> inbox, int fresh) {
    }

    private final SessionFactory sessions;
    private final ModelCatalog catalog;
    private final InstrumentDirectory directory;
    private final List<Discoverer> discoverers = new CopyOnWriteArrayList<>();
    private final ExecutorService searches = Executors.newCachedThreadPool(new NamedThreadFactory("labhal-discovery"));
    private final ExecutorService probes =
            Executors.newFixedThreadPool(PROBE_THREADS, new NamedThreadFactory("labhal-discovery-probe"));
    /** The inbox by canonical resource, in the order first found; guarded by this. */
    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Set<String> ignored = ConcurrentHashMap.newKeySet();
    private volatile DiscoveryConfiguration configuration;

    /**
     * @param sessions opens the probes' sessions
     * @param catalog names the model that would drive a probed instrument
     * @param directory the configured instruments, which are not probed again
     * @param configuration where and how to search
     */
    @Activate
    public Inbox(@Reference SessionFactory sessions, @Reference ModelCatalog catalog,
            @Reference InstrumentDirectory directory, DiscoveryConfiguration configuration) {
        this.sessions = sessions;
        this.catalog = catalog;
        this.directory = directory;
        this.configuration = check(configuration);
    }

    /** @param changed the new settings, used from the next search on */
    @Modified
    void modified(DiscoveryConfiguration changed) {
        configuration = check(changed);
    }

    private static DiscoveryConfiguration check(DiscoveryConfiguration c) {
        if (c.timeout() < 1 || c.timeout() > 600_000) {
            throw new IllegalArgumentException(PID + ": timeout=" + c.timeout() + " is not 1 to 600000 ms");
        }
        if (c.probeTimeout() < 1 || c.probeTimeout() > 60_000) {
            throw new IllegalArgumentException(PID + ": probeTimeout=" + c.probeTimeout() + " is not 1 to 60000 ms");
        }
        return c;
    }

    /** Stops searches and probes in progress. */
    @Deactivate
    public void deactivate() {
        searches.shutdownNow();
        probes.shutdownNow();
    }

    /** @param discoverer a transport bundle's discoverer, arriving */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addDiscoverer(Discoverer discoverer) {
        discoverers.add(discoverer);
    }

    /** @param discoverer a discoverer whose bundle is going */
    void removeDiscoverer(Discoverer discoverer) {
        discoverers.remove(discoverer);
    }

    /** @return the installed discoverers' names with the kinds each finds */
    public List<String> discoverers() {
        return discoverers.stream().map(d -> d.name() + " " + d.kinds()).toList();
    }

    /** @return the search time configured for {@code instr:discover} without a time */
    public Duration defaultTimeout() {
        return Duration.ofMillis(configuration.timeout());
    }

    /**
     * @param text {@code all}, {@code lan}, {@code serial}, {@code usb}, {@code gpib} or a transport kind's name
     * @return the kinds it stands for
     * @throws IllegalArgumentException naming the text and the choices
     */
    public static Set<TransportKind> kinds(String text) {
        String lower = text.strip().toLowerCase(Locale.ROOT);
        Set<TransportKind> group = GROUPS.get(lower);
        if (group != null) {
            return group;
        }
        for (TransportKind kind : TransportKind.values()) {
            if (kind.name().equalsIgnoreCase(lower)) {
                return EnumSet.of(kind);
            }
        }
        throw new IllegalArgumentException("'" + text + "' is not something to discover: use all, lan, serial, usb, "
                + "gpib or a transport kind (" + Arrays.toString(TransportKind.values()) + ")");
    }

    /**
     * Runs every discoverer that finds one of {@code kinds}, all at once, each bounded by {@code timeout},
     * then probes what is new.
     *
     * @param kinds what to look for
     * @param timeout how long the search may take; probing adds at most a few probe times
     * @return what each discoverer did and the inbox
     * @throws InterruptedException when interrupted; searches and probes in flight are cancelled
     */
    public Search discover(Set<TransportKind> kinds, Duration timeout) throws InterruptedException {
        DiscoveryConfiguration c = configuration;
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put(SERIAL_PROBE, c.serialProbe() == null ? "" : c.serialProbe());
        settings.put(GPIB_SCAN, c.gpibScan() == null ? "" : c.gpibScan());
        DiscoveryRequest request = new DiscoveryRequest(timeout,
                c.interfaces() == null ? List.of() : Arrays.stream(c.interfaces())
                        .flatMap(i -> Arrays.stream(i.split(","))) // a .cfg file gives one comma-separated text
                        .map(String::strip).filter(s -> !s.isEmpty()).toList(), settings);
        Map<String, Discovered> found = new ConcurrentHashMap<>();
        List<Discoverer> chosen = discoverers.stream()
                .filter(d -> d.kinds().stream().anyMatch(kinds::contains)).toList();
        List<Future<Integer>> running = new ArrayList<>();
        for (Discoverer discoverer : chosen) {
            running.add(searches.submit(() -> {
                int[] count = {0};
                discoverer.discover(request, d -> {
                    if (kinds.contains(d.address().kind())) {
                        count[0]++;
                        found.merge(d.address().canonical(), d, (old, now) -> old.probeAllowed() ? old : now);
                    }
                });
                return count[0];
            }));
        }
        List<Outcome> outcomes = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.plus(GRACE).toNanos();
        for (int i = 0; i < chosen.size(); i++) {
            outcomes.add(outcome(chosen.get(i).name(), running.get(i), deadline));
        }
        int fresh = 0;
        List<Discovered> toProbe = new ArrayList<>();
        synchronized (this) {
            for (Discovered d : found.values()) {
                if (!entries.containsKey(d.address().canonical())) {
                    fresh++;
                }
                toProbe.add(d);
            }
        }
        probe(toProbe, Duration.ofMillis(c.probeTimeout()));
        return new Search(outcomes, inbox(), fresh);
    }

    private static Outcome outcome(String name, Future<Integer> search, long deadline) throws InterruptedException {
        try {
            return new Outcome(name, search.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS),
                    Optional.empty());
        } catch (TimeoutException e) {
            search.cancel(true);
            return new Outcome(name, 0, Optional.of("did not end within its time; stopped"));
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            return new Outcome(name, 0, Optional.of(cause instanceof LabHalException ? cause.getMessage()
                    : cause.toString()));
        } catch (CancellationException e) {
            return new Outcome(name, 0, Optional.of("cancelled"));
        } catch (InterruptedException e) {
            search.cancel(true);
            throw e;
        }
    }

    /** Probes, in parallel and each bounded, every find that may be probed and is not configured. */
    private void probe(List<Discovered> finds, Duration probeTime) throws InterruptedException {
        Map<Discovered, Future<Entry>> probing = new LinkedHashMap<>();
        for (Discovered d : finds) {
            probing.put(d, probes.submit(() -> examine(d, probeTime)));
        }
        // Connecting and the answer each take at most the probe time; a queue of them, at most its share.
        long perRound = probeTime.multipliedBy(2).plus(GRACE).toNanos();
        long deadline = System.nanoTime() + perRound * ((finds.size() + PROBE_THREADS - 1) / PROBE_THREADS);
        for (Map.Entry<Discovered, Future<Entry>> p : probing.entrySet()) {
            Entry entry;
            try {
                entry = p.getValue().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException | ExecutionException | CancellationException e) {
                p.getValue().cancel(true);
                entry = entry(p.getKey(), Optional.empty(), "probe did not finish: " + e, Optional.empty());
            } catch (InterruptedException e) {
                probing.values().forEach(f -> f.cancel(true));
                throw e;
            }
            record(entry);
        }
    }

    private Entry examine(Discovered d, Duration probeTime) {
        Optional<InstrumentConnection> configured = configured(d.address());
        if (configured.isPresent()) {
            return entry(d, configured.get().status().identity(), "not probed: configured already",
                    Optional.of(configured.get().settings().id()));
        }
        if (!d.probeAllowed()) {
            return entry(d, Optional.empty(), d.address().kind() == TransportKind.SERIAL
                    ? "not probed: name the port with its baud rate in serialProbe (" + PID + ") to allow *IDN?"
                    : "not probed: the discoverer does not allow it", Optional.empty());
        }
        SessionOptions options = SessionOptions.defaults().withIoTimeout(probeTime).withOpenTimeout(probeTime)
                .withLockTimeout(probeTime);
        try (Session session = sessions.open(d.address(), options)) {
            String answer = session.query("*IDN?").strip();
            return entry(d, Optional.of(answer), "probed with *IDN?", Optional.empty());
        } catch (LabHalException e) {
            return entry(d, Optional.empty(), "probe failed: " + e.getMessage().lines().findFirst().orElse(""),
                    Optional.empty());
        }
    }

    private Entry entry(Discovered d, Optional<String> identity, String probe, Optional<String> configuredAs) {
        Optional<ModelCatalog.Match> match = identity.flatMap(text -> {
            try {
                return catalog.bestMatch(Identity.parse(text));
            } catch (RuntimeException e) {
                return Optional.empty(); // not an IEEE 488.2 identity: no model can be matched to it
            }
        });
        // A single link (serial line, USB device, GPIB address) carries one connection whatever the model says
        LockPolicy policy = d.address().kind().isSingleLink() ? LockPolicy.SINGLE_CONNECTION
                : match.map(m -> m.entry().policy()).orElse(LockPolicy.SHARED_BUFFER);
        return new Entry(0, d, identity, probe, match.map(m -> m.entry().name()), policy, configuredAs);
    }

    /** The configured instrument with this resource, or one of its domain, if any. */
    private Optional<InstrumentConnection> configured(ResourceAddress address) {
        for (InstrumentConnection connection : directory.all()) {
            ResourceAddress own = connection.settings().address();
            if (own.canonical().equals(address.canonical()) || own.domainKey().equals(address.domainKey())) {
                return Optional.of(connection);
            }
        }
        return Optional.empty();
    }

    private synchronized void record(Entry entry) {
        String key = entry.found().address().canonical();
        Entry old = entries.get(key);
        int number = old != null ? old.number() : entries.size() + 1;
        entries.put(key, new Entry(number, entry.found(), entry.identity(), entry.probe(), entry.model(),
                entry.policy(), entry.configuredAs()));
    }

    /** @return the entries not ignored, by number */
    public synchronized List<Entry> inbox() {
        return entries.values().stream().filter(e -> !ignored.contains(e.found().address().canonical())).toList();
    }

    /**
     * @param number an entry's number
     * @return the entry
     * @throws IllegalArgumentException when there is none with that number, or it was ignored
     */
    public synchronized Entry entry(int number) {
        for (Entry e : entries.values()) {
            if (e.number() == number) {
                if (ignored.contains(e.found().address().canonical())) {
                    throw new IllegalArgumentException("inbox entry " + number + " (" + e.found().address()
                            + ") was ignored");
                }
                return e;
            }
        }
        throw new IllegalArgumentException("no inbox entry " + number + (entries.isEmpty()
                ? "; the inbox is empty: run instr:discover" : "; instr:inbox lists them"));
    }

    /**
     * Hides an entry for the runtime's life, also from later searches.
     *
     * @param number the entry's number
     * @return the entry hidden
     */
    public Entry ignore(int number) {
        Entry e = entry(number);
        ignored.add(e.found().address().canonical());
        return e;
    }

    /**
     * Marks an entry as configured under an id.
     *
     * @param number the entry's number
     * @param id the instrument id it was configured as
     */
    public synchronized void configured(int number, String id) {
        Entry e = entry(number);
        entries.put(e.found().address().canonical(), new Entry(e.number(), e.found(), e.identity(), e.probe(),
                e.model(), e.policy(), Optional.of(id)));
    }
}
