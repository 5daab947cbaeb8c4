package org.labhal.runtime.internal.shell;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.labhal.runtime.internal.instrument.InstrumentDirectory;
import org.labhal.runtime.internal.logging.LogSetup;
import org.labhal.runtime.internal.logging.LogbackSettings;
import org.labhal.runtime.internal.trace.InstrumentTrace;
import org.labhal.runtime.internal.trace.StepStatistics;
import org.labhal.runtime.internal.trace.TracedStep;
import org.labhal.runtime.internal.trace.Traces;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The traffic commands of the {@code instr} scope: an instrument's trace ({@code trace}), its latency
 * statistics ({@code stats}), recordings a replaying simulator answers from ({@code record}) and the level of its
 * trace logger ({@code log}).
 */
@Component(service = TraceCommands.class, immediate = true)
@GogoCommand(scope = "instr", function = { "trace", "stats", "record", "log" })
public final class TraceCommands {
    /** Framework property: the folder recordings named without a path go to, and replays read from. */
    public static final String RECORDINGS = "labhal.recordings";
    private static final int SHOWN = 20;
    /** How long {@code instr:log} waits for the log backend to take a level on (it reconfigures in the background). */
    private static final Duration LEVEL_APPLIED = Duration.ofSeconds(10);
    /** Names a replay can be addressed by ({@code SIM::REPLAY::<name>::INSTR}, as ResourceAddress checks them). */
    private static final Pattern RECORDING_NAME = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}");

    private final InstrumentDirectory directory;
    private final Traces traces;
    private final Path recordings;
    private final LogSetup logging;

    /**
     * @param directory the configured instruments
     * @param traces their traces
     * @param logging sets the trace loggers' levels
     * @param context reads {@value #RECORDINGS}
     */
    @Activate
    public TraceCommands(@Reference InstrumentDirectory directory, @Reference Traces traces,
            @Reference LogSetup logging, BundleContext context) {
        this.directory = directory;
        this.traces = traces;
        this.logging = logging;
        String folder = context.getProperty(RECORDINGS);
        this.recordings = Path.of(folder == null || folder.isBlank() ? "recordings" : folder);
    }

    // ---- trace -------------------------------------------------------------------------------------------

    /**
     * @param id an instrument id
     * @return its last traced steps
     */
    @Descriptor("show the instrument's last 20 traced steps (instr:trace <id> on starts tracing)")
    public String trace(@Descriptor("instrument id") String id) {
        return show(traceOf(id), SHOWN);
    }

    /**
     * @param id an instrument id
     * @param what on, off, or how many steps to show
     * @return what happened, or the steps
     */
    @Descriptor("switch the instrument's trace on or off, or show its last n steps")
    public String trace(@Descriptor("instrument id") String id, @Descriptor("on, off or a number of steps") String what) {
        InstrumentTrace trace = traceOf(id);
        switch (what.toLowerCase(Locale.ROOT)) {
            case "on" -> {
                trace.trace(true);
                return trace.instrumentId() + ": trace on; the last " + trace.capacity() + " steps are kept "
                        + "(instr:trace " + trace.instrumentId() + " shows them) and logged at debug under "
                        + Traces.LOGGER_PREFIX + trace.instrumentId();
            }
            case "off" -> {
                trace.trace(false);
                return trace.instrumentId() + ": trace off; the steps kept so far stay to be read";
            }
            case "export" -> throw new IllegalArgumentException("give the file to write: instr:trace "
                    + trace.instrumentId() + " export <file>");
            default -> {
                return show(trace, count(what));
            }
        }
    }

    /**
     * @param id an instrument id
     * @param export the word export
     * @param file where to write
     * @return what was written
     * @throws IOException when the file cannot be written
     */
    @Descriptor("write the instrument's kept steps to a file, one JSON object per line")
    public String trace(@Descriptor("instrument id") String id, @Descriptor("export") String export,
            @Descriptor("the file to write") String file) throws IOException {
        if (!export.equalsIgnoreCase("export")) {
            throw new IllegalArgumentException("expected instr:trace <id> export <file>, got '" + export + "'");
        }
        InstrumentTrace trace = traceOf(id);
        Path target = Path.of(file).toAbsolutePath();
        return trace.instrumentId() + ": " + trace.export(target) + " steps written to " + target;
    }

    private static String show(InstrumentTrace trace, int n) {
        List<TracedStep> steps = trace.last(n);
        if (steps.isEmpty()) {
            return trace.instrumentId() + ": no traced steps" + (trace.tracing() ? " yet"
                    : "; the trace is off (instr:trace " + trace.instrumentId() + " on)");
        }
        List<String> lines = new ArrayList<>();
        steps.forEach(step -> lines.add(step.describe()));
        if (!trace.tracing()) {
            lines.add("(trace off: these are the steps kept while it was on)");
        }
        return String.join("\n", lines);
    }

    private static int count(String text) {
        try {
            int n = Integer.parseInt(text);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("expected on, off or a positive number of steps, got '" + text + "'");
    }

    // ---- statistics --------------------------------------------------------------------------------------

    /**
     * @param id an instrument id
     * @return its latency statistics per kind of step
     */
    @Descriptor("show the instrument's step latencies per kind of step: count, p50, p99, max, lock-wait share")
    public String stats(@Descriptor("instrument id") String id) {
        InstrumentTrace trace = traceOf(id);
        List<StepStatistics> all = trace.statistics();
        if (all.isEmpty()) {
            return trace.instrumentId() + ": no steps yet";
        }
        Table table = new Table("STEP", "COUNT", "FAILED", "P50", "P99", "MAX", "LOCK WAIT");
        for (StepStatistics kind : all) {
            table.row(kind.kind(), kind.count(), kind.failures(), micros(kind.p50Nanos()), micros(kind.p99Nanos()),
                    micros(kind.maxNanos()), String.format(Locale.ROOT, "%.1f%%", kind.lockWaitShare() * 100));
        }
        return trace.instrumentId() + " (lock wait included in the times)\n" + table;
    }

    /**
     * @param id an instrument id
     * @param reset the word reset
     * @return what happened
     */
    @Descriptor("instr:stats <id> reset starts the instrument's statistics afresh")
    public String stats(@Descriptor("instrument id") String id, @Descriptor("reset") String reset) {
        if (!reset.equalsIgnoreCase("reset")) {
            throw new IllegalArgumentException("expected instr:stats <id> reset, got '" + reset + "'");
        }
        InstrumentTrace trace = traceOf(id);
        trace.resetStatistics();
        return trace.instrumentId() + ": statistics reset";
    }

    private static String micros(long nanos) {
        double us = nanos / 1000.0;
        return us >= 10_000 ? String.format(Locale.ROOT, "%.1f ms", us / 1000)
                : String.format(Locale.ROOT, "%.0f us", us);
    }

    // ---- recording ---------------------------------------------------------------------------------------

    /**
     * @param id an instrument id
     * @param target a recording name, a file, or stop
     * @return what happened
     * @throws IOException when the file cannot be created
     * @throws InterruptedException when interrupted while a stopped recording is written
     */
    @Descriptor("record every step of the instrument, whole answers included, for SIM::REPLAY::<name>::INSTR; "
            + "instr:record <id> stop ends it")
    public String record(@Descriptor("instrument id") String id,
            @Descriptor("a name (written to the recordings folder as <name>.jsonl), a file path, or stop") String target)
            throws IOException, InterruptedException {
        InstrumentTrace trace = traceOf(id);
        if (target.equalsIgnoreCase("stop")) {
            return trace.instrumentId() + ": recorded " + trace.stopRecording();
        }
        Path file = recordingFile(target);
        trace.record(file);
        String name = file.getFileName().toString().replaceFirst("\\.jsonl$", "");
        boolean replayable = file.getParent().equals(recordings.toAbsolutePath().normalize());
        return trace.instrumentId() + ": recording to " + file + "; instr:record " + trace.instrumentId()
                + " stop ends it" + (replayable ? "; then SIM::REPLAY::" + name + "::INSTR answers from it" : "");
    }

    /**
     * A bare name ({@code bench-a} or {@code bench-a.jsonl}) goes to the recordings folder as {@code <name>.jsonl},
     * where {@code SIM::REPLAY::<name>::INSTR} finds it; anything with a folder stays as given.
     *
     * @throws IllegalArgumentException for a bare name a replay could not be named by
     */
    Path recordingFile(String target) {
        Path given = Path.of(target);
        if (given.getParent() != null) {
            return given.toAbsolutePath().normalize();
        }
        String name = target.endsWith(".jsonl") ? target.substring(0, target.length() - ".jsonl".length()) : target;
        if (!RECORDING_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + target + "' cannot name a recording: use 1-128 letters, digits, "
                    + "'_', '-' or '.', not starting with '.' (as in SIM::REPLAY::<name>::INSTR), or give a path");
        }
        return recordings.toAbsolutePath().normalize().resolve(name + ".jsonl");
    }

    // ---- log levels --------------------------------------------------------------------------------------

    /**
     * @param id an instrument id
     * @param level the level of its trace logger
     * @return what happened
     * @throws IOException when the log configuration cannot be written
     * @throws InterruptedException when interrupted while the log backend takes the level on
     */
    @Descriptor("set the level of the instrument's trace logger (org.labhal.trace.<id>): debug logs every traced "
            + "step; off, error, warn, info, debug, trace")
    public String log(@Descriptor("instrument id") String id, @Descriptor("level, e.g. debug or info") String level)
            throws IOException, InterruptedException {
        InstrumentTrace trace = traceOf(id);
        LogbackSettings.Level wanted = level.isBlank() ? null : LogbackSettings.level(level, "level");
        if (wanted == null) {
            throw new IllegalArgumentException("level must be one of off, error, warn, info, debug, trace, got '"
                    + level + "'");
        }
        String logger = Traces.LOGGER_PREFIX + trace.instrumentId();
        logging.setLevel(logger, wanted, LEVEL_APPLIED);
        return trace.instrumentId() + ": logger " + logger + " at " + wanted
                + (trace.tracing() ? "" : "; its trace is off, so it logs nothing until instr:trace "
                        + trace.instrumentId() + " on");
    }

    /**
     * @return the trace of a configured instrument, or of one whose configuration is gone (its kept steps and
     *         a recording still running stay reachable)
     */
    private InstrumentTrace traceOf(String id) {
        return directory.find(id).map(connection -> traces.of(connection.settings().id()))
                .or(() -> traces.find(id)).orElseThrow(() -> directory.unknown(id));
    }
}
