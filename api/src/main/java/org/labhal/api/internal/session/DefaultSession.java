package org.labhal.api.internal.session;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

import org.labhal.api.BinaryFormat;
import org.labhal.api.BlockProgress;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.InstrumentError;
import org.labhal.api.InstrumentErrorException;
import org.labhal.api.InstrumentControlUnsupportedException;
import org.labhal.api.InstrumentLockUnsupportedException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.MalformedResponseException;
import org.labhal.api.RemoteLocal;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionClosedException;
import org.labhal.api.SessionOptions;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.LockPolicy;
import org.labhal.api.lock.LockService;
import org.labhal.api.lock.Priority;
import org.labhal.api.lock.SessionLock;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.Deadline;
import org.labhal.api.transport.InstrumentControl;
import org.labhal.api.transport.InstrumentLocking;
import org.labhal.api.trace.StepKind;
import org.labhal.api.trace.StepObserver;
import org.labhal.api.trace.StepRecord;

/**
 * A session handle: the data path caller → lock → connection → instrument and back. Settings are
 * per handle and volatile, so they may be changed from any thread; a step reads each once.
 */
final class DefaultSession implements Session {
    /** An error queue that has not drained after this many reads is broken, not busy. */
    static final int MAX_ERROR_READS = 100;
    private static final int MAX_ACTIVITY = 60;
    private static final byte[] ERROR_QUERY = "SYST:ERR?".getBytes(StandardCharsets.ISO_8859_1);

    private final String name;
    private final Channel channel;
    /** Told of every step; null for none, which costs a step nothing. */
    private final StepObserver observer;
    private final LockService locks;
    private final LockPolicy policy;
    /** Whether the connection's message ends are termination characters (no END indicator). */
    private final boolean streamTransport;
    /** Whether every step takes the instrument-side lock too (SessionOptions.withInstrumentLock). */
    private final boolean instrumentLock;
    private volatile SessionLock lock;
    /**
     * The lock of the bus this instrument shares with others ({@link ResourceAddress#busKey()}), taken by
     * every step after the session lock; null when the address has no bus. Held here so that the lock
     * service, which keeps locks weakly, keeps it while the session lives.
     */
    private final SessionLock busLock;
    private volatile Duration ioTimeout;
    private volatile Duration lockTimeout;
    private volatile boolean errorChecking;
    private volatile Priority priority;
    private volatile long maxAnswerSize;
    private volatile boolean open = true;
    /** The activity text of the latest step, reused while the same command repeats ({@link #activity}). */
    private volatile Activity recentActivity;

    DefaultSession(String name, Channel channel, LockService locks, LockPolicy policy, SessionLock lock,
            SessionOptions options) {
        this.name = name;
        this.channel = channel;
        this.locks = locks;
        this.policy = policy;
        this.streamTransport = channel.address.kind().isByteStream();
        this.lock = lock;
        this.busLock = channel.address.busKey().map(bus -> locks.lockFor(LockPolicy.SHARED_BUFFER, bus)).orElse(null);
        this.ioTimeout = options.ioTimeout();
        this.lockTimeout = options.lockTimeout();
        this.errorChecking = options.errorChecking();
        this.priority = options.priority();
        this.instrumentLock = options.instrumentLock();
        this.maxAnswerSize = options.maxAnswerSize();
        this.observer = options.stepObserver().orElse(null);
    }

