package org.labhal.runtime.internal.web;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.dto.HolderInfo;
import org.labhal.api.dto.LockInfo;
import org.labhal.api.dto.WaiterInfo;
import org.labhal.api.instrument.Instrument;
import org.labhal.api.lock.LockException;
import org.labhal.api.lock.LockService;
import org.labhal.runtime.internal.discovery.Inbox;
import org.labhal.runtime.internal.instrument.InstrumentConnection;
import org.labhal.runtime.internal.instrument.InstrumentDirectory;
import org.labhal.runtime.internal.instrument.InstrumentStatus;
import org.labhal.runtime.internal.shell.LockHolders;
import org.labhal.runtime.internal.shell.ShellDurations;
import org.labhal.runtime.internal.trace.InstrumentTrace;
import org.labhal.runtime.internal.trace.StepStatistics;
import org.labhal.runtime.internal.trace.Traces;
import org.labhal.runtime.internal.trace.TracedStep;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;

/**
 * The dashboard's JSON API without HTTP around it: routes a method and a path below {@code /labhal/api}
 * to the same data and actions as the shell's {@code instr:} commands, with the same messages. Query and
 * write go through the instrument's own session; lock and unlock use the shared {@link LockHolders}, so
 * a lock taken here is {@code instr:unlock}-able and the other way round. Thread-safe.
 */
final class DashboardApi {
    /** How long a request waits for an instrument that is connecting, as the shell does. */
    private static final Duration SETTLE = Duration.ofSeconds(15);
    /** Most trace steps one request returns. */
    static final int MAX_STEPS = 1000;
    private static final Gson GSON = new GsonBuilder().serializeNulls().disableHtmlEscaping().create();

    /** A JSON answer and its status. */
    record Response(int status, String json) {
    }

    private final InstrumentDirectory directory;
    private final LockService locks;
    private final LockHolders holders;
    private final Traces traces;
    private final Supplier<Optional<Inbox>> inbox;

    /**
     * @param directory the running instruments
     * @param locks every live lock
     * @param holders the locks held from the shell and the page
     * @param traces the instruments' traces
     * @param inbox the discovery inbox, when the discovery component runs
     */
    DashboardApi(InstrumentDirectory directory, LockService locks, LockHolders holders, Traces traces,
            Supplier<Optional<Inbox>> inbox) {
        this.directory = directory;
        this.locks = locks;
        this.holders = holders;
        this.traces = traces;
        this.inbox = inbox;
    }

    /**
     * @param method GET or POST
     * @param path the path below {@code /labhal/api}, e.g. {@code /instruments/sim-smw/query}
     * @param query the value of the {@code n} parameter, or null
     * @param body the request body (POST), or null
     * @return the answer; failures as {@code {"error": "..."}} with their status
     */
    Response handle(String method, String path, String query, String body) {
        try {
            return new Response(200, GSON.toJson(route(method, path == null ? "" : path, query, body)));
        } catch (ApiException e) {
            return error(e.status(), e.getMessage());
        } catch (RuntimeException e) { // whatever it is, the page gets JSON it can show, not the server's HTML page
            ApiException failed = failure(e);
            return error(failed.status(), failed.getMessage());
        }
    }

    /** @return {@code {"error": message}} with that status */
    static Response error(int status, String message) {
        JsonObject error = new JsonObject();
        error.addProperty("error", message == null ? "failed" : message);
        return new Response(status, GSON.toJson(error));
    }

    private JsonElement route(String method, String path, String n, String body) throws ApiException {
        List<String> parts = new ArrayList<>();
        for (String part : path.split("/")) {
            if (!part.isEmpty()) {
                parts.add(part);
            }
        }
        boolean get = method.equals("GET");
        boolean post = method.equals("POST");
        if (!get && !post) {
            throw new ApiException(405, method + " is not served: use GET to read and POST to act");
        }
        if (parts.size() == 1 && get) {
            switch (parts.get(0)) {
                case "instruments":
                    return instruments();
                case "locks":
                    return locks();
                case "stats":
                    return allStatistics();
                case "inbox":
                    return inbox();
                default:
                    break;
            }
        }
        if (parts.size() >= 2 && parts.get(0).equals("instruments")) {
            String id = parts.get(1);
            InstrumentConnection connection = directory.find(id)
                    .orElseThrow(() -> new ApiException(404, directory.unknown(id).getMessage()));
            String known = connection.settings().id();
            if (parts.size() == 2 && get) {
                return instrument(connection);
            }
            if (parts.size() == 3) {
                String action = parts.get(2);
                if (get && action.equals("trace")) {
                    return trace(known, count(n));
                }
                if (get && action.equals("stats")) {
                    return statistics(known);
                }
                if (post) {
                    JsonObject request = parse(body);
                    switch (action) {
                        case "query":
                            return query(known, text(request, "command", "query"));
                        case "write":
                            return write(known, text(request, "command", "command"));
                        case "lock":
                            return lock(known, optional(request, "timeout", "10s"), optional(request, "lease", "60s"));
                        case "unlock":
                            return unlock(known);
                        case "trace":
                            return traceSwitch(known, request);
                        default:
                            break;
                    }
                }
            }
        }
        throw new ApiException(404, "no such API resource: " + method + " /labhal/api" + path
                + " (see runtime/README.md, \"The web dashboard\")");
    }

