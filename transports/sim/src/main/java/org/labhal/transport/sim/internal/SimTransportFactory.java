package org.labhal.transport.sim.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportKind;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.TransportFactory;
import org.labhal.transport.sim.SimSettings;
import org.labhal.transport.sim.SimulatedInstrument;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * The in-memory {@code SIM} transport: {@code SIM::<model>[::<n>]::INSTR} reaches simulated
 * instrument number n of that model, created on first use and kept until the bundle stops, so that
 * every session to it shares its buffers exactly as sessions to one real instrument would.
 * <p>
 * Options, applied when the instrument is created: {@code delay} (processing time per program
 * message, e.g. {@code 2ms}, {@code 500us}, {@code 0}) and {@code op} (duration of
 * {@code INIT}-started operations).
 * <p>
 * {@code SIM::REPLAY::<recording>[::<n>]::INSTR} replays {@code <recording>.jsonl} from the folder of
 * recordings ({@link SimulatedInstrument#recordingsFolder}: the system or framework property
 * {@value SimulatedInstrument#RECORDINGS_PROPERTY}, else {@code recordings} in the working directory). The
 * file is read when the instance is created, at its first open; while any session to the instance is open,
 * further opens join it and it keeps replaying what it read. An open that finds it with no session open and
 * the file changed (size or modification time) reads the file again and replaces the instance. A missing
 * or bad file fails the open with a {@link LabHalException} naming the file and line.
 */
@Component(service = TransportFactory.class, property = TransportFactory.KINDS_PROPERTY + "=SIM")
public final class SimTransportFactory implements TransportFactory {
    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(us|ms|s)?", Pattern.CASE_INSENSITIVE);

    private final ConcurrentHashMap<String, SimulatedInstrument> instruments = new ConcurrentHashMap<>();
    private final Path recordings;
    /** Replays are looked up, replaced and connected to under this lock, so no open joins one being replaced. */
    private final Object replays = new Object();
    /** The size and modification time of each replay's file when it was read; guarded by {@link #replays}. */
    private final Map<String, String> stamps = new HashMap<>();
    private volatile boolean closed;

    /** A transport whose replays read recordings from {@link SimulatedInstrument#recordingsFolder} with no framework. */
    public SimTransportFactory() {
        this(SimulatedInstrument.recordingsFolder(name -> null));
    }

    /** @param context whose property {@value SimulatedInstrument#RECORDINGS_PROPERTY} names the folder of recordings */
    @Activate
    public SimTransportFactory(BundleContext context) {
        this(SimulatedInstrument.recordingsFolder(context::getProperty));
    }

    /** @param recordings the folder where {@code SIM::REPLAY::<name>::INSTR} finds {@code <name>.jsonl} */
    public SimTransportFactory(Path recordings) {
        this.recordings = recordings;
    }

    @Override
    public Set<TransportKind> kinds() {
        return Set.of(TransportKind.SIM);
    }

    @Override
    public Connection open(ResourceAddress address, Duration timeout) throws LabHalException {
        if (address.kind() != TransportKind.SIM) {
            throw new LabHalException("The SIM transport cannot open " + address.canonical());
        }
        try {
            if (address.simRecording().isPresent()) {
                synchronized (replays) {
                    return new SimConnectionAdapter(address, replay(address).connect());
                }
            }
            return new SimConnectionAdapter(address, instrument(address).connect());
        } catch (IOException e) {
            throw new ConnectionLostException(address.canonical() + " refused the connection: " + e.getMessage(), e);
        }
    }

    private SimulatedInstrument instrument(ResourceAddress address) throws LabHalException {
        String key = address.domainKey();
        SimulatedInstrument existing = instruments.get(key);
        if (existing != null) {
            return existing;
        }
        SimSettings settings = settings(address);
        String model = address.simModel().orElseThrow(); // not REPLAY: open() takes those apart
        SimulatedInstrument created;
        try {
            created = SimulatedInstrument.create(model, settings);
        } catch (IllegalArgumentException unknownModel) {
            throw new LabHalException("Cannot open " + address.canonical() + ": " + unknownModel.getMessage(),
                    unknownModel);
        }
        SimulatedInstrument raced = instruments.putIfAbsent(key, created);
        if (raced != null) {
            created.close();
            return raced;
        }
        if (closed) { // deactivated while we were creating it
            instruments.remove(key, created);
            created.close();
            throw new ConnectionLostException("The SIM transport stopped while opening " + address.canonical(), null);
        }
        return created;
    }

    /** The replay's instance, created or (no session open, file changed) replaced. Called holding {@link #replays}. */
    private SimulatedInstrument replay(ResourceAddress address) throws LabHalException {
        String key = address.domainKey();
        String name = address.simRecording().orElseThrow();
        Path file = recordings.resolve(name + SimulatedInstrument.RECORDING_SUFFIX);
        String stamp = stamp(file);
        SimulatedInstrument existing = instruments.get(key);
        if (existing != null && (existing.openConnections() > 0 || stamp.equals(stamps.get(key)))) {
            return existing;
        }
        SimulatedInstrument created;
        try {
            created = SimulatedInstrument.replay(file, settings(address));
        } catch (IOException e) {
            throw new LabHalException("Cannot open " + address.canonical() + ": " + e.getMessage(), e);
        }
        if (closed) {
            created.close();
            throw new ConnectionLostException("The SIM transport stopped while opening " + address.canonical(), null);
        }
        if (existing != null) {
            instruments.remove(key, existing);
            existing.close();
        }
        instruments.put(key, created);
        stamps.put(key, stamp);
        return created;
    }

    /** Size and modification time, to see a recording changed; empty when it cannot be read (reading then says why). */
    private static String stamp(Path file) {
        try {
            BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
            return attributes.size() + "@" + attributes.lastModifiedTime();
        } catch (IOException e) {
            return "";
        }
    }

    private static SimSettings settings(ResourceAddress address) throws LabHalException {
        SimSettings settings = SimSettings.defaults();
        for (var option : address.options().entrySet()) {
            switch (option.getKey()) {
                case "delay" -> settings = settings.withProcessingDelay(duration(address, option.getKey(), option.getValue()));
                case "op" -> settings = settings.withOperationTime(duration(address, option.getKey(), option.getValue()));
                default -> throw new LabHalException("Unknown option '" + option.getKey() + "' in "
                        + address.canonical() + ": the SIM transport knows delay and op");
            }
        }
        return settings;
    }

    private static Duration duration(ResourceAddress address, String key, String value) throws LabHalException {
        Matcher m = DURATION.matcher(value.trim());
        if (!m.matches()) {
            throw new LabHalException("Option " + key + "=" + value + " in " + address.canonical()
                    + " is not a duration: expected a whole number with an optional unit us, ms or s (default ms)");
        }
        long amount = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "ms" : m.group(2).toLowerCase(Locale.ROOT);
        return switch (unit) {
            case "us" -> Duration.ofNanos(amount * 1_000);
            case "s" -> Duration.ofSeconds(amount);
            default -> Duration.ofMillis(amount);
        };
    }

    /** Closes every simulated instrument and with them every connection: blocked callers wake. */
    @Deactivate
    public void deactivate() {
        closed = true;
        instruments.values().forEach(SimulatedInstrument::close);
        instruments.clear();
    }
}
