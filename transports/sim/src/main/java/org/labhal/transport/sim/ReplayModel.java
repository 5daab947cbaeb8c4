package org.labhal.transport.sim;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * An instrument that answers as a recorded one did ({@link Recording}). Each connection has its own
 * message exchange (error queue, status) and its own cursor per command: the n-th time a session sends a
 * recorded message it gets the n-th recorded answer, and the last one again once they are used up.
 * Commands are accepted and queue the errors recorded with them. A message never recorded is handed to
 * the command table, which knows only {@code *IDN? *RST *CLS *OPC *OPC?} and {@code SYSTem:ERRor?}: any
 * other header is -113 "Undefined header" with no answer, as on an instrument that does not know it.
 * {@code *RST}, recorded or not, also puts the session's cursors back to the start.
 */
final class ReplayModel implements DeviceModel {

    /** The model name's prefix: {@code REPLAY:<recording>}. */
    static final String PREFIX = "REPLAY:";

    /** A recording's name: a file name without folders, as the resource string allows. */
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9_\\-][A-Za-z0-9_.\\-]*");

    private static final String RESET = "*RST";
    private static final String CLEAR_STATUS = "*CLS";

    private final String name;
    private final Recording recording;
    /** Per session: how many times each recorded message was sent; used by that session's processor only. */
    private final Map<SimConnection, Map<String, Integer>> cursors = new ConcurrentHashMap<>();

    ReplayModel(String name, Recording recording) {
        this.name = name;
        this.recording = recording;
    }

    /** @return whether {@code model} names a replay, {@code REPLAY:<name>} in any case */
    static boolean names(String model) {
        return model.regionMatches(true, 0, PREFIX, 0, PREFIX.length());
    }

    /**
     * @return the recording's name in {@code REPLAY:<name>}, as written
     * @throws IllegalArgumentException when it is not a file name
     */
    static String recordingName(String model) {
        String recordingName = model.substring(PREFIX.length());
        if (!NAME.matcher(recordingName).matches()) {
            throw new IllegalArgumentException("'" + model + "' does not name a recording: expected REPLAY:<name>, "
                    + "the name of letters, digits, '_', '-' or '.', not starting with '.'");
        }
        return recordingName;
    }

    Recording recording() {
        return recording;
    }

    @Override
    public String name() {
        return PREFIX + name;
    }

    @Override
    public boolean sharesExchange() {
        return false;
    }

    @Override
    public String identification(String serialNumber) {
        return "LabHAL,REPLAY-" + name + ",0,1.0";
    }

    @Override
    public String options() {
        return "0";
    }

    @Override
    public void register(CommandTable.Builder commands) {
        // Nothing beyond the few common commands: what the recording does not hold is unknown
    }

    @Override
    public void reset() {
        // The cursors are the session's: *RST resets them in execute, for the session that sent it
    }

    @Override
    public boolean allCommonCommands() {
        return false;
    }

    @Override
    public boolean execute(Execution execution, String message) {
        String key = Recording.normalize(message);
        Map<String, Integer> session = cursors.computeIfAbsent(execution.connection(), c -> new HashMap<>());
        if (key.equals(RESET)) {
            session.clear();
        }
        List<Recording.Step> steps = recording.steps(key);
        if (steps.isEmpty()) {
            return false;
        }
        int asked = session.merge(key, 1, Integer::sum);
        Recording.Step step = steps.get(Math.min(asked, steps.size()) - 1);
        if (key.equals(CLEAR_STATUS)) {
            execution.exchange().clearStatus();
        }
        if (step.answer() != null) {
            execution.respond(step.answer());
        }
        for (String error : step.errors()) {
            execution.exchange().queueRecordedError(error);
        }
        return true;
    }

    @Override
    public void disconnected(SimConnection connection) {
        cursors.remove(connection);
    }
}