    // ---- data ----------------------------------------------------------------------------------------

    /** @return every running instrument, as {@code instr:list} shows them, with its trace switch */
    JsonArray instruments() {
        JsonArray all = new JsonArray();
        directory.all().forEach(c -> all.add(instrument(c)));
        return all;
    }

    private JsonObject instrument(InstrumentConnection connection) {
        InstrumentStatus s = connection.status();
        JsonObject o = new JsonObject();
        o.addProperty("id", s.id());
        o.addProperty("state", s.state().name());
        o.addProperty("detail", s.detail());
        o.addProperty("since", s.since().toString());
        o.addProperty("model", s.model().orElse(null));
        o.addProperty("policy", s.policy().map(Enum::name).orElse(null));
        o.addProperty("identity", s.identity().orElse(null));
        o.addProperty("resource", s.address().orElse(s.settings().address()).canonical());
        o.addProperty("configuredBy", s.settings().origin());
        o.addProperty("lock", s.lockName().orElse(null));
        o.addProperty("lockHeldFromShellOrPage", holders.holds(s.id()));
        o.addProperty("trace", traces.find(s.id()).map(InstrumentTrace::tracing).orElse(false));
        return o;
    }

    /** @return every live lock joined with the instruments using it, as {@code instr:locks} shows them */
    JsonArray locks() {
        Map<String, List<String>> users = directory.lockUsers();
        JsonArray all = new JsonArray();
        for (LockInfo info : locks.locks()) {
            JsonObject o = new JsonObject();
            o.addProperty("name", info.name());
            o.addProperty("domain", info.domainKey());
            o.addProperty("policy", info.policy() == null ? null : info.policy().name());
            o.add("holder", info.holder().map(DashboardApi::holder).orElse(null));
            JsonArray waiters = new JsonArray();
            for (WaiterInfo w : info.waiters()) {
                JsonObject waiter = new JsonObject();
                waiter.addProperty("thread", w.thread());
                waiter.addProperty("activity", w.activity());
                waiter.addProperty("priority", w.priority() == null ? null : w.priority().name());
                waiter.addProperty("waitingMs", w.waiting().toMillis());
                waiters.add(waiter);
            }
            o.add("waiters", waiters);
            o.addProperty("acquisitions", info.acquisitions());
            o.addProperty("contended", info.contended());
            o.addProperty("timeouts", info.timeouts());
            o.addProperty("deadlocks", info.deadlocks());
            o.addProperty("longestWaitMs", info.longestWait().toMillis());
            o.addProperty("longestHoldMs", info.longestHold().toMillis());
            JsonArray instruments = new JsonArray();
            users.getOrDefault(info.name(), List.of()).forEach(instruments::add);
            o.add("instruments", instruments);
            all.add(o);
        }
        return all;
    }

    private static JsonObject holder(HolderInfo h) {
        JsonObject o = new JsonObject();
        o.addProperty("thread", h.thread());
        o.addProperty("activity", h.activity());
        o.addProperty("since", h.since().toString());
        o.addProperty("heldForMs", h.heldFor().toMillis());
        o.addProperty("holdCount", h.holdCount());
        return o;
    }

    /**
     * @return what the page's live view shows, with a signature that leaves out the durations that grow by
     *         themselves, so that a change of holder, waiters, counters or states can be told from time passing
     */
    Snapshot snapshot() {
        JsonObject o = new JsonObject();
        JsonArray instruments = instruments();
        JsonArray live = locks();
        o.add("instruments", instruments);
        o.add("locks", live);
        StringBuilder signature = new StringBuilder();
        signature.append(GSON.toJson(instruments));
        for (JsonElement element : live) {
            JsonObject lock = element.getAsJsonObject().deepCopy();
            lock.remove("longestWaitMs");
            lock.remove("longestHoldMs");
            if (lock.get("holder").isJsonObject()) {
                lock.getAsJsonObject("holder").remove("heldForMs");
                lock.getAsJsonObject("holder").remove("since"); // worked out from the hold time: jitters
            }
            lock.getAsJsonArray("waiters").forEach(w -> w.getAsJsonObject().remove("waitingMs"));
            signature.append(GSON.toJson(lock));
        }
        o.addProperty("time", Instant.now().toString());
        return new Snapshot(GSON.toJson(o), signature.toString());
    }

