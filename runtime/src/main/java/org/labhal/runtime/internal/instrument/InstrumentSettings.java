package org.labhal.runtime.internal.instrument;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

import org.labhal.api.InvalidResourceException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.SessionOptions;
import org.labhal.api.lock.LockPolicy;

/**
 * The checked settings of one configured instrument, read from the raw properties of a
 * {@value #FACTORY_PID} factory configuration. Every problem is reported at once, each naming the
 * property, the value and what was expected. Immutable.
 *
 * @param pid the configuration's PID, e.g. {@code org.labhal.instrument~sim-smw}
 * @param id the instrument id
 * @param address the parsed resource
 * @param model the model to use instead of matching {@code *IDN?}
 * @param lockPolicy the lock policy overriding the model's
 * @param ioTimeout the I/O timeout overriding the model's
 * @param lockTimeout the lock timeout
 * @param errorChecking whether to check the error queue, overriding the model's
 * @param instrumentLock whether every step also holds the instrument-side lock, overriding the
 *        model's {@link org.labhal.api.instrument.ModelQuirks#instrumentLock() quirk}; empty ({@code auto})
 *        follows the model where the transport has such a lock; {@code true} requires it, and the
 *        instrument fails to connect over a transport without one
 * @param driverWait how long a driver call waits while no driver is bound
 * @param maxAnswerSize the most bytes one answer collected in memory may have, overriding the
 *        session's default ({@link SessionOptions#maxAnswerSize()})
 * @param lockDomain the lock domain replacing the resource's {@link ResourceAddress#domainKey() domain key}
 * @param trace whether the instrument's steps are traced (instr:trace); empty leaves the switch as it is
 * @param origin where the configuration came from: a file path, {@code shell}, {@code default} or
 *        {@code configuration}
 */
