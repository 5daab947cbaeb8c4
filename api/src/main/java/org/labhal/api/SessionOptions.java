package org.labhal.api;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

import org.labhal.api.lock.LockPolicy;
import org.labhal.api.lock.Priority;
import org.labhal.api.trace.StepObserver;

/**
 * How a session is opened: its lock policy, its timeouts and whether it checks the error queue.
 * Immutable; start from {@link #defaults()} and change what you need:
 *
 * <pre>{@code
 * SessionOptions options = SessionOptions.defaults()
 *         .withLockPolicy(LockPolicy.INDEPENDENT_SESSIONS)
 *         .withIoTimeout(Duration.ofSeconds(2))
 *         .withErrorChecking(true);
 * }</pre>
 */
public final class SessionOptions {
    private static final SessionOptions DEFAULTS = new SessionOptions(LockPolicy.SHARED_BUFFER,
            Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(5), false, Priority.NORMAL, false,
            16L << 20, null, null);
    /** The most an answer collected in memory may be: what fits in one byte array. */
    public static final long MAX_ANSWER_LIMIT = Integer.MAX_VALUE - 8;

    private final LockPolicy lockPolicy;
    private final Duration ioTimeout;
    private final Duration lockTimeout;
    private final Duration openTimeout;
    private final boolean errorChecking;
    private final Priority priority;
    private final boolean instrumentLock;
    private final long maxAnswerSize;
    private final String lockDomain;
    private final StepObserver stepObserver;

    private SessionOptions(LockPolicy lockPolicy, Duration ioTimeout, Duration lockTimeout, Duration openTimeout,
            boolean errorChecking, Priority priority, boolean instrumentLock, long maxAnswerSize, String lockDomain,
            StepObserver stepObserver) {
        this.lockPolicy = Objects.requireNonNull(lockPolicy, "lockPolicy");
        this.ioTimeout = positive(ioTimeout, "ioTimeout");
        this.lockTimeout = notNegative(lockTimeout, "lockTimeout");
        this.openTimeout = positive(openTimeout, "openTimeout");
        this.errorChecking = errorChecking;
        this.priority = Objects.requireNonNull(priority, "priority");
        this.instrumentLock = instrumentLock;
        this.maxAnswerSize = answerLimit(maxAnswerSize);
        this.lockDomain = lockDomain;
        this.stepObserver = stepObserver;
    }

    /**
     * @return {@link LockPolicy#SHARED_BUFFER} (the safe choice for an unknown instrument), 5 s I/O
     *         timeout, 10 s lock timeout, 5 s open timeout, no error checking, normal priority, steps
     *         under the session lock only, answers up to 16 MiB
     */
    public static SessionOptions defaults() {
        return DEFAULTS;
    }

    /** @return how sessions to the same instrument share locks and connections */
    public LockPolicy lockPolicy() {
        return lockPolicy;
    }

    /**
     * @return the longest one transfer may take as a whole: writing a command, reading an answer
     *         (however slowly its bytes trickle in), each 64 KiB piece of a binary block
     */
    public Duration ioTimeout() {
        return ioTimeout;
    }

    /** @return the longest a step waits for the session lock, separate from the I/O timeout */
    public Duration lockTimeout() {
        return lockTimeout;
    }

    /** @return the longest opening the connection may take */
    public Duration openTimeout() {
        return openTimeout;
    }

    /** @return whether each write and query is followed by an error-queue check */
    public boolean errorChecking() {
        return errorChecking;
    }

    /** @return the priority the session's steps wait for the lock with */
    public Priority priority() {
        return priority;
    }

    /**
     * @param policy the lock policy
     * @return a copy with that policy
     */
    public SessionOptions withLockPolicy(LockPolicy policy) {
        return new SessionOptions(policy, ioTimeout, lockTimeout, openTimeout, errorChecking, priority,
                instrumentLock, maxAnswerSize, lockDomain, stepObserver);
    }

    /**
     * @param timeout the I/O timeout, positive
     * @return a copy with that I/O timeout
     */
    public SessionOptions withIoTimeout(Duration timeout) {
        return new SessionOptions(lockPolicy, timeout, lockTimeout, openTimeout, errorChecking, priority,
                instrumentLock, maxAnswerSize, lockDomain, stepObserver);
    }

    /**
     * @param timeout the lock-wait timeout, zero (try once) or positive
     * @return a copy with that lock timeout
     */
    public SessionOptions withLockTimeout(Duration timeout) {
        return new SessionOptions(lockPolicy, ioTimeout, timeout, openTimeout, errorChecking, priority,
                instrumentLock, maxAnswerSize, lockDomain, stepObserver);
    }

    /**
     * @param timeout the open timeout, positive
     * @return a copy with that open timeout
     */
    public SessionOptions withOpenTimeout(Duration timeout) {
        return new SessionOptions(lockPolicy, ioTimeout, lockTimeout, timeout, errorChecking, priority,
                instrumentLock, maxAnswerSize, lockDomain, stepObserver);
    }

    /**
     * @param enabled whether to check the error queue after each write and query
     * @return a copy with error checking switched accordingly
     */
    public SessionOptions withErrorChecking(boolean enabled) {
        return new SessionOptions(lockPolicy, ioTimeout, lockTimeout, openTimeout, enabled, priority,
                instrumentLock, maxAnswerSize, lockDomain, stepObserver);
    }

