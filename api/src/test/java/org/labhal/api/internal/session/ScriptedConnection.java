package org.labhal.api.internal.session;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.zip.CRC32;

import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionFactory;
import org.labhal.api.SessionOptions;
import org.labhal.api.TransportKind;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.TransportFactory;

/**
 * A connection to a scripted instrument, for codec tests: it answers with given bytes (generated
 * lazily, so a 256 MiB block costs no memory), in pieces of a given size, marks message ends as a
 * stream transport (after every LF) or a message transport (END with a response's last byte) does,
 * and records what it was sent, how big the buffers it was handed were, and each device clear.
 * When it has nothing left to send a read times out at once.
 * <p>
 * Not thread-safe: one session step at a time uses it, as the session lock guarantees.
 */
final class ScriptedConnection implements Connection {
    /** A stream transport's session resource (message ends are LFs). */
    static final String SOCKET = "TCPIP::127.0.0.1::5025::SOCKET";
    /** A message transport's session resource (message ends are END). */
    static final String VXI11 = "TCPIP::127.0.0.1::inst0::INSTR";

    /** How message ends are marked. */
    enum Framing {
        /** After every LF, as a socket or serial transport reports its termination character. */
        STREAM,
        /** With the last byte of each scripted response, as VXI-11 or HiSLIP report END. */
        MESSAGE
    }

    /** Bytes the instrument sends, produced on demand. */
    interface Response {
        long length();

        /** Copies {@code count} bytes from offset {@code from} into {@code into} at {@code at}. */
        void copy(long from, byte[] into, int at, int count);

        static Response of(byte[] bytes) {
            return new Response() {
                @Override
                public long length() {
                    return bytes.length;
                }

                @Override
                public void copy(long from, byte[] into, int at, int count) {
                    System.arraycopy(bytes, (int) from, into, at, count);
                }
            };
        }

        static Response of(String text) {
            return of(text.getBytes(StandardCharsets.ISO_8859_1));
        }

        /** {@code head}, then {@code length} bytes repeating {@code pattern}, then {@code tail}. */
        static Response generated(String head, long length, byte[] pattern, String tail) {
            byte[] h = head.getBytes(StandardCharsets.ISO_8859_1);
            byte[] t = tail.getBytes(StandardCharsets.ISO_8859_1);
            return new Response() {
                @Override
                public long length() {
                    return h.length + length + t.length;
                }

                @Override
                public void copy(long from, byte[] into, int at, int count) {
                    for (int done = 0; done < count;) {
                        long position = from + done;
                        int n;
                        if (position < h.length) {
                            n = (int) Math.min(count - done, h.length - position);
                            System.arraycopy(h, (int) position, into, at + done, n);
                        } else if (position < h.length + length) {
                            int offset = (int) ((position - h.length) % pattern.length);
                            n = (int) Math.min(Math.min(count - done, pattern.length - offset),
                                    h.length + length - position);
                            System.arraycopy(pattern, offset, into, at + done, n);
                        } else {
                            int offset = (int) (position - h.length - length);
                            n = count - done;
                            System.arraycopy(t, offset, into, at + done, n);
                        }
                        done += n;
                    }
                }
            };
        }
    }

    private final Framing framing;
    private final Deque<Response> responses = new ArrayDeque<>();
    private Response current;
    private long position;
    private int maxPiece = Integer.MAX_VALUE;
    private Function<byte[], Response> instrument = message -> null;
    private boolean recordWrites = true;

    private final List<byte[]> messages = new ArrayList<>();
    private final ByteArrayOutputStream message = new ByteArrayOutputStream();
    private final CRC32 writtenCrc = new CRC32();
    private long bytesWritten;
    private int largestRead;
    private int largestWrite;
    private int clears;
    private long reads;
    private boolean atBoundary = true;

    ScriptedConnection(Framing framing) {
        this.framing = framing;
    }

    /** Opens a session on this connection, through a real session factory and lock service. */
    Session open() throws LabHalException {
        DefaultSessionFactory factory = FixedTransport.factoryFor(this);
        SessionFactory sessions = factory;
        return sessions.open(ResourceAddress.parse(framing == Framing.STREAM ? SOCKET : VXI11),
                // The script never waits (a read with nothing left times out at once), so the timeout
                // only has to outlast a slow machine: the I/O timeout bounds each 64 KiB piece as a whole.
                SessionOptions.defaults().withIoTimeout(Duration.ofSeconds(10)));
    }

