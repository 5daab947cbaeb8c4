package org.labhal.runtime.internal.trace;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.InstrumentError;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.SessionClosedException;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.lock.DeadlockException;
import org.labhal.api.lock.LockTimeoutException;
import org.labhal.api.trace.StepKind;
import org.labhal.api.trace.StepRecord;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

/**
 * One traced step as the trace keeps it: the command and answer excerpted (binary answers as their length
 * and a head), so a trace's memory is bounded by its length whatever the instrument sends.
 *
 * @param seq the step's number in its instrument's trace, from 1
 * @param time when the step began waiting for its locks
 * @param instrument the instrument id
 * @param session the session's name
 * @param thread the name of the thread that made it
 * @param kind what it did
 * @param command what it sent (excerpted), or {@code null}
 * @param answer a text answer (excerpted) or, when {@code binary}, the base64 of the binary answer's head;
 *        {@code null} for none
 * @param binary whether the answer is binary
 * @param answerBytes the whole answer's length, -1 for none
 * @param truncated whether {@code answer} holds less than the whole answer
 * @param lockWaitNanos how long it waited for its locks
 * @param ioNanos how long it took once it held them
 * @param outcome {@code ok}, {@code error}, {@code timeout}, {@code lock-timeout}, {@code deadlock},
 *        {@code interrupted} or {@code closed}
 * @param error the failure's message, {@code null} when ok
 * @param errors the error-queue entries read within the step, as the instrument wrote them
 */
