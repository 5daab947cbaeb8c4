package org.labhal.runtime.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionFactory;
import org.labhal.api.dto.LockInfo;
import org.labhal.api.lock.LockService;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

/**
 * A first set of Gogo commands (scope {@code instr}) so the runtime can be tried at once:
 * {@code instr:query SIM::SMW200A::INSTR '*IDN?'}. Sessions are opened on first use and kept.
 * The runtime issue extends this into configured instruments.
 */
@Component(service = InstrumentCommands.class, property = {
        "osgi.command.scope=instr",
        "osgi.command.function=query",
        "osgi.command.function=write",
        "osgi.command.function=locks",
        "osgi.command.function=transports" })
public final class InstrumentCommands {
    private final SessionFactory sessions;
    private final LockService locks;
    private final Map<String, Session> open = new ConcurrentHashMap<>();

    /**
     * @param sessions opens sessions
     * @param locks reports lock state
     */
    @Activate
    public InstrumentCommands(@Reference SessionFactory sessions, @Reference LockService locks) {
        this.sessions = sessions;
        this.locks = locks;
    }

    /** Closes the sessions the commands opened. */
    @Deactivate
    public void deactivate() {
        open.values().forEach(Session::close);
        open.clear();
    }

    /**
     * @param resource a resource string
     * @param scpi the query
     * @return the answer
     * @throws LabHalException when the query fails
     */
    public String query(String resource, String scpi) throws LabHalException {
        return session(resource).query(scpi);
    }

    /**
     * @param resource a resource string
     * @param scpi the command
     * @return a confirmation
     * @throws LabHalException when the write fails
     */
    public String write(String resource, String scpi) throws LabHalException {
        session(resource).write(scpi);
        return "ok";
    }

    /** @return one line per lock: name, policy, holder, waiters and counters */
    public String locks() {
        List<String> rows = new ArrayList<>();
        rows.add(String.format(Locale.ROOT, "%-32s %-20s %-24s %7s %10s %9s %12s", "LOCK", "POLICY", "HOLDER",
                "WAITERS", "ACQUIRED", "CONTENDED", "LONGEST WAIT"));
        for (LockInfo info : locks.locks()) {
            rows.add(String.format(Locale.ROOT, "%-32s %-20s %-24s %7d %10d %9d %9.3f ms", info.name(), info.policy(),
                    info.holder().map(h -> h.thread()).orElse("-"), info.waiters().size(), info.acquisitions(),
                    info.contended(), info.longestWait().toNanos() / 1e6));
        }
        return String.join("\n", rows);
    }

    /** @return the resource kinds the installed transports serve */
    public String transports() {
        return sessions.transports().toString();
    }

    private Session session(String resource) throws LabHalException {
        String key = ResourceAddress.parse(resource).canonical();
        Session session = open.get(key);
        if (session == null || !session.isOpen()) {
            session = sessions.open(resource);
            Session raced = open.putIfAbsent(key, session);
            if (raced != null && raced.isOpen()) {
                session.close();
                session = raced;
            } else if (raced != null) {
                open.put(key, session);
            }
        }
        return session;
    }
}
