package org.labhal.api.trace;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import org.labhal.api.InstrumentError;

/**
 * One step as a {@link StepObserver} sees it. Immutable, except that {@link #answerData()} is the caller's
 * own array for {@code queryBytes} and {@code queryBlock} answers: an observer that keeps it beyond
 * {@link StepObserver#stepDone} must copy what it needs.
 *
 * @param start when the step began waiting for its locks
 * @param session the session's name ({@link org.labhal.api.Session#name()})
 * @param thread the name of the thread that made the step
 * @param kind what the step did
 * @param command the message sent, without its terminator; a block write's prefix; {@code null} when the
 *        step sent no message
 * @param answerText a text answer as the caller got it; {@code null} for none or a binary answer
 * @param answerData a binary answer, whole or (for a streamed block) its head; {@code null} for none or text
 * @param answerLength the whole answer's length in bytes (or characters of a text answer), -1 for none
 * @param lockWaitNanos how long the step waited for its locks
 * @param ioNanos how long the step took after its locks were held
 * @param failure why the step failed; {@code null} when it succeeded
 * @param errors the error-queue entries read within the step, oldest first
 */
public record StepRecord(Instant start, String session, String thread, StepKind kind, String command,
        String answerText, byte[] answerData, long answerLength, long lockWaitNanos, long ioNanos,
        Throwable failure, List<InstrumentError> errors) {

    /** Checks what must be there and copies the error list. */
    public StepRecord {
        Objects.requireNonNull(start, "start");
        Objects.requireNonNull(session, "session");
        Objects.requireNonNull(thread, "thread");
        Objects.requireNonNull(kind, "kind");
        errors = List.copyOf(errors);
    }

    /** @return why the step failed, if it did */
    public Optional<Throwable> failed() {
        return Optional.ofNullable(failure);
    }

    /** @return whether {@link #answerData()} holds less than the whole answer */
    public boolean answerTruncated() {
        return answerData != null && answerData.length < answerLength;
    }
}