    /** The live view's data and what tells a change. */
    record Snapshot(String json, String signature) {
    }

    private JsonObject trace(String id, int n) {
        JsonObject o = new JsonObject();
        o.addProperty("instrument", id);
        Optional<InstrumentTrace> trace = traces.find(id);
        o.addProperty("tracing", trace.map(InstrumentTrace::tracing).orElse(false));
        JsonArray steps = new JsonArray();
        trace.ifPresent(t -> t.last(n).forEach(step -> steps.add(step.toJsonObject())));
        o.add("steps", steps);
        return o;
    }

    /** @return the steps as one JSON array text, for the event stream */
    static String steps(List<TracedStep> steps) {
        StringBuilder text = new StringBuilder("[");
        for (TracedStep step : steps) {
            if (text.length() > 1) {
                text.append(',');
            }
            text.append(step.toJson());
        }
        return text.append(']').toString();
    }

    private JsonObject statistics(String id) {
        JsonObject o = new JsonObject();
        o.addProperty("instrument", id);
        JsonArray kinds = new JsonArray();
        traces.find(id).ifPresent(t -> t.statistics().forEach(s -> kinds.add(statistic(s))));
        o.add("kinds", kinds);
        return o;
    }

    private JsonArray allStatistics() {
        JsonArray all = new JsonArray();
        for (InstrumentConnection connection : directory.all()) {
            all.add(statistics(connection.settings().id()));
        }
        return all;
    }

    private static JsonObject statistic(StepStatistics s) {
        JsonObject o = new JsonObject();
        o.addProperty("kind", s.kind().name());
        o.addProperty("count", s.count());
        o.addProperty("failures", s.failures());
        o.addProperty("p50Us", s.p50Nanos() / 1000);
        o.addProperty("p99Us", s.p99Nanos() / 1000);
        o.addProperty("maxUs", s.maxNanos() / 1000);
        o.addProperty("lockWaitShare", s.lockWaitShare());
        return o;
    }

    private JsonArray inbox() {
        JsonArray all = new JsonArray();
        inbox.get().ifPresent(box -> box.inbox().forEach(entry -> {
            JsonObject o = new JsonObject();
            o.addProperty("number", entry.number());
            o.addProperty("resource", entry.found().address().canonical());
            o.addProperty("source", entry.found().source());
            o.addProperty("label", entry.found().label());
            o.addProperty("identity", entry.identity().orElse(null));
            o.addProperty("probe", entry.probe());
            o.addProperty("model", entry.model().orElse(null));
            o.addProperty("policy", entry.policy() == null ? null : entry.policy().name());
            o.addProperty("configuredAs", entry.configuredAs().orElse(null));
            all.add(o);
        }));
        return all;
    }

    // ---- actions -------------------------------------------------------------------------------------

    private JsonObject query(String id, String command) throws ApiException {
        JsonObject o = new JsonObject();
        o.addProperty("instrument", id);
        o.addProperty("command", command);
        try {
            o.addProperty("answer", online(id).session().query(command));
        } catch (LabHalException | RuntimeException e) {
            throw failure(e);
        }
        return o;
    }

    private JsonObject write(String id, String command) throws ApiException {
        JsonObject o = new JsonObject();
        o.addProperty("instrument", id);
        o.addProperty("command", command);
        try {
            online(id).session().write(command);
        } catch (LabHalException | RuntimeException e) {
            throw failure(e);
        }
        o.addProperty("result", "ok");
        return o;
    }

    private JsonObject lock(String id, String timeout, String lease) throws ApiException {
        try {
            Duration wait = ShellDurations.parse(timeout, "timeout");
            Duration hold = ShellDurations.parse(lease, "lease");
            if (hold.isZero()) {
                throw new IllegalArgumentException("lease must be longer than 0");
            }
            // A page can be closed while its lock is waited for or held: bounded so that such a lock ends by itself
            if (wait.compareTo(MAX_WEB_WAIT) > 0 || hold.compareTo(MAX_WEB_LEASE) > 0) {
                throw new IllegalArgumentException("from the web dashboard a lock waits at most "
                        + ShellDurations.format(MAX_WEB_WAIT) + " and is held at most " + ShellDurations.format(MAX_WEB_LEASE)
                        + " (instr:lock in the shell has no such limit); asked " + timeout + " and " + lease);
            }
            Instrument instrument = online(id);
            String thread = holders.hold(instrument.id(), instrument.session().lock(), wait, hold, "the web dashboard",
                    "held from the web dashboard (instr:unlock " + instrument.id() + " releases it)");
            JsonObject o = new JsonObject();
            o.addProperty("instrument", instrument.id());
            o.addProperty("lock", instrument.session().lock().name());
            o.addProperty("thread", thread);
            o.addProperty("result", instrument.id() + ": lock " + instrument.session().lock().name()
                    + " held by thread " + thread + " for at most " + ShellDurations.format(hold) + "; instr:unlock "
                    + instrument.id() + " releases it");
            return o;
        } catch (LabHalException | RuntimeException e) {
            throw failure(e);
        }
    }

