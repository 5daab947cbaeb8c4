package org.labhal.benchmarks.labscale;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.labhal.api.LabHalException;
import org.labhal.api.Session;
import org.labhal.api.SessionFactory;
import org.labhal.api.SessionOptions;
import org.labhal.api.instrument.Instrument;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The lab software of the lab-scale benchmark ({@code LabScaleBenchmark} wraps this package into a
 * bundle at run time and drops it into the watched folder). For every {@link Instrument} service it
 * opens {@value #EXTRA} more sessions to the same resource with the instrument's lock policy, as a
 * program or plug-in that wants its own session does, asks {@code *IDN?} once on each, and keeps them
 * open and idle until the instrument goes away: with the instrument's own session that makes
 * {@value #EXTRA}+1 sessions per instrument. It reports on standard error, which the benchmark reads:
 * a line per instrument whose sessions are open, saying how many are open in all.
 * <p>
 * Benchmark code: the lines on standard error are its interface to the harness.
 */
@Component(immediate = true, configurationPolicy = ConfigurationPolicy.IGNORE)
public final class SessionHolder {
    /** Sessions opened per instrument besides the instrument's own. */
    public static final int EXTRA = 3;
    /** The line prefix the harness looks for. */
    public static final String PREFIX = "labscale-client: ";

    private final SessionFactory factory;
    private final ExecutorService openers;
    private final Map<String, List<Session>> held = new ConcurrentHashMap<>();
    private final Map<String, Boolean> seen = new ConcurrentHashMap<>();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicLong opened = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private volatile boolean stopped;

    /** @param factory opens the extra sessions */
    @Activate
    public SessionHolder(@Reference SessionFactory factory) {
        this.factory = factory;
        AtomicInteger numbers = new AtomicInteger();
        this.openers = Executors.newFixedThreadPool(2, task -> {
            Thread thread = new Thread(task, "labscale-client-" + numbers.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
    }

    /** @param instrument an instrument that came online: open its extra sessions */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void addInstrument(Instrument instrument) {
        String id = instrument.id();
        openers.execute(() -> openFor(instrument, id));
    }

    void removeInstrument(Instrument instrument) {
        String id = instrument.id();
        openers.execute(() -> closeFor(id));
    }

    private void openFor(Instrument instrument, String id) {
        if (stopped) {
            return;
        }
        List<Session> sessions = new ArrayList<>();
        try {
            for (int i = 0; i < EXTRA; i++) {
                Session session = factory.open(instrument.address(),
                        SessionOptions.defaults().withLockPolicy(instrument.lockPolicy()));
                sessions.add(session);
                session.query("*IDN?");
            }
        } catch (LabHalException | RuntimeException e) {
            failures.incrementAndGet();
            System.err.println(PREFIX + "failed to open a session to " + id + ": " + e);
            sessions.forEach(Session::close);
            return;
        }
        List<Session> previous = held.put(id, sessions);
        if (previous != null) {
            previous.forEach(Session::close);
            open.addAndGet(-previous.size());
        }
        int now = open.addAndGet(sessions.size());
        long total = opened.addAndGet(sessions.size());
        boolean again = seen.put(id, Boolean.TRUE) != null;
        System.err.println(PREFIX + (again ? "reopened " : "opened ") + id + " (" + now + " sessions open, " + total
                + " opened, " + failures.get() + " failures)");
    }

    private void closeFor(String id) {
        List<Session> sessions = held.remove(id);
        if (sessions != null) {
            sessions.forEach(Session::close);
            open.addAndGet(-sessions.size());
            System.err.println(PREFIX + "closed " + id + " (" + open.get() + " sessions open)");
        }
    }

    /** Closes every held session. */
    @Deactivate
    public void deactivate() throws InterruptedException {
        stopped = true;
        openers.shutdown();
        openers.awaitTermination(10, TimeUnit.SECONDS);
        held.values().forEach(list -> list.forEach(Session::close));
        held.clear();
    }
}
