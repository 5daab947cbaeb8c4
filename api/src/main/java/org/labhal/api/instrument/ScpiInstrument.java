package org.labhal.api.instrument;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

import org.labhal.api.InstrumentError;
import org.labhal.api.InstrumentErrorException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.Session;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.SessionLock;

/**
 * The generic SCPI / IEEE 488.2 layer every driver builds on: identity, options, reset, status, the
 * error queue and operation-complete synchronisation, over one {@link Session}. Drivers wrap it (it is
 * final); the runtime makes one per connected instrument and hands the same one to every driver it
 * binds. Thread-safe: every method is one atomic step, or a few under one lease.
 *
 * <h2>Operation-complete synchronisation</h2>
 * {@link #writeAndWait(String)} has its own OPC timeout ({@link ModelQuirks#opcTimeout()}), separate from
 * the session's I/O timeout.
 * <ul>
 * <li>Polling ({@link ModelQuirks#opcPolling()}): one step reads and clears {@code *ESR?} and sends
 * {@code <command>;*OPC}; then short {@code *ESR?} steps poll for the operation-complete bit, with the
 * lock free in between, so other steps use the instrument while it works. Operations started through
 * one {@code ScpiInstrument} wait for each other, because they share the status register.</li>
 * <li>Blocking (no polling, or the caller already holds the session lock): one
 * {@code <command>;*OPC?} step holds the lock until the instrument answers, at most the OPC timeout.
 * The longer timeout applies to that step only; other threads' steps on the session keep theirs.</li>
 * </ul>
 * {@code *CLS} and device clear cancel a pending {@code *OPC}; sent meanwhile from elsewhere, they make
 * a polling wait end in {@link OperationTimeoutException}.
 */
public final class ScpiInstrument {
    /** Event status register bit 0: operation complete. */
    private static final int ESR_OPC = 1;
    private static final long FIRST_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long MAX_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final Session session;
    private final ModelQuirks quirks;
    /** Held by the one polling wait in progress: the OPC bit it waits for is shared. */
    private final ReentrantLock operations = new ReentrantLock(true);
    private volatile Identity identity;

    /**
     * @param session the session to talk through; it stays the caller's to close
     * @param quirks the model's quirks (OPC timeout and polling)
     */
    public ScpiInstrument(Session session, ModelQuirks quirks) {
        this.session = Objects.requireNonNull(session, "session");
        this.quirks = Objects.requireNonNull(quirks, "quirks");
    }

    /**
     * For an instrument whose {@code *IDN?} was already read, e.g. to pick its model.
     *
     * @param session the session to talk through; it stays the caller's to close
     * @param quirks the model's quirks (OPC timeout and polling)
     * @param identity what the instrument answered to {@code *IDN?}
     */
    public ScpiInstrument(Session session, ModelQuirks quirks, Identity identity) {
        this(session, quirks);
        this.identity = Objects.requireNonNull(identity, "identity");
    }

    /** @return the session this instrument talks through */
    public Session session() {
        return session;
    }

    /** @return the model quirks in force */
    public ModelQuirks quirks() {
        return quirks;
    }

    /**
     * @return the parsed {@code *IDN?}, asked once and then remembered
     * @throws LabHalException when the query fails or the answer is not an identity
     */
    public Identity identity() throws LabHalException {
        Identity known = identity;
        if (known == null) {
            String answer = session.query("*IDN?");
            try {
                known = Identity.parse(answer);
            } catch (IllegalArgumentException e) {
                throw new LabHalException(resource() + ": " + e.getMessage(), e);
            }
            identity = known;
        }
        return known;
    }

    /**
     * @return the installed options from {@code *OPT?}, without quotes; empty when the answer is
     *         {@code 0}, {@code ""} or empty
     * @throws LabHalException when the query fails
     */
    public List<String> options() throws LabHalException {
        String answer = session.query("*OPT?").strip();
        return Arrays.stream(answer.split(","))
                .map(option -> option.replace("\"", "").strip())
                .filter(option -> !option.isEmpty() && !option.equals("0"))
                .toList();
    }

    /**
     * Sends a command as one step.
     *
     * @param command the SCPI command
     * @throws LabHalException as {@link Session#write(String)}
     */
    public void write(String command) throws LabHalException {
        session.write(command);
    }

