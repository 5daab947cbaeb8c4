package org.labhal.api.internal.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.labhal.api.BlockProgress;
import org.labhal.api.Session;
import org.labhal.api.internal.session.ScriptedConnection.Framing;
import org.labhal.api.internal.session.ScriptedConnection.Response;

/**
 * A 256 MiB block streams through a session in bounded memory, both ways. The data is generated
 * as it is read and checked by CRC as it is written, so the test itself holds none of it; the
 * bound is checked twice: no buffer handed to the connection is larger than the 64 KiB piece, and
 * the streaming thread allocates, in total, a small fraction of the block.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BlockStreamingTest {
    private static final long SIZE = 256L * 1024 * 1024;
    /** Everything the streaming thread may allocate, header parsing and lock bookkeeping included. */
    private static final long ALLOCATION_BOUND = 4L * 1024 * 1024;
    /** 251 bytes (a prime, so pieces never line up with it), LF and CR among them. */
    private static final byte[] PATTERN = new byte[251];

    static {
        for (int i = 0; i < PATTERN.length; i++) {
            PATTERN[i] = (byte) (i * 13 + 10);
        }
    }

    private static long expectedCrc(String head, long length) {
        CRC32 crc = new CRC32();
        crc.update(head.getBytes(StandardCharsets.ISO_8859_1));
        for (long done = 0; done < length;) {
            int n = (int) Math.min(PATTERN.length, length - done);
            crc.update(PATTERN, 0, n);
            done += n;
        }
        return crc.getValue();
    }

    /** A sink that keeps only a count and a CRC. */
    private static final class CountingSink extends OutputStream {
        final CRC32 crc = new CRC32();
        long count;

        @Override
        public void write(int b) {
            crc.update(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            crc.update(b, off, len);
            count += len;
        }
    }

    /** A source of {@code length} pattern bytes, generated as read. */
    private static final class PatternSource extends InputStream {
        private final long length;
        private long position;

        PatternSource(long length) {
            this.length = length;
        }

        @Override
        public int read() {
            return position < length ? PATTERN[(int) (position++ % PATTERN.length)] & 0xFF : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (position == length) {
                return -1;
            }
            int n = (int) Math.min(len, length - position);
            for (int done = 0; done < n;) {
                int offset = (int) ((position + done) % PATTERN.length);
                int step = Math.min(n - done, PATTERN.length - offset);
                System.arraycopy(PATTERN, offset, b, off + done, step);
                done += step;
            }
            position += n;
            return n;
        }
    }

    /** Checks monotonic progress without allocating. */
    private static final class MonotonicProgress implements BlockProgress {
        long last = -1;
        long lastTotal;
        long calls;
        boolean monotonic = true;

        @Override
        public void update(long bytesDone, long bytesTotal) {
            monotonic &= bytesDone >= last;
            last = bytesDone;
            lastTotal = bytesTotal;
            calls++;
        }
    }

    private static long allocatedByThisThread() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assertTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled(),
                "this JVM cannot measure per-thread allocation");
        return threads.getThreadAllocatedBytes(Thread.currentThread().getId());
    }

    @Test
    void reads256MiBInBoundedMemoryOverAStreamTransport() throws Exception {
        String head = "#9" + String.format("%09d", SIZE);
        ScriptedConnection connection = new ScriptedConnection(Framing.STREAM)
                .then(Response.generated(head, SIZE, PATTERN, "\n"));
        CountingSink sink = new CountingSink();
        MonotonicProgress progress = new MonotonicProgress();
        try (Session session = connection.open()) {
            long before = allocatedByThisThread();
            long length = session.queryBlock("CURV?", sink, progress);
            long allocated = allocatedByThisThread() - before;

            assertEquals(SIZE, length);
            assertEquals(SIZE, sink.count);
            assertEquals(expectedCrc("", SIZE), sink.crc.getValue(), "data arrived intact");
            assertEquals(0, connection.pending(), "terminator consumed");
            assertTrue(progress.monotonic);
            assertEquals(SIZE, progress.last);
            assertEquals(SIZE, progress.lastTotal);
            assertEquals(1 + SIZE / BlockReader.CHUNK, progress.calls);
            assertTrue(connection.largestRead() <= BlockReader.CHUNK, "read buffer " + connection.largestRead());
            assertTrue(allocated < ALLOCATION_BOUND, "streaming 256 MiB allocated " + allocated + " bytes");
        }
    }

    @Test
    void reads256MiBInBoundedMemoryOverAMessageTransport() throws Exception {
        String head = "#9" + String.format("%09d", SIZE);
        ScriptedConnection connection = new ScriptedConnection(Framing.MESSAGE)
                .then(Response.generated(head, SIZE, PATTERN, "\n"));
        CountingSink sink = new CountingSink();
        try (Session session = connection.open()) {
            long before = allocatedByThisThread();
            assertEquals(SIZE, session.queryBlock("CURV?", sink, BlockProgress.NONE));
            long allocated = allocatedByThisThread() - before;
            assertEquals(expectedCrc("", SIZE), sink.crc.getValue());
            assertTrue(connection.largestRead() <= BlockReader.CHUNK, "read buffer " + connection.largestRead());
            assertTrue(allocated < ALLOCATION_BOUND, "streaming 256 MiB allocated " + allocated + " bytes");
        }
    }

    @Test
    void writes256MiBInBoundedMemory() throws Exception {
        ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).countWritesOnly();
        MonotonicProgress progress = new MonotonicProgress();
        String head = "TRAC:DATA #9" + String.format("%09d", SIZE);
        try (Session session = connection.open()) {
            long before = allocatedByThisThread();
            assertEquals(SIZE, session.writeBlock("TRAC:DATA ", new PatternSource(SIZE), SIZE, progress));
            long allocated = allocatedByThisThread() - before;

            assertEquals(head.length() + SIZE, connection.bytesWritten());
            assertEquals(expectedCrc(head, SIZE), connection.writtenCrc(), "data left intact");
            assertTrue(progress.monotonic);
            assertEquals(SIZE, progress.last);
            assertTrue(connection.largestWrite() <= BlockReader.CHUNK, "write buffer " + connection.largestWrite());
            assertTrue(allocated < ALLOCATION_BOUND, "streaming 256 MiB allocated " + allocated + " bytes");
        }
    }
}
