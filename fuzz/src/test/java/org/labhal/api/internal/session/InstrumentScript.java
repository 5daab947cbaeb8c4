package org.labhal.api.internal.session;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumSet;
import java.util.Set;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionFactory;
import org.labhal.api.SessionOptions;
import org.labhal.api.TransportKind;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.lock.LockClock;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.TransportFactory;

/**
 * An in-memory instrument for fuzzing the session's response framing: every complete program message
 * it is sent makes it send the next scripted answer, which it hands out in pieces of a chosen size and
 * marks message ends as a stream transport (after every LF) or a message transport (END with each
 * answer's last byte) does. Bytes sent and not read stay pending, as in a real instrument's output
 * buffer, until a device clear drops them. When nothing is pending a read times out at once, so no
 * fuzz input can make a step wait.
 */
final class InstrumentScript implements Connection {
    private final boolean stream;
    private final int piece;
    private final Deque<byte[]> answers = new ArrayDeque<>();
    /** Answers sent and not yet read, oldest first; the head is partly read up to {@link #offset}. */
    private final Deque<byte[]> pending = new ArrayDeque<>();
    private int offset;
    private long reads;
    private long bytesSent;
    private int largestRead;
    private int lastByteRead = -1;
    private boolean closed;

    /**
     * @param stream whether message ends are LFs (socket, serial) rather than END (VXI-11, HiSLIP)
     * @param piece the most bytes one read hands out
     */
    InstrumentScript(boolean stream, int piece) {
        this.stream = stream;
        this.piece = piece;
    }

    /** Queues the answer to the next program message that is not yet answered. */
    InstrumentScript answer(byte[] answer) {
        answers.add(answer);
        return this;
    }

    /** Forgets the answers not yet due; what was already sent stays pending. */
    void forgetUnsentAnswers() {
        answers.clear();
    }

    /**
     * Opens a session on this instrument through the real session factory and lock service that
     * every script shares: a fuzzer runs thousands of inputs a second, and a lock service of its own
     * per input would cost each one a clock thread. Closing the session must close the link and give
     * back the channel ({@link #openConnections()}), so nothing of one input reaches the next.
     */
    Session open(boolean errorChecking) throws LabHalException {
        return Shared.TRANSPORT.open(this, errorChecking);
    }

    /** @return how many connections the shared session factory has open, from every script */
    static int openConnections() {
        return Shared.SESSIONS.openConnections();
    }

    /** @return whether message ends are LFs (a stream transport) rather than END */
    boolean stream() {
        return stream;
    }

    /** @return how many reads the session made */
    long reads() {
        return reads;
    }

    /** @return how many answer bytes were sent, read or not */
    long bytesSent() {
        return bytesSent;
    }

    /** @return how many bytes were sent and neither read nor cleared */
    long unread() {
        long unread = -offset;
        for (byte[] answer : pending) {
            unread += answer.length;
        }
        return unread;
    }

    /** @return the last byte a read handed out, or -1 before the first */
    int lastByteRead() {
        return lastByteRead;
    }

    /** Drops what was sent and not read, as a device clear would. */
    void drop() {
        clear(null);
    }

    /** @return the largest buffer a read was handed */
    int largestRead() {
        return largestRead;
    }

    @Override
    public void write(ByteBuffer data, boolean end, Duration timeout) throws LabHalException {
        if (closed) {
            throw new ConnectionLostException("scripted instrument: the link was closed", null);
        }
        data.position(data.limit());
        if (end && !answers.isEmpty()) {
            byte[] answer = answers.poll();
            if (answer.length > 0) {
                pending.add(answer);
                bytesSent += answer.length;
            }
        }
    }

    @Override
    public boolean read(ByteBuffer into, Duration timeout) throws LabHalException {
        reads++;
        if (closed) {
            throw new ConnectionLostException("scripted instrument: the link was closed", null);
        }
        largestRead = Math.max(largestRead, into.remaining());
        if (pending.isEmpty()) {
            throw new IoTimeoutException("scripted instrument: nothing more to send", timeout);
        }
        byte[] head = pending.peek();
        int count = Math.min(Math.min(piece, into.remaining()), head.length - offset);
        boolean end = false;
        for (int i = 0; i < count && !end; i++) {
            byte b = head[offset++];
            into.put(b);
            lastByteRead = b & 0xff;
            end = stream ? b == '\n' : offset == head.length;
        }
        if (offset == head.length) {
            pending.poll();
            offset = 0;
        }
        return end;
    }

    @Override
    public void clear(Duration timeout) {
        pending.clear();
        offset = 0;
    }

    /**
     * What every script shares, made once. The lock service keeps time with the precise clock, which
     * needs no ticker thread; the addresses are parsed once, since parsing is no part of what the
     * framing target fuzzes.
     */
    private static final class Shared {
        static final DefaultLockService LOCKS =
                new DefaultLockService(DefaultLockService.DEFAULT_AGING, LockClock.precise());
        static final DefaultSessionFactory SESSIONS = new DefaultSessionFactory(LOCKS);
        static final ScriptTransport TRANSPORT = new ScriptTransport();
        static final ResourceAddress STREAM = ResourceAddress.parse("TCPIP::127.0.0.1::5025::SOCKET");
        static final ResourceAddress MESSAGE = ResourceAddress.parse("TCPIP::127.0.0.1::inst0::INSTR");
        /**
         * Nothing waits for it (a read with nothing to send times out at once), so it only has to
         * outlast pauses of the JVM or the machine within one step, which 100 ms did not: a query
         * over 1-byte pieces timed out after 2 of its 5 bytes at nice 19 on a loaded machine
         * (crash-1b3ed51c...).
         */
        static final Duration IO_TIMEOUT = Duration.ofMinutes(1);

        static {
            SESSIONS.addTransport(TRANSPORT);
        }
    }

    /** Connects the session factory to the one script being opened, and to nothing else. */
    private static final class ScriptTransport implements TransportFactory {
        private InstrumentScript connecting; // guarded by this

        synchronized Session open(InstrumentScript script, boolean errorChecking) throws LabHalException {
            connecting = script;
            try {
                SessionFactory sessions = Shared.SESSIONS;
                return sessions.open(script.stream ? Shared.STREAM : Shared.MESSAGE, SessionOptions.defaults()
                        .withIoTimeout(Shared.IO_TIMEOUT).withErrorChecking(errorChecking));
            } finally {
                connecting = null;
            }
        }

        @Override
        public Set<TransportKind> kinds() {
            return EnumSet.allOf(TransportKind.class);
        }

        @Override
        public synchronized Connection open(ResourceAddress address, Duration timeout) throws LabHalException {
            if (connecting == null) {
                // A second connection for one session would get no script: say so instead of answering.
                throw new ConnectionLostException("scripted instrument: no script is being opened", null);
            }
            InstrumentScript script = connecting;
            connecting = null;
            return script;
        }
    }

    @Override
    public String describe() {
        return "scripted instrument";
    }

    @Override
    public boolean isOpen() {
        return !closed;
    }

    @Override
    public void close() {
        closed = true; // a closed link loses whatever was on its way
        clear(null);
    }
}