    /**
     * Sends a query as one step.
     *
     * @param query the SCPI query
     * @return the answer
     * @throws LabHalException as {@link Session#query(String)}
     */
    public String query(String query) throws LabHalException {
        return session.query(query);
    }

    /**
     * @param query a query answering one number (NR1, NR2 or NR3)
     * @return the number
     * @throws LabHalException when the query fails or the answer is not one number
     */
    public double queryDouble(String query) throws LabHalException {
        String answer = session.query(query).strip();
        try {
            return Double.parseDouble(answer);
        } catch (NumberFormatException e) {
            throw new LabHalException(resource() + ": answer to \"" + query + "\" is not a number: \"" + answer + "\"",
                    e);
        }
    }

    /**
     * @param query a query answering one integer (NR1), e.g. {@code *ESR?}
     * @return the integer
     * @throws LabHalException when the query fails or the answer is not one integer
     */
    public int queryInt(String query) throws LabHalException {
        return parseInt(query, session.query(query));
    }

    /**
     * @param query a query answering 0/1 or OFF/ON
     * @return the state
     * @throws LabHalException when the query fails or the answer is not a boolean
     */
    public boolean queryBoolean(String query) throws LabHalException {
        String answer = session.query(query).strip();
        return switch (answer.toUpperCase(Locale.ROOT)) {
            case "1", "ON" -> true;
            case "0", "OFF" -> false;
            default -> throw new LabHalException(resource() + ": answer to \"" + query + "\" is not 0/1/ON/OFF: \""
                    + answer + "\"");
        };
    }

    /**
     * Resets the instrument ({@code *RST}) and waits for completion.
     *
     * @throws OperationTimeoutException when the reset did not complete within the OPC timeout
     * @throws LabHalException when a step fails
     */
    public void reset() throws LabHalException {
        writeAndWait("*RST");
    }

    /**
     * Clears the status registers and the error queue ({@code *CLS}). This also cancels a pending
     * {@code *OPC}, so do not call it while another thread waits in {@link #writeAndWait}.
     *
     * @throws LabHalException when the write fails
     */
    public void clearStatus() throws LabHalException {
        session.write("*CLS");
    }

    /**
     * @return the whole error queue, oldest first; empty when there were no errors
     * @throws LabHalException when reading it fails
     */
    public List<InstrumentError> errors() throws LabHalException {
        return session.errors();
    }

    /**
     * As {@link #writeAndWait(String, Duration)} with the model's {@link ModelQuirks#opcTimeout()}.
     *
     * @param command a command that starts an overlapped operation, e.g. {@code INIT}; not a query
     * @throws OperationTimeoutException when completion was not reported within the OPC timeout
     * @throws LabHalException when a step fails
     */
    public void writeAndWait(String command) throws LabHalException {
        writeAndWait(command, quirks.opcTimeout());
    }

    /**
     * Sends a command that starts an overlapped operation and waits until the instrument reports it
     * complete, at most {@code opcTimeout} (waiting for the lock is bounded separately, by the session's
     * lock timeout). See the class description for polling and blocking. With the session's error
     * checking on, the error queue is read once the operation is complete.
     *
     * @param command a command that starts an overlapped operation, e.g. {@code INIT}; not a query
     * @param opcTimeout how long the operation may take, positive; e.g. longer than the model's
     *        OPC timeout for a long sweep
     * @throws OperationTimeoutException when completion was not reported within {@code opcTimeout}; the
     *         operation may still be running on the instrument
     * @throws org.labhal.api.InstrumentErrorException when error checking found errors
     * @throws StepInterruptedException when interrupted while waiting; the interrupt status is set
     * @throws LabHalException when a step fails
     */
    public void writeAndWait(String command, Duration opcTimeout) throws LabHalException {
        Objects.requireNonNull(command, "command");
        Objects.requireNonNull(opcTimeout, "opcTimeout");
        if (opcTimeout.isNegative() || opcTimeout.isZero()) {
            throw new IllegalArgumentException("opcTimeout must be positive, got " + opcTimeout);
        }
        // Polling under a lease the caller holds would keep the lock anyway, and waiting for another
        // thread's polling wait while holding it could stall that thread's polls.
        if (quirks.opcPolling() && !session.lock().isHeldByCurrentThread()) {
            waitPolling(command, opcTimeout);
        } else {
            waitBlocking(command, opcTimeout);
        }
    }