    private JsonObject unlock(String id) throws ApiException {
        try {
            Duration held = holders.release(id);
            JsonObject o = new JsonObject();
            o.addProperty("instrument", id);
            o.addProperty("result", id + ": lock released after " + ShellDurations.format(held));
            return o;
        } catch (RuntimeException e) {
            throw failure(e);
        }
    }

    private JsonObject traceSwitch(String id, JsonObject request) throws ApiException {
        JsonElement on = request.get("on");
        if (on == null || !on.isJsonPrimitive() || !on.getAsJsonPrimitive().isBoolean()) {
            throw new ApiException(400, "give \"on\": true or false");
        }
        InstrumentTrace trace = traces.of(id);
        trace.trace(on.getAsBoolean());
        JsonObject o = new JsonObject();
        o.addProperty("instrument", id);
        o.addProperty("tracing", trace.tracing());
        // as instr:trace <id> on|off says it
        o.addProperty("result", trace.tracing() ? id + ": trace on; the last " + trace.capacity() + " steps are kept "
                + "(instr:trace " + id + " shows them) and logged at debug under " + Traces.LOGGER_PREFIX + id
                : id + ": trace off; the steps kept so far stay to be read");
        return o;
    }

    private Instrument online(String id) {
        return directory.online(id, SETTLE);
    }

    /** The longest a lock asked for from the page may be waited for. */
    static final Duration MAX_WEB_WAIT = Duration.ofMinutes(2);
    /** The longest a lock taken from the page may be held. */
    static final Duration MAX_WEB_LEASE = Duration.ofMinutes(30);

    /** The status a failure gets; its message is the one the shell prints. */
    static ApiException failure(Exception e) {
        int status;
        if (e instanceof IllegalArgumentException) {
            status = 400;
        } else if (e instanceof IllegalStateException || e instanceof LockException
                || e instanceof IoTimeoutException) {
            status = 409; // busy, held already, not online, or timed out
        } else {
            status = 500;
        }
        return new ApiException(status, e.getMessage() == null ? e.toString() : e.getMessage(), e);
    }

    // ---- input ---------------------------------------------------------------------------------------

    private static JsonObject parse(String body) throws ApiException {
        if (body == null || body.isBlank()) {
            return new JsonObject();
        }
        JsonElement parsed;
        try {
            parsed = JsonParser.parseString(body);
        } catch (JsonParseException e) {
            throw new ApiException(400, "bad JSON: " + (e.getCause() != null && e.getCause().getMessage() != null
                    ? e.getCause().getMessage() : e.getMessage()));
        }
        if (!parsed.isJsonObject()) {
            throw new ApiException(400, "bad JSON: expected an object, got " + body.strip().charAt(0) + "...");
        }
        return parsed.getAsJsonObject();
    }

    private static String text(JsonObject request, String key, String what) throws ApiException {
        JsonElement value = request.get(key);
        if (value == null || value.isJsonNull() || (value.isJsonPrimitive() && value.getAsString().isBlank())) {
            throw new ApiException(400, "give the " + what + " to send as \"" + key + "\", e.g. \"*IDN?\"");
        }
        if (!value.isJsonPrimitive() || !((JsonPrimitive) value).isString()) {
            throw new ApiException(400, "\"" + key + "\" must be a string");
        }
        return value.getAsString();
    }

    private static String optional(JsonObject request, String key, String fallback) throws ApiException {
        JsonElement value = request.get(key);
        if (value == null || value.isJsonNull()) {
            return fallback;
        }
        if (!value.isJsonPrimitive()) {
            throw new ApiException(400, "\"" + key + "\" must be a duration such as \"5s\" or \"500ms\"");
        }
        return value.getAsString();
    }

    private static int count(String n) throws ApiException {
        if (n == null || n.isEmpty()) {
            return 100;
        }
        try {
            int count = Integer.parseInt(n);
            if (count >= 1 && count <= MAX_STEPS) {
                return count;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw new ApiException(400, "n must be 1 to " + MAX_STEPS + ", got '" + n + "'");
    }
}