    /** Queues a response. */
    ScriptedConnection then(Response response) {
        responses.add(response);
        return this;
    }

    ScriptedConnection then(String text) {
        return then(Response.of(text));
    }

    ScriptedConnection then(byte[] bytes) {
        return then(Response.of(bytes));
    }

    /** Hands out at most this many bytes per read. */
    ScriptedConnection pieces(int bytes) {
        maxPiece = bytes;
        return this;
    }

    /** Answers each complete program message it is sent with what {@code answer} returns (null: nothing). */
    ScriptedConnection answering(Function<byte[], Response> answer) {
        instrument = answer;
        return this;
    }

    /** Keeps only a count and a CRC of what is written, for streams too big to keep. */
    ScriptedConnection countWritesOnly() {
        recordWrites = false;
        return this;
    }

    /** Forgets every scripted byte not yet read, as if the instrument had been reset. */
    void discardScript() {
        responses.clear();
        current = null;
        atBoundary = true;
    }

    @Override
    public void write(ByteBuffer data, boolean end, Duration timeout) {
        largestWrite = Math.max(largestWrite, data.remaining());
        bytesWritten += data.remaining();
        if (data.hasArray()) {
            writtenCrc.update(data.array(), data.arrayOffset() + data.position(), data.remaining());
            if (recordWrites) {
                message.write(data.array(), data.arrayOffset() + data.position(), data.remaining());
            }
            data.position(data.limit());
        } else {
            byte[] copy = new byte[data.remaining()];
            data.get(copy);
            writtenCrc.update(copy);
            if (recordWrites) {
                message.writeBytes(copy);
            }
        }
        if (end) {
            byte[] complete = message.toByteArray();
            message.reset();
            messages.add(complete);
            Response answer = instrument.apply(complete);
            if (answer != null) {
                responses.add(answer);
            }
        }
    }

    @Override
    public boolean read(ByteBuffer into, Duration timeout) throws LabHalException {
        if (!into.hasRemaining()) {
            throw new IllegalArgumentException("read needs room for at least one byte");
        }
        largestRead = Math.max(largestRead, into.remaining());
        reads++;
        while (current == null || position == current.length()) {
            current = responses.poll();
            position = 0;
            if (current == null) {
                throw new IoTimeoutException("scripted instrument has nothing more to send", timeout);
            }
        }
        int count = (int) Math.min(Math.min(into.remaining(), maxPiece), current.length() - position);
        int at = into.arrayOffset() + into.position();
        boolean end = false;
        if (framing == Framing.STREAM) {
            // Copy in steps and stop after the first LF, as a stream transport's read does.
            int copied = 0;
            while (copied < count && !end) {
                int step = Math.min(count - copied, 512);
                current.copy(position + copied, into.array(), at + copied, step);
                for (int i = copied; i < copied + step; i++) {
                    if (into.array()[at + i] == '\n') {
                        step = i + 1 - copied;
                        end = true;
                        break;
                    }
                }
                copied += step;
            }
            count = copied;
        } else {
            current.copy(position, into.array(), at, count);
            end = position + count == current.length();
        }
        position += count;
        into.position(into.position() + count);
        atBoundary = end;
        return end;
    }

    @Override
    public void clear(Duration timeout) {
        clears++;
        responses.clear();
        current = null;
        atBoundary = true;
    }

    @Override
    public String describe() {
        return "scripted " + framing;
    }

    @Override
    public void close() {
        // nothing to release
    }

    /** @return whether the last byte read ended a message, or a clear came since: the next read starts afresh */
    boolean inSync() {
        return atBoundary;
    }

    /** @return bytes scripted but not read */
    long pending() {
        long pending = current == null ? 0 : current.length() - position;
        for (Response response : responses) {
            pending += response.length();
        }
        return pending;
    }

    List<byte[]> messages() {
        return messages;
    }

    String lastMessage() {
        return new String(messages.get(messages.size() - 1), StandardCharsets.ISO_8859_1);
    }

    long bytesWritten() {
        return bytesWritten;
    }

    long writtenCrc() {
        return writtenCrc.getValue();
    }

    int largestRead() {
        return largestRead;
    }

    int largestWrite() {
        return largestWrite;
    }

    int clears() {
        return clears;
    }

    long reads() {
        return reads;
    }
}