    /**
     * @param stepPriority the priority steps wait for the lock with
     * @return a copy with that priority
     */
    public SessionOptions withPriority(Priority stepPriority) {
        return new SessionOptions(lockPolicy, ioTimeout, lockTimeout, openTimeout, errorChecking, stepPriority,
                instrumentLock, maxAnswerSize, lockDomain, stepObserver);
    }

    /** @return whether every step takes the instrument-side lock too, see {@link #withInstrumentLock} */
    public boolean instrumentLock() {
        return instrumentLock;
    }

    /**
     * Makes every step of the session take both lock layers, as
     * {@link Session#lockInstrument(Duration) lockInstrument(lockTimeout)} does: the session lock, then
     * the exclusive instrument-side lock, released in reverse order when the step ends (inside a
     * {@code lockInstrument} lease a step only re-enters both). Each step then costs the lock and
     * unlock exchanges on top of its own; the lock timeout bounds both waits. Opening such a session
     * over a transport without instrument-side locks fails with
     * {@link InstrumentLockUnsupportedException}. A release that fails at the end of a step closes
     * the connection, as described at {@link Session#lockInstrument(Duration, String)}.
     *
     * @param enabled whether steps take the instrument-side lock too
     * @return a copy with that setting
     */
    public SessionOptions withInstrumentLock(boolean enabled) {
        return new SessionOptions(lockPolicy, ioTimeout, lockTimeout, openTimeout, errorChecking, priority,
                enabled, maxAnswerSize, lockDomain, stepObserver);
    }

    /**
     * @return the most bytes one answer collected in memory may have: a text answer, a
     *         {@link Session#queryBytes} answer, an indefinite-length block read into an array. A
     *         definite-length block read with {@link Session#queryBlock} is bounded by its own header;
     *         one streamed to a sink is not held in memory at all
     */
    public long maxAnswerSize() {
        return maxAnswerSize;
    }

    /**
     * @param bytes the most bytes one answer collected in memory may have, 1 to
     *        {@link #MAX_ANSWER_LIMIT}; a longer answer fails with {@link AnswerTooLargeException}
     * @return a copy with that limit
     */
    public SessionOptions withMaxAnswerSize(long bytes) {
        return new SessionOptions(lockPolicy, ioTimeout, lockTimeout, openTimeout, errorChecking, priority,
                instrumentLock, bytes, lockDomain, stepObserver);
    }

    /**
     * @return the lock domain sessions opened with these options share locks in, when it is not the
     *         one their resource names ({@link ResourceAddress#domainKey()}); empty for the resource's own
     * @since 1.3
     */
    public Optional<String> lockDomain() {
        return Optional.ofNullable(lockDomain);
    }

    /**
     * Names the lock domain instead of the resource's {@link ResourceAddress#domainKey() domain key}. A serial
     * device server, say, serves several instruments on one host (ports 4001, 4002, ...), which the host
     * alone would put in one domain; giving each its own domain lets them work in parallel, and giving two
     * resources one domain makes them share a lock. Sessions with the same domain and a policy that shares
     * locks share one lock.
     *
     * @param domain the domain key; {@code null} for the resource's own
     * @return a copy with that domain
     * @throws IllegalArgumentException when {@code domain} is blank or has whitespace at its ends
     * @since 1.3
     */
    public SessionOptions withLockDomain(String domain) {
        if (domain != null && (domain.isBlank() || !domain.strip().equals(domain))) {
            throw new IllegalArgumentException("lock domain must be a non-blank key without surrounding whitespace, got '"
                    + domain + "'");
        }
        return new SessionOptions(lockPolicy, ioTimeout, lockTimeout, openTimeout, errorChecking, priority,
                instrumentLock, maxAnswerSize, domain, stepObserver);
    }

    /**
     * @return who is told of every step of sessions opened with these options; empty for nobody
     * @since 1.4
     */
    public Optional<StepObserver> stepObserver() {
        return Optional.ofNullable(stepObserver);
    }

    /**
     * Has every step of the session reported to an observer, after it has given back its locks: its
     * timings, the message, the answer and how it ended. A session without one measures nothing.
     *
     * @param observer who is told; {@code null} for nobody
     * @return a copy with that observer
     * @since 1.4
     */
    public SessionOptions withStepObserver(StepObserver observer) {
        return new SessionOptions(lockPolicy, ioTimeout, lockTimeout, openTimeout, errorChecking, priority,
                instrumentLock, maxAnswerSize, lockDomain, observer);
    }

    static long answerLimit(long bytes) {
        if (bytes < 1 || bytes > MAX_ANSWER_LIMIT) {
            throw new IllegalArgumentException("maxAnswerSize must be 1 to " + MAX_ANSWER_LIMIT + " bytes, got " + bytes);
        }
        return bytes;
    }

    static Duration positive(Duration value, String what) {
        Objects.requireNonNull(value, what);
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(what + " must be positive, got " + value);
        }
        return value;
    }

    static Duration notNegative(Duration value, String what) {
        Objects.requireNonNull(value, what);
        if (value.isNegative()) {
            throw new IllegalArgumentException(what + " must not be negative, got " + value);
        }
        return value;
    }

    @Override
    public String toString() {
        return "SessionOptions[policy=" + lockPolicy + ", io=" + ioTimeout + ", lock=" + lockTimeout + ", open="
                + openTimeout + ", errorChecking=" + errorChecking + ", priority=" + priority
                + ", instrumentLock=" + instrumentLock + ", maxAnswerSize=" + maxAnswerSize
                + (lockDomain == null ? "" : ", lockDomain=" + lockDomain)
                + (stepObserver == null ? "" : ", stepObserver=" + stepObserver) + "]";
    }
}