public record TracedStep(long seq, Instant time, String instrument, String session, String thread, StepKind kind,
        String command, String answer, boolean binary, long answerBytes, boolean truncated, long lockWaitNanos,
        long ioNanos, String outcome, String error, List<String> errors) {

    /** Characters of a command or text answer a trace keeps. */
    public static final int TEXT_EXCERPT = 200;
    /** Bytes of a binary answer a trace keeps. */
    public static final int BINARY_EXCERPT = 48;
    /** Characters or bytes of an answer a recording keeps: enough for the answers replay is for. */
    public static final int RECORDED_ANSWER = 1 << 20;
    /** Characters of a failure's message kept (a malformed answer is quoted in its message). */
    public static final int MESSAGE_EXCERPT = 1000;
    /** Error-queue entries kept, and characters of each. */
    public static final int ERRORS_KEPT = 10;

    /**
     * @param seq the step's number in its trace
     * @param instrument the instrument id
     * @param step what the session reported
     * @param textLimit characters of text kept
     * @param binaryLimit bytes of a binary answer kept
     * @return the step as a trace or recording keeps it
     */
    static TracedStep of(long seq, String instrument, StepRecord step, int textLimit, int binaryLimit) {
        String answer = null;
        boolean binary = false;
        boolean truncated = false;
        if (step.answerText() != null) {
            String text = step.answerText();
            truncated = text.length() > textLimit;
            answer = cut(text, textLimit);
        } else if (step.answerData() != null) {
            byte[] data = step.answerData();
            int kept = Math.min(data.length, binaryLimit);
            binary = true;
            truncated = kept < step.answerLength();
            answer = Base64.getEncoder().encodeToString(kept == data.length ? data : Arrays.copyOf(data, kept));
        }
        Throwable failure = step.failure();
        return new TracedStep(seq, step.start(), instrument, step.session(), step.thread(), step.kind(),
                cut(step.command(), textLimit), answer, binary, step.answerLength(), truncated, step.lockWaitNanos(),
                step.ioNanos(), outcome(failure),
                failure == null ? null : cut(String.valueOf(failure.getMessage()), MESSAGE_EXCERPT),
                errors(step.errors()));
    }

    /** @return at most {@link #ERRORS_KEPT} entries, each cut to {@link #TEXT_EXCERPT} characters */
    private static List<String> errors(List<InstrumentError> errors) {
        if (errors.isEmpty()) {
            return List.of();
        }
        return errors.stream().limit(ERRORS_KEPT).map(e -> cut(e.toString(), TEXT_EXCERPT)).toList();
    }

    /**
     * @return the text's first {@code limit} characters, or one fewer where the cut would split a surrogate pair
     *         (half a pair is not text: no UTF-8 writer can write it); {@code null} for {@code null}
     */
    static String cut(String text, int limit) {
        if (text == null || text.length() <= limit) {
            return text;
        }
        int end = Character.isHighSurrogate(text.charAt(limit - 1)) ? limit - 1 : limit;
        return text.substring(0, end);
    }

    /** @return the outcome word for a step that ended so */
    static String outcome(Throwable failure) {
        if (failure == null) {
            return "ok";
        } else if (failure instanceof DeadlockException) {
            return "deadlock";
        } else if (failure instanceof LockTimeoutException) {
            return "lock-timeout";
        } else if (failure instanceof IoTimeoutException) {
            return "timeout";
        } else if (failure instanceof StepInterruptedException) {
            return "interrupted";
        } else if (failure instanceof SessionClosedException || failure instanceof ConnectionLostException) {
            return "closed";
        }
        return "error";
    }

    /** @return whether the step succeeded */
    public boolean ok() {
        return error == null;
    }

    /** @return the answer's bytes when binary, its text's ISO 8859-1 bytes otherwise; empty for none */
    public byte[] answerData() {
        if (answer == null) {
            return new byte[0];
        }
        return binary ? Base64.getDecoder().decode(answer) : answer.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** @return the step as one JSON object, the line format of trace exports and recordings */
    public JsonObject toJsonObject() {
        JsonObject json = new JsonObject();
        json.addProperty("seq", seq);
        json.addProperty("time", time.toString());
        json.addProperty("instrument", instrument);
        json.addProperty("session", session);
        json.addProperty("thread", thread);
        json.addProperty("kind", kind.name());
        if (command != null) {
            json.addProperty("command", command);
        }
        if (answer != null) {
            json.addProperty(binary ? "answerBase64" : "answer", answer);
        }
        if (answerBytes >= 0) {
            json.addProperty("answerBytes", answerBytes);
        }
        if (truncated) {
            json.addProperty("truncated", true);
        }
        json.addProperty("lockWaitUs", TimeUnit.NANOSECONDS.toMicros(lockWaitNanos));
        json.addProperty("ioUs", TimeUnit.NANOSECONDS.toMicros(ioNanos));
        json.addProperty("outcome", outcome);
        if (error != null) {
            json.addProperty("error", error);
        }
        JsonArray entries = new JsonArray();
        errors.forEach(entries::add);
        json.add("errors", entries);
        return json;
    }

    /** @return the step as one line of JSON, without a line end */
    public String toJson() {
        return toJsonObject().toString();
    }

    /** @return the step as one line for the shell */
    public String describe() {
        StringBuilder line = new StringBuilder();
        line.append(seq).append(' ').append(time).append(' ').append(kind).append(' ').append(session).append(" [")
                .append(thread).append(']');
        if (command != null) {
            line.append(" > ").append(printable(command));
        }
        if (answer != null) {
            line.append(" < ").append(binary ? "<" + answerBytes + " bytes, base64 " + answer + ">" : printable(answer));
            if (truncated && !binary) {
                line.append("... (").append(answerBytes).append(" characters)");
            }
        }
        line.append(" lock ").append(micros(lockWaitNanos)).append(" io ").append(micros(ioNanos)).append(' ')
                .append(outcome);
        if (error != null) {
            line.append(": ").append(error);
        }
        if (!errors.isEmpty() && error == null) {
            line.append(" errors ").append(errors);
        }
        return line.toString();
    }

    private static String micros(long nanos) {
        return TimeUnit.NANOSECONDS.toMicros(nanos) + "us";
    }

    /** Control characters shown escaped, so an answer can neither break a line nor hide in one. */
    private static String printable(String text) {
        StringBuilder out = new StringBuilder(text.length() + 2).append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7F) {
                out.append(String.format("\\x%02x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }
}