public record InstrumentSettings(String pid, String id, ResourceAddress address, Optional<String> model,
        Optional<LockPolicy> lockPolicy, Optional<Duration> ioTimeout, Duration lockTimeout,
        Optional<Boolean> errorChecking, Optional<Boolean> instrumentLock, Duration driverWait, Optional<Long> maxAnswerSize,
        Optional<String> lockDomain, Optional<Boolean> trace, String origin) {

    /** The factory PID of instrument configurations. */
    public static final String FACTORY_PID = "org.labhal.instrument";
    /** Property that records who made a configuration ({@code shell} or {@code default}). */
    public static final String ORIGIN = "labhal.origin";
    /** Property FileInstall puts on configurations it read from a file. */
    public static final String FILEINSTALL_FILENAME = "felix.fileinstall.filename";

    /** Lock timeout when the configuration sets none. */
    public static final Duration DEFAULT_LOCK_TIMEOUT = Duration.ofSeconds(10);
    /** Driver wait when the configuration sets none. */
    public static final Duration DEFAULT_DRIVER_WAIT = Duration.ofSeconds(5);

    private static final Pattern LOCK_DOMAIN = Pattern.compile("\\p{Graph}{1,200}");
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final Duration MAX_TIMEOUT = Duration.ofHours(1);
    private static final Set<String> KNOWN = Set.of("id", "resource", "model", "lockPolicy", "ioTimeout",
            "lockTimeout", "errorChecking", "instrumentLock", "driverWait", "maxAnswerSize", "lockDomain", "trace");

    /** @throws NullPointerException for a null field */
    public InstrumentSettings {
        Objects.requireNonNull(pid, "pid");
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(lockPolicy, "lockPolicy");
        Objects.requireNonNull(ioTimeout, "ioTimeout");
        Objects.requireNonNull(lockTimeout, "lockTimeout");
        Objects.requireNonNull(errorChecking, "errorChecking");
        Objects.requireNonNull(instrumentLock, "instrumentLock");
        Objects.requireNonNull(driverWait, "driverWait");
        Objects.requireNonNull(maxAnswerSize, "maxAnswerSize");
        Objects.requireNonNull(lockDomain, "lockDomain");
        Objects.requireNonNull(trace, "trace");
        Objects.requireNonNull(origin, "origin");
    }

    /**
     * Reads and checks a configuration. Properties whose key contains a dot belong to the framework,
     * ConfigAdmin or FileInstall and are ignored; any other unknown key is an error, so a misspelt
     * {@code ioTimout} does not silently fall back to a default.
     *
     * @param properties the configuration's properties, {@code service.pid} included
     * @return the settings
     * @throws IllegalArgumentException naming the configuration and every bad value
     */
    public static InstrumentSettings from(Map<String, ?> properties) {
        String pid = text(properties.get("service.pid")).orElse("(new configuration)");
        List<String> problems = new ArrayList<>();
        for (String key : properties.keySet()) {
            if (!key.contains(".") && !KNOWN.contains(key)) {
                problems.add("unknown property '" + key + "' (known: id, resource, model, lockPolicy, ioTimeout, "
                        + "lockTimeout, errorChecking, instrumentLock, driverWait, maxAnswerSize, lockDomain, trace)");
            }
        }

        String id = text(properties.get("id")).orElseGet(() -> nameOf(pid));
        if (id == null) {
            problems.add("id is missing (and the configuration has no name to default it to)");
        } else if (!ID.matcher(id).matches()) {
            problems.add("id=" + id + " is not a valid id: use 1-64 letters, digits, '.', '_' or '-', starting "
                    + "with a letter or digit");
        }

        ResourceAddress address = null;
        Optional<String> resource = text(properties.get("resource"));
        if (resource.isEmpty()) {
            problems.add("resource is missing: give a resource string such as SIM::SMW200A::1::INSTR or "
                    + "TCPIP::10.0.0.5::hislip0::INSTR");
        } else {
            try {
                address = ResourceAddress.parse(resource.get());
            } catch (InvalidResourceException e) {
                // the parser's message ends with a caret diagram on further lines; one line suits a list
                problems.add("resource=" + resource.get() + " is not a valid resource string: "
                        + e.getMessage().lines().findFirst().orElse(""));
            }
        }

        Optional<String> model = text(properties.get("model"));
        Optional<LockPolicy> policy = text(properties.get("lockPolicy")).flatMap(value -> {
            try {
                return Optional.of(LockPolicy.valueOf(value.toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                problems.add("lockPolicy=" + value + " is not one of INDEPENDENT_SESSIONS, SHARED_BUFFER, "
                        + "SINGLE_CONNECTION");
                return Optional.empty();
            }
        });
        Optional<Duration> io = millis(properties, "ioTimeout", 1, problems);
        Optional<Duration> lock = millis(properties, "lockTimeout", 0, problems);
        Optional<Duration> wait = millis(properties, "driverWait", 1, problems);
        Optional<Boolean> errorChecking = bool(properties, "errorChecking", problems);
        Optional<Boolean> trace = bool(properties, "trace", problems);
        Optional<Long> maxAnswer = whole(properties, "maxAnswerSize", 1, SessionOptions.MAX_ANSWER_LIMIT, "bytes",
                problems);
        Optional<String> lockDomain = text(properties.get("lockDomain"));
        lockDomain.filter(domain -> !LOCK_DOMAIN.matcher(domain).matches()).ifPresent(domain -> problems.add(
                "lockDomain=" + domain + " is not a valid lock domain: use 1-200 printable characters without spaces, "
                        + "e.g. TCPIP::10.0.0.7::4001 or bench-psu"));
        Optional<Boolean> instrumentLock = "auto".equalsIgnoreCase(text(properties.get("instrumentLock")).orElse(""))
                ? Optional.empty() : bool(properties, "instrumentLock", problems, " or auto");

        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("Instrument configuration " + pid + (id == null ? "" : " (" + id + ")")
                    + " is invalid: " + String.join("; ", problems));
        }
        return new InstrumentSettings(pid, id, address, model, policy, io, lock.orElse(DEFAULT_LOCK_TIMEOUT),
                errorChecking, instrumentLock, wait.orElse(DEFAULT_DRIVER_WAIT), maxAnswer, lockDomain, trace,
                originOf(properties));
    }

    /**
     * @param id the instrument id
     * @param resource the resource string
     * @return the properties of a configuration made from the shell
     */
    public static Map<String, Object> shellProperties(String id, String resource) {
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("id", id);
        properties.put("resource", resource);
        properties.put(ORIGIN, "shell");
        return properties;
    }

    /**
     * @param pid a configuration PID
     * @return the name of a named factory configuration ({@code factory~name}), or {@code null}
     */
    public static String nameOf(String pid) {
        int tilde = pid.indexOf('~');
        return tilde < 0 || tilde == pid.length() - 1 ? null : pid.substring(tilde + 1);
    }

    /**
     * @param options session options
     * @return the options with what this configuration sets for every session: the answer limit and
     *         the lock domain
     */
    public SessionOptions applyTo(SessionOptions options) {
        SessionOptions limited = maxAnswerSize.map(options::withMaxAnswerSize).orElse(options);
        return lockDomain.map(limited::withLockDomain).orElse(limited);
    }

    /** @return the lock domain sessions share locks in: the configured one, else the resource's */
    public String effectiveLockDomain() {
        return lockDomain.orElse(address.domainKey());
    }

    /** @return whether the configuration is kept in a file FileInstall watches */
    public boolean fromFile() {
        return origin.startsWith("file ");
    }

    /**
     * @param properties a configuration's properties
     * @return where it came from: {@code file <path>}, {@code shell}, {@code default} or {@code configuration}
     */
    public static String originOf(Map<String, ?> properties) {
        Optional<String> file = text(properties.get(FILEINSTALL_FILENAME));
        if (file.isPresent()) {
            String location = file.get();
            try {
                location = Path.of(URI.create(location)).toString();
            } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
                // not a file: URL; show it as it is
            }
            return "file " + location;
        }
        return text(properties.get(ORIGIN)).orElse("configuration");
    }

    private static Optional<String> text(Object value) {
        if (value == null) {
            return Optional.empty();
        }
        String text = value.toString().strip();
        return text.isEmpty() ? Optional.empty() : Optional.of(text);
    }

    private static Optional<Duration> millis(Map<String, ?> properties, String key, long min, List<String> problems) {
        return whole(properties, key, min, MAX_TIMEOUT.toMillis(), "milliseconds", problems).map(Duration::ofMillis);
    }

    private static Optional<Long> whole(Map<String, ?> properties, String key, long min, long max, String unit,
            List<String> problems) {
        Object raw = properties.get(key);
        Optional<String> text = text(raw);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        long value;
        if (raw instanceof Long || raw instanceof Integer || raw instanceof Short) {
            value = ((Number) raw).longValue();
        } else {
            try {
                value = Long.parseLong(text.get());
            } catch (NumberFormatException e) {
                problems.add(key + "=" + text.get() + " is not a whole number of " + unit);
                return Optional.empty();
            }
        }
        if (value < min || value > max) {
            problems.add(key + "=" + value + " is out of range: expected " + min + " to " + max + " " + unit);
            return Optional.empty();
        }
        return Optional.of(value);
    }

    private static Optional<Boolean> bool(Map<String, ?> properties, String key, List<String> problems) {
        return bool(properties, key, problems, "");
    }

    private static Optional<Boolean> bool(Map<String, ?> properties, String key, List<String> problems,
            String alternatives) {
        Object raw = properties.get(key);
        if (raw instanceof Boolean b) {
            return Optional.of(b);
        }
        Optional<String> text = text(raw);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        return switch (text.get().toLowerCase(Locale.ROOT)) {
            case "true" -> Optional.of(true);
            case "false" -> Optional.of(false);
            default -> {
                problems.add(key + "=" + text.get() + " is not true" + (alternatives.isEmpty() ? " or " : ", ")
                        + "false" + alternatives);
                yield Optional.empty();
            }
        };
    }
}