    /**
     * One {@code *OPC?} step on a handle of its own, so the longer I/O timeout it needs is never seen by
     * other threads' steps on {@link #session}; the handle shares the session's connection and lock.
     */
    private void waitBlocking(String command, Duration timeout) throws LabHalException {
        try (Session waiter = session.share()) {
            waiter.setIoTimeout(timeout);
            waiter.query(command + ";*OPC?");
        } catch (IoTimeoutException e) {
            throw notComplete(command, timeout, e);
        }
    }

    private void waitPolling(String command, Duration timeout) throws LabHalException {
        long deadline = System.nanoTime() + toNanos(timeout);
        awaitTurn(command, timeout);
        // Polls use their own handle without error checking: an *ESR? poll cannot cause errors, and
        // reading the error queue on every poll would only slow the instrument down.
        try (Session poller = session.share()) {
            poller.setErrorChecking(false);
            try (Lease lease = lease(poller.lock(), "start " + command)) {
                eventStatus(poller); // read and clear, so a stale OPC bit cannot end the wait early
                session.write(command + ";*OPC");
            }
            long pause = FIRST_POLL_NANOS;
            while ((eventStatus(poller) & ESR_OPC) == 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw notComplete(command, timeout, null);
                }
                sleep(Math.min(pause, left), command); // the lock is free meanwhile
                pause = Math.min(pause * 2, MAX_POLL_NANOS);
            }
            if (session.errorChecking()) {
                List<InstrumentError> errors = poller.errors();
                if (!errors.isEmpty()) {
                    throw new InstrumentErrorException(resource(), command, errors);
                }
            }
        } finally {
            operations.unlock();
        }
    }

    /** Waits for an earlier polling wait on this instrument to finish; counts against the OPC timeout. */
    private void awaitTurn(String command, Duration timeout) throws LabHalException {
        try {
            if (!operations.tryLock(toNanos(timeout), TimeUnit.NANOSECONDS)) {
                throw new OperationTimeoutException(resource() + ": \"" + command + "\" was not started within "
                        + timeout.toMillis() + " ms because earlier operations on it were still running", timeout);
            }
        } catch (InterruptedException e) {
            throw interrupted("Interrupted waiting to start \"" + command + "\" on " + resource(), e);
        }
    }

    private int eventStatus(Session poller) throws LabHalException {
        return parseInt("*ESR?", poller.query("*ESR?"));
    }

    private void sleep(long nanos, String command) throws StepInterruptedException {
        try {
            TimeUnit.NANOSECONDS.sleep(nanos);
        } catch (InterruptedException e) {
            throw interrupted("Interrupted waiting for \"" + command + "\" to complete on " + resource(), e);
        }
    }

    private Lease lease(SessionLock lock, String activity) throws LabHalException {
        try {
            return lock.acquire(session.lockTimeout(), session.priority(), activity);
        } catch (InterruptedException e) {
            throw interrupted("Interrupted waiting for lock '" + lock.name() + "' to " + activity + " on "
                    + resource(), e);
        }
    }

    private int parseInt(String query, String answer) throws LabHalException {
        String text = answer.strip();
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new LabHalException(resource() + ": answer to \"" + query + "\" is not an integer: \"" + text + "\"",
                    e);
        }
    }

    private OperationTimeoutException notComplete(String command, Duration timeout, Throwable cause) {
        return new OperationTimeoutException(resource() + ": \"" + command + "\" did not complete within "
                + timeout.toMillis() + " ms (OPC timeout)", timeout, cause);
    }

    private static StepInterruptedException interrupted(String message, InterruptedException e) {
        Thread.currentThread().interrupt();
        return new StepInterruptedException(message, e);
    }

    private String resource() {
        return session.address().canonical();
    }

    private static long toNanos(Duration duration) {
        try {
            return duration.toNanos();
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE / 2;
        }
    }

    @Override
    public String toString() {
        return "ScpiInstrument[" + session.name() + ", " + (identity == null ? "not identified" : identity) + "]";
    }
}