    @Override
    public ResourceAddress address() {
        return channel.address;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void write(String command) throws LabHalException {
        writeBytes(command, command.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Override
    public void writeBytes(byte[] message) throws LabHalException {
        writeBytes("<" + message.length + " bytes>", message);
    }

    private void writeBytes(String command, byte[] message) throws LabHalException {
        boolean check = errorChecking;
        Duration io = ioTimeout;
        step(StepKind.WRITE, command, activity("write ", command), step -> {
            send(command, message, io, false);
            if (check) {
                checkErrors(step, command, io);
            }
            return null;
        });
    }

    @Override
    public String query(String query) throws LabHalException {
        return ask(query, DefaultSession::text);
    }

    @Override
    public byte[] queryBytes(String query) throws LabHalException {
        return ask(query, DefaultSession::bytes);
    }

    /** One query step; the answer is decoded before the error queue is read (which reuses the chunk). */
    private <T> T ask(String query, Decoder<T> decoder) throws LabHalException {
        boolean check = errorChecking;
        Duration io = ioTimeout;
        return step(StepKind.QUERY, query, activity("query ", query), step -> {
            send(query, query.getBytes(StandardCharsets.ISO_8859_1), io, true);
            T response = step.answered(receive(io, decoder));
            if (check) {
                checkErrors(step, query, io);
            }
            return response;
        });
    }

    @Override
    public String read() throws LabHalException {
        Duration io = ioTimeout;
        return step(StepKind.READ, null, "read", step -> step.answered(receive(io, DefaultSession::text)));
    }

    @Override
    public List<InstrumentError> errors() throws LabHalException {
        Duration io = ioTimeout;
        return step(StepKind.ERROR_QUEUE, null, "read error queue", step -> step.errors = readErrors(io));
    }

    @Override
    public int readStatusByte() throws LabHalException {
        return control(StepKind.STATUS_BYTE, "read the status byte", "read status byte",
                InstrumentControl::readStatusByte);
    }

    @Override
    public void trigger() throws LabHalException {
        control(StepKind.TRIGGER, "trigger", "trigger", (control, io) -> {
            control.trigger(io);
            return 0;
        });
    }

    @Override
    public void remoteLocal(RemoteLocal mode) throws LabHalException {
        Objects.requireNonNull(mode, "mode");
        control(StepKind.REMOTE_LOCAL, "switch to " + mode, "remote/local " + mode, (control, io) -> {
            control.remoteLocal(mode, io);
            return 0;
        });
    }

    /** One call of the transport's {@link InstrumentControl}, bounded by the I/O timeout. */
    @FunctionalInterface
    private interface ControlStep {
        int run(InstrumentControl control, Duration io) throws LabHalException;
    }

    /** An {@link InstrumentControl} call as a step, after checking the transport has such functions. */
    private int control(StepKind kind, String what, String activity, ControlStep call) throws LabHalException {
        InstrumentControl control = instrumentControl(what);
        Duration io = ioTimeout;
        return step(kind, null, activity, step -> {
            try {
                return channel.control(() -> call.run(control, io));
            } catch (LabHalException e) {
                throw closedOr(e);
            }
        });
    }

    @Override
    public boolean instrumentControlSupported() {
        return channel.connection instanceof InstrumentControl;
    }

    /** @throws InstrumentControlUnsupportedException when the transport has no IEEE 488 control functions */
    private InstrumentControl instrumentControl(String what) throws InstrumentControlUnsupportedException {
        if (!(channel.connection instanceof InstrumentControl control)) {
            throw new InstrumentControlUnsupportedException(name + ": cannot " + what + ": the "
                    + channel.address.kind() + " transport (" + channel.connection.describe()
                    + ") has no status byte, bus trigger or remote/local control", channel.address.kind());
        }
        return control;
    }

    @Override
    public void clear() throws LabHalException {
        Duration io = ioTimeout;
        step(StepKind.CLEAR, null, "device clear", step -> {
            try {
                channel.clear(io);
                return null;
            } catch (LabHalException e) {
                throw closedOr(e);
            }
        });
    }

    @Override
    public byte[] queryBlock(String query) throws LabHalException {
        // A definite-length block is bounded by its header; an indefinite one only by its end.
        ResponseBuffer data = new ResponseBuffer(name, ResponseBuffer.MAX_SIZE,
                (int) Math.min(maxAnswerSize, ResponseBuffer.MAX_SIZE));
        queryBlockInto(query, data, BlockProgress.NONE);
        return data.toByteArray();
    }

    @Override
    public long queryBlock(String query, OutputStream sink, BlockProgress progress) throws LabHalException {
        Objects.requireNonNull(sink, "sink");
        return queryBlockInto(query, sink::write, progress);
    }

    private long queryBlockInto(String query, BlockReader.Target target, BlockProgress progress)
            throws LabHalException {
        Objects.requireNonNull(query, "query");
        Objects.requireNonNull(progress, "progress");
        boolean check = errorChecking;
        Duration io = ioTimeout;
        return step(StepKind.QUERY_BLOCK, query, "query block " + quote(query), step -> {
            send(query, query.getBytes(StandardCharsets.ISO_8859_1), io, true);
            BlockReader reader = new BlockReader(channel, name, streamTransport, io);
            BlockHead head = observer == null ? null : new BlockHead(target, observer.blockAnswerHead());
            long length;
            try {
                length = reader.read(head == null ? target : head, progress);
            } catch (LabHalException e) {
                throw afterFailure(e, reader.messageOpen(), io);
            } catch (RuntimeException | Error e) {
                afterFailure(e, reader.messageOpen(), io);
                throw e;
            }
            if (head != null) {
                step.answered(head.kept(), length);
            }
            if (check) {
                checkErrors(step, query, io);
            }
            return length;
        });
    }

    @Override
    public void writeBlock(String commandPrefix, byte[] data) throws LabHalException {
        Objects.requireNonNull(data, "data");
        byte[] header = BlockWriter.header(Objects.requireNonNull(commandPrefix, "commandPrefix"), data.length);
        writeBlock(commandPrefix, writer -> {
            writer.write(header, data);
            return data.length;
        });
    }

    @Override
    public long writeBlock(String commandPrefix, InputStream data, long length, BlockProgress progress)
            throws LabHalException {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(progress, "progress");
        byte[] header = BlockWriter.header(Objects.requireNonNull(commandPrefix, "commandPrefix"), length);
        if (length < 0 && streamTransport) {
            throw new LabHalException(name + ": cannot send an indefinite-length block over " + channel.address.kind()
                    + ", which has no END indicator: the instrument would take the first line feed in the data for the "
                    + "end of the message; send a definite length");
        }
        return writeBlock(commandPrefix, writer -> writer.write(header, data, length, progress));
    }

    /** One block transfer to the instrument. */
    private interface BlockTransfer {
        long run(BlockWriter writer) throws LabHalException;
    }

    private long writeBlock(String commandPrefix, BlockTransfer transfer) throws LabHalException {
        boolean check = errorChecking;
        Duration io = ioTimeout;
        return step(StepKind.WRITE_BLOCK, commandPrefix, "write block " + quote(commandPrefix), step -> {
            BlockWriter writer = new BlockWriter(channel, name, io);
            long length;
            try {
                length = transfer.run(writer);
            } catch (LabHalException e) {
                throw afterWriteFailure(e, writer.sent(), "the block message " + quote(commandPrefix + "#..."), io);
            } catch (RuntimeException | Error e) {
                afterWriteFailure(new LabHalException(name + ": " + e, e), writer.sent(),
                        "the block message " + quote(commandPrefix + "#..."), io);
                throw e;
            }
            if (check) {
                checkErrors(step, commandPrefix + "#<block>", io);
            }
            return length;
        });
    }

    @Override
    public double[] queryBinaryValues(String query, BinaryFormat format) throws LabHalException {
        Objects.requireNonNull(format, "format");
        byte[] data = queryBlock(query);
        if (data.length % format.elementSize() != 0) {
            throw new MalformedResponseException(name + ": the " + data.length + "-byte block answering \"" + query
                    + "\" is not a whole number of " + format + " values (" + format.elementSize() + " bytes each)");
        }
        return format.decode(data);
    }

    @Override
    public double[] queryAsciiValues(String query) throws LabHalException {
        return AsciiValues.parse(query(query), name, query);
    }

    /**
     * A transfer failed: when the instrument may still be sending, or waiting for the rest of what
     * we sent, resynchronise so that the next step starts clean.
     */
    private LabHalException afterFailure(LabHalException failure, boolean unfinished, Duration io) {
        LabHalException reported = closedOr(failure); // a failed resynchronisation closes: not the cause
        afterFailure((Throwable) failure, unfinished, io);
        return reported;
    }

    private void afterFailure(Throwable failure, boolean unfinished, Duration io) {
        boolean broken = failure instanceof ConnectionLostException || failure instanceof SessionClosedException;
        if ((unfinished || failure instanceof IoTimeoutException) && !broken) {
            resynchronise(failure, io);
        }
    }

    /**
     * A write failed. When part of the message went out the instrument holds a fragment: on a
     * message transport a device clear drops it (unless the transport has dropped it itself,
     * {@link Connection#dropsCutMessages}); on a byte stream nothing can, so the connection closes
     * ({@link Channel#cutShort}).
     */
    private LabHalException afterWriteFailure(LabHalException failure, boolean partlySent, String what,
            Duration io) {
        if (!partlySent || failure instanceof SessionClosedException || channel.closedBecause() != null) {
            return closedOr(failure);
        }
        if (streamTransport) {
            return channel.cutShort(name, what, failure);
        }
        if (!channel.connection.dropsCutMessages()) {
            resynchronise(failure, io);
        }
        return failure;
    }

    /** What one step does once it holds its locks. */
    @FunctionalInterface
    private interface StepBody<T> {
        T run(Step step) throws LabHalException;
    }

    /**
     * Runs one step under its locks. With a {@link StepObserver} the step is timed and reported after its
     * locks are given back, whether it succeeded or not (a lock wait that failed included).
     */
    private <T> T step(StepKind kind, String command, String activity, StepBody<T> body) throws LabHalException {
        StepObserver watcher = observer;
        if (watcher == null) {
            try (Step step = enter(activity)) {
                return body.run(step);
            }
        }
        Instant start = Instant.now();
        long begin = System.nanoTime();
        long locked = 0;
        Step held = null; // the step once its locks are held
        Throwable failure = null;
        try {
            try (Step step = enter(activity)) {
                held = step;
                locked = System.nanoTime();
                return body.run(step);
            }
        } catch (LabHalException | RuntimeException | Error e) {
            failure = e;
            throw e;
        } finally {
            long end = System.nanoTime();
            StepRecord record = held == null
                    ? new StepRecord(start, name, Thread.currentThread().getName(), kind, command, null, null, -1,
                            end - begin, 0, failure, List.of())
                    : new StepRecord(start, name, Thread.currentThread().getName(), kind, command, held.answerText,
                            held.answerData, held.answerLength, locked - begin, end - locked, failure, held.errors);
            report(watcher, record);
        }
    }

    /**
     * An observer's failure is its own: it never changes the step's outcome, not even an {@link Error} (an observer
     * out of memory, or one whose bundle was refreshed away), which would otherwise replace what the step returns
     * or throws.
     */
    private static void report(StepObserver watcher, StepRecord record) {
        try {
            watcher.stepDone(record);
        } catch (Throwable e) {
            // ignored by contract (StepObserver): the step has happened whatever the observer thinks of it
        }
    }

    /** Reads the error queue within a step, keeps what it read for the step's record, throws if not empty. */
    private void checkErrors(Step step, String command, Duration io) throws LabHalException {
        List<InstrumentError> errors = readErrors(io);
        step.errors = errors;
        throwErrors(command, errors);
    }

    /**
     * Takes the locks for one step, within the session's lock timeout as a whole: the session lock (with
     * the instrument-side lock when every step takes it), the bus lock when the instrument shares a bus,
     * then the wire lock; and checks the session is usable.
     */
    private Step enter(String activity) throws LabHalException {
        Duration wait = lockTimeout;
        Deadline deadline = Deadline.after(wait);
        Lease lease = instrumentLock ? layered(activity, wait, null) : enter(activity, wait);
        Lease bus = null;
        try {
            if (busLock != null) {
                bus = enterBus(activity, deadline);
            }
            channel.lockWire(deadline, name, activity);
        } catch (LabHalException | RuntimeException e) {
            try {
                if (bus != null) {
                    bus.close();
                }
            } finally {
                lease.close();
            }
            throw e;
        }
        return new Step(lease, bus);
    }

    /**
     * Takes the bus lock: one talker at a time, and the controller's addressing is the bus's state, so the
     * addressing, the message and its answer of one step must not interleave with another instrument's.
     */
    private Lease enterBus(String activity, Deadline deadline) throws LabHalException {
        try {
            return busLock.acquire(deadline.remaining(), priority, activity + " on " + name);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StepInterruptedException("Interrupted waiting for the bus lock '" + busLock.name() + "' to "
                    + activity + " on " + name, e);
        }
    }

    /**
     * One step: its session lease (with the instrument-side hold, if any), its bus lease (if any) and the
     * wire lock, given back in the reverse order.
     */
    private final class Step implements AutoCloseable {
        private final Lease lease;
        private final Lease bus;
        /** What the step got back, for its {@link StepRecord}; set by the step's body on its own thread. */
        String answerText;
        byte[] answerData;
        long answerLength = -1;
        List<InstrumentError> errors = List.of();

        Step(Lease lease, Lease bus) {
            this.lease = lease;
            this.bus = bus;
        }

        /** Keeps a text or byte-array answer for the record, and hands it on. */
        <T> T answered(T answer) {
            if (answer instanceof String text) {
                answerText = text;
                answerLength = text.length();
            } else if (answer instanceof byte[] data) {
                answered(data, data.length);
            }
            return answer;
        }

        void answered(byte[] data, long length) {
            answerData = data;
            answerLength = length;
        }

        @Override
        public void close() {
            try {
                channel.unlockWire();
            } finally {
                try {
                    if (bus != null) {
                        bus.close();
                    }
                } finally {
                    lease.close();
                }
            }
        }
    }

    private Lease enter(String activity, Duration wait) throws LabHalException {
        if (!open) {
            throw new SessionClosedException("Session " + name + " is closed");
        }
        channel.ensureOpen(name);
        Lease lease;
        try {
            lease = lock.acquire(wait, priority, activity);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StepInterruptedException("Interrupted waiting for lock '" + lock.name() + "' to " + activity
                    + " on " + name, e);
        }
        try {
            if (!open) {
                throw new SessionClosedException("Session " + name + " was closed while waiting to " + activity);
            }
            channel.ensureOpen(name);
            return lease;
        } catch (LabHalException | RuntimeException e) {
            lease.close();
            throw e;
        }
    }

    /**
     * Sends one whole message.
     *
     * @param query whether the step reads its response next ({@link Channel#writeQuery})
     */
    private void send(String command, byte[] message, Duration io, boolean query) throws LabHalException {
        ByteBuffer data = ByteBuffer.wrap(message);
        try {
            if (query) {
                channel.writeQuery(data, io);
            } else {
                channel.write(data, true, io);
            }
        } catch (LabHalException e) {
            throw afterWriteFailure(e, data.position() > 0, "the command " + quote(command), io);
        }
    }

    /**
     * Turns the bytes of a response, terminator included, into what the caller gets. The array is
     * valid only during the call: it may be the channel's receive chunk, which the next read reuses.
     */
    @FunctionalInterface
    private interface Decoder<T> {
        /**
         * @param owned whether {@code array} belongs to this response alone (a {@link ResponseBuffer}'s)
         *        and may be returned as it is when it has exactly {@code size} bytes
         */
        T decode(byte[] array, int size, boolean owned);
    }

    /**
     * Reads one response message. A definite-length block is read to its announced length before
     * message ends count, because its data may contain the termination character; the length only
     * bounds how far we read, memory grows with the bytes that really arrive. On stream transports
     * the block's terminator is read too, even when the data's last byte is a line feed.
     * <p>
     * Reads go into the channel's receive chunk, reused by every step. An answer that one read brings
     * whole (the usual short answer) is decoded straight from it; only a longer one is collected in a
     * {@link ResponseBuffer}. This spares a query two 8 KiB arrays, which at tens of thousands of
     * queries a second cost more time zeroing memory and collecting garbage than the answer takes to
     * arrive.
     */
    private <T> T receive(Duration io, Decoder<T> decoder) throws LabHalException {
        Deadline deadline = Deadline.after(io);
        ByteBuffer chunk = channel.receiveChunk();
        int limit = (int) Math.min(maxAnswerSize, ResponseBuffer.MAX_SIZE);
        ResponseBuffer response = null; // made when an answer takes more than one read
        long dataEnd = BlockHeader.UNKNOWN; // index after the block's data, once the header is known
        boolean over = false; // whether the whole message has been read
        try {
            while (true) {
                if (deadline.expired()) {
                    int arrived = response == null ? 0 : response.size();
                    throw new IoTimeoutException(name + ": no complete answer within the I/O timeout of "
                            + Deadline.millis(io) + " ms; " + arrived + " bytes had arrived"
                            + (arrived == 0 ? "" : ": " + Excerpt.of(response.array(), 0, arrived)), io);
                }
                chunk.clear();
                boolean end = channel.read(chunk, deadline.remaining());
                int read = chunk.position();
                if (read == 0 && !end) {
                    throw new LabHalException(name + ": the transport returned from a read with no data and no "
                            + "message end, breaking its contract");
                }
                byte[] array;
                int size;
                if (response == null && end && read <= limit) { // whole in one read: no copy yet
                    array = chunk.array();
                    size = read;
                } else {
                    if (response == null) {
                        response = new ResponseBuffer(name, limit);
                    }
                    response.accept(chunk.array(), 0, read);
                    array = response.array();
                    size = response.size();
                }
                over = end; // until a block header is known, every message end is real
                if (dataEnd == BlockHeader.UNKNOWN) {
                    dataEnd = BlockHeader.dataEnd(array, size, name);
                }
                // Inside a definite block's data only END counts; a termination character is data.
                over = end && (dataEnd == BlockHeader.UNKNOWN || dataEnd == BlockHeader.NOT_A_BLOCK
                        || !streamTransport || size > dataEnd);
                if (!over) {
                    if (response == null) { // the chunk is read into again: keep what it holds
                        response = new ResponseBuffer(name, limit);
                        response.accept(array, 0, size);
                    }
                    continue;
                }
                if (dataEnd == BlockHeader.NOT_A_BLOCK || size < 2
                        || dataEnd != BlockHeader.UNKNOWN && size >= dataEnd) {
                    return decoder.decode(array, size, response != null);
                }
                throw new MalformedResponseException(name + ": the message ended " + (dataEnd == BlockHeader.UNKNOWN
                        ? "inside the block header " + Excerpt.of(array, 0, size)
                        : "after " + size + " bytes, inside the block whose header announced " + dataEnd
                                + " bytes in all"));
            }
        } catch (LabHalException e) {
            throw afterFailure(e, !over, io);
        }
    }

    /** After a failure the rest of the old answer must not reach the next step: clear the device. */
    private void resynchronise(Throwable failure, Duration io) {
        LabHalException failed = channel.resynchronise(io);
        if (failed != null) {
            failure.addSuppressed(failed);
        }
    }

    private List<InstrumentError> readErrors(Duration io) throws LabHalException {
        List<InstrumentError> errors = new ArrayList<>();
        for (int i = 0; i < MAX_ERROR_READS; i++) {
            send("SYST:ERR?", ERROR_QUERY, io, true);
            String answer = receive(io, DefaultSession::text);
            InstrumentError error = parseError(answer);
            if (error.code() == 0) {
                return errors;
            }
            errors.add(error);
        }
        throw new LabHalException(name + ": error queue still not empty after " + MAX_ERROR_READS
                + " reads of SYST:ERR?; last entries: " + errors.subList(Math.max(0, errors.size() - 3), errors.size()));
    }

    private InstrumentError parseError(String answer) throws LabHalException {
        int comma = answer.indexOf(',');
        try {
            int code = Integer.parseInt(answer.substring(0, comma < 0 ? answer.length() : comma).trim());
            String message = comma < 0 ? "" : answer.substring(comma + 1).trim();
            if (message.length() >= 2 && message.startsWith("\"") && message.endsWith("\"")) {
                message = message.substring(1, message.length() - 1);
            }
            return new InstrumentError(code, message);
        } catch (NumberFormatException e) {
            throw new LabHalException(name + ": answer to SYST:ERR? is not <code>,\"<message>\": \"" + answer + "\"", e);
        }
    }

    private void throwErrors(String command, List<InstrumentError> errors) throws InstrumentErrorException {
        if (!errors.isEmpty()) {
            throw new InstrumentErrorException(name, command, errors);
        }
    }

    /**
     * A failure on a channel that another thread closed meanwhile is reported as the closure it is;
     * one that closed the channel itself (an interrupt mid-message, an answer too large) stays what it is.
     */
    private LabHalException closedOr(LabHalException failure) {
        String reason = channel.closedBecause();
        if (reason == null || failure instanceof SessionClosedException || channel.closedBy(failure)) {
            return failure;
        }
        SessionClosedException closed = new SessionClosedException("Session " + name + " is closed: " + reason);
        closed.initCause(failure);
        return closed;
    }

    /** The response as text, without its LF or CR LF; one byte per character (ISO 8859-1). */
    private static String text(byte[] response, int size, boolean owned) {
        int end = size;
        if (end > 0 && response[end - 1] == '\n') {
            end--;
            if (end > 0 && response[end - 1] == '\r') {
                end--;
            }
        }
        return new String(response, 0, end, StandardCharsets.ISO_8859_1);
    }

    /** The response's bytes, terminator included, in an array of their own. */
    private static byte[] bytes(byte[] response, int size, boolean owned) {
        return owned && response.length == size ? response : Arrays.copyOf(response, size);
    }

    /** What a step does, e.g. {@code query "*IDN?"}, as the lock shows it to whoever waits. */
    private record Activity(String verb, String command, String text) {
    }

    /**
     * @return {@code verb} and the quoted command, e.g. {@code query "*IDN?"} for lock diagnostics;
     *         built once while the same command repeats, since building it costs a step two strings
     */
    private String activity(String verb, String command) {
        Activity recent = recentActivity; // immutable: a racy read sees a whole one or null
        if (recent != null && recent.verb().equals(verb) && recent.command().equals(command)) {
            return recent.text();
        }
        String text = verb + quote(command);
        recentActivity = new Activity(verb, command, text);
        return text;
    }

    private static String quote(String command) {
        String shown = command.length() > MAX_ACTIVITY ? command.substring(0, MAX_ACTIVITY) + "..." : command;
        return '"' + shown + '"';
    }

    @Override
    public Lease lockInstrument(Duration timeout) throws LabHalException {
        return lockInstrument(timeout, null);
    }

    @Override
    public Lease lockInstrument(Duration timeout, String sharedKey) throws LabHalException {
        Duration wait = SessionOptions.defaults().withLockTimeout(timeout).lockTimeout();
        if (!open) {
            throw new SessionClosedException("Session " + name + " is closed");
        }
        return layered("lock the instrument" + (sharedKey == null ? "" : " (shared '" + sharedKey + "')"), wait,
                sharedKey);
    }

    /** @throws InstrumentLockUnsupportedException when the transport has no instrument-side lock */
    InstrumentLocking instrumentLocking() throws InstrumentLockUnsupportedException {
        if (!(channel.connection instanceof InstrumentLocking locking)) {
            throw new InstrumentLockUnsupportedException(name + ": the " + channel.address.kind() + " transport ("
                    + channel.connection.describe() + ") has no instrument-side lock; only the session lock is "
                    + "available", channel.address.kind());
        }
        return locking;
    }

    /** Both lock layers within {@code wait}; on any failure the session lock is given back. */
    private Lease layered(String activity, Duration wait, String sharedKey) throws LabHalException {
        InstrumentLocking locking = instrumentLocking();
        Deadline deadline = Deadline.after(wait);
        Lease sessionLease = enter(activity, wait);
        try {
            channel.lockWire(deadline, name, activity);
            try {
                channel.holdInstrument(locking, deadline.remaining(), sharedKey, name);
            } finally {
                channel.unlockWire();
            }
            return new InstrumentLease(sessionLease, locking);
        } catch (LabHalException e) {
            sessionLease.close();
            throw closedOr(e);
        } catch (RuntimeException | Error e) {
            sessionLease.close();
            throw e;
        }
    }

    /**
     * Both lock layers; closing releases the instrument-side lock, then the session lock. The release
     * runs whatever the interrupt flag says; when it fails the channel closes the link, which frees
     * the instrument-side lock, so closing never leaves the instrument locked.
     */
    private final class InstrumentLease implements Lease {
        private final Lease sessionLease;
        private final InstrumentLocking locking;
        private final Thread owner = Thread.currentThread();
        private boolean closed;

        InstrumentLease(Lease sessionLease, InstrumentLocking locking) {
            this.sessionLease = sessionLease;
            this.locking = locking;
        }

        @Override
        public SessionLock lock() {
            return sessionLease.lock();
        }

        @Override
        public void close() {
            if (Thread.currentThread() != owner) {
                throw new IllegalStateException("Session " + name + ": the instrument lease taken by " + owner.getName()
                        + " cannot be closed by " + Thread.currentThread().getName());
            }
            if (closed) {
                return;
            }
            closed = true;
            try {
                Duration io = ioTimeout;
                // saturated: each part is at most ~146 years, so the sum cannot overflow
                channel.releaseInstrument(locking, io,
                        Duration.ofNanos(Deadline.nanos(lockTimeout) + Deadline.nanos(io)));
            } finally {
                sessionLease.close();
            }
        }
    }

    @Override
    public SessionLock lock() {
        return lock;
    }

    @Override
    public void adoptLock(SessionLock other) {
        lock = Objects.requireNonNull(other, "lock");
    }

    @Override
    public SessionLock breakAway() {
        SessionLock fresh = locks.newLock(name);
        lock = fresh;
        return fresh;
    }

    @Override
    public Session share() throws SessionClosedException {
        if (!open || !channel.retain()) {
            throw new SessionClosedException("Session " + name + " is closed: cannot share it");
        }
        DefaultSession twin = new DefaultSession(channel.nextName(), channel, locks,
                policy, lock, SessionOptions.defaults().withIoTimeout(ioTimeout).withLockTimeout(lockTimeout)
                        .withErrorChecking(errorChecking).withPriority(priority).withLockPolicy(policy)
                        .withInstrumentLock(instrumentLock).withMaxAnswerSize(maxAnswerSize)
                        .withStepObserver(observer));
        return twin;
    }

    @Override
    public LockPolicy lockPolicy() {
        return policy;
    }

    @Override
    public boolean instrumentLock() {
        return instrumentLock;
    }

    @Override
    public boolean instrumentLockSupported() {
        return channel.connection instanceof InstrumentLocking;
    }

    @Override
    public Duration ioTimeout() {
        return ioTimeout;
    }

    @Override
    public void setIoTimeout(Duration timeout) {
        ioTimeout = SessionOptions.defaults().withIoTimeout(timeout).ioTimeout();
    }

    @Override
    public Duration lockTimeout() {
        return lockTimeout;
    }

    @Override
    public void setLockTimeout(Duration timeout) {
        lockTimeout = SessionOptions.defaults().withLockTimeout(timeout).lockTimeout();
    }

    @Override
    public boolean errorChecking() {
        return errorChecking;
    }

    @Override
    public void setErrorChecking(boolean enabled) {
        errorChecking = enabled;
    }

    @Override
    public Priority priority() {
        return priority;
    }

    @Override
    public void setPriority(Priority stepPriority) {
        priority = Objects.requireNonNull(stepPriority, "priority");
    }

    @Override
    public long maxAnswerSize() {
        return maxAnswerSize;
    }

    @Override
    public void setMaxAnswerSize(long bytes) {
        maxAnswerSize = SessionOptions.defaults().withMaxAnswerSize(bytes).maxAnswerSize();
    }

    @Override
    public boolean isOpen() {
        return open && channel.closedBecause() == null;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (!open) {
                return;
            }
            open = false;
        }
        channel.release();
    }

    @Override
    public String toString() {
        return "Session[" + name + ", " + channel.connection.describe() + ", lock " + lock.name() + "]";
    }
}
