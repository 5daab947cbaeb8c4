package org.labhal.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class LineReaderTest {

    private static String text(LineReader.Line line) {
        assertFalse(line.overrun(), "not an overrun");
        return new String(line.bytes(), StandardCharsets.ISO_8859_1);
    }

    @Test
    void readsLinesAcrossChunksAndDropsAnUnterminatedTail() throws Exception {
        LineReader r = new LineReader(new ByteArrayInputStream("a\nbb\n\nccc".getBytes(StandardCharsets.ISO_8859_1)),
                10, (byte) '\n');
        assertEquals("a", text(r.next()));
        assertEquals("bb", text(r.next()));
        assertEquals("", text(r.next()));
        assertNull(r.next(), "the end of the stream; ccc had no terminator");
    }

    @Test
    void aLineOverTheLimitIsReportedOnceAndDiscardedToItsTerminator() throws Exception {
        LineReader r = new LineReader(new ByteArrayInputStream("12345\n123456\nok\n".getBytes(StandardCharsets.ISO_8859_1)),
                5, (byte) '\n');
        assertEquals("12345", text(r.next()), "exactly the limit is kept");
        LineReader.Line over = r.next();
        assertTrue(over.overrun());
        assertEquals(6, over.discarded());
        assertEquals(0, over.bytes().length);
        assertEquals("ok", text(r.next()), "the next line is read as usual");
    }

    /** A stream that never ends a line: the reader keeps at most its limit, however much arrives. */
    @Test
    void anEndlessLineCostsNoMoreThanTheLimit() throws Exception {
        long total = 64L << 20;
        InputStream endless = new InputStream() {
            long sent;

            @Override
            public int read() {
                return sent++ < total ? 'x' : '\n';
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (sent >= total) {
                    b[off] = '\n';
                    sent++;
                    return sent > total + 1 ? -1 : 1;
                }
                int n = (int) Math.min(len, total - sent);
                java.util.Arrays.fill(b, off, off + n, (byte) 'x');
                sent += n;
                return n;
            }
        };
        long before = usedHeap();
        LineReader r = new LineReader(endless, 4096, (byte) '\n');
        LineReader.Line line = r.next();
        assertTrue(line.overrun());
        assertEquals(total, line.discarded());
        assertTrue(usedHeap() - before < (16L << 20), "memory stayed bounded while 64 MiB went by");
        assertNull(r.next());
    }

    /**
     * A buffer grown for one long line does not stay: after the line, and as soon as a line turns out to be
     * too long (an endless one has no end to wait for), the reader holds a small buffer again.
     */
    @Test
    void aBufferGrownForALongLineShrinksBackAfterItAndAtAnOverrun() throws Exception {
        int limit = 1 << 20;
        LineReader[] reader = new LineReader[1];
        int[] largestWhileDiscarding = {0};
        byte[] longLine = ("x".repeat(900 * 1024) + "\nshort\n").getBytes(StandardCharsets.ISO_8859_1);
        InputStream in = new InputStream() {
            long position;

            @Override
            public int read() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (position < longLine.length) { // a long line that fits, then a short one
                    int n = (int) Math.min(len, longLine.length - position);
                    System.arraycopy(longLine, (int) position, b, off, n);
                    position += n;
                    return n;
                }
                long endless = position - longLine.length; // then 3 MiB without a terminator, then one
                if (endless > limit + 64 * 1024) {
                    largestWhileDiscarding[0] = Math.max(largestWhileDiscarding[0], reader[0].bufferCapacity());
                }
                if (endless >= 3 << 20) {
                    b[off] = '\n';
                    position++;
                    return endless == 3 << 20 ? 1 : -1;
                }
                int n = (int) Math.min(len, (3 << 20) - endless);
                java.util.Arrays.fill(b, off, off + n, (byte) 'y');
                position += n;
                return n;
            }
        };
        LineReader r = new LineReader(in, limit, (byte) '\n');
        reader[0] = r;
        assertEquals(900 * 1024, r.next().bytes().length);
        assertTrue(r.bufferCapacity() <= 8 * 1024, "after the long line: " + r.bufferCapacity());
        assertEquals("short", text(r.next()));
        LineReader.Line over = r.next();
        assertTrue(over.overrun());
        assertEquals(3 << 20, over.discarded());
        assertTrue(largestWhileDiscarding[0] > 0, "the reader was looked at while it discarded");
        assertTrue(largestWhileDiscarding[0] <= 8 * 1024, "while discarding: " + largestWhileDiscarding[0]);
        assertTrue(r.bufferCapacity() <= 8 * 1024, "after the overrun: " + r.bufferCapacity());
        assertNull(r.next());
    }

    private static long usedHeap() {
        Runtime rt = Runtime.getRuntime();
        System.gc();
        return rt.totalMemory() - rt.freeMemory();
    }

    @Test
    void aLimitBelowOneIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LineReader(InputStream.nullInputStream(), 0, (byte) '\n'));
        assertEquals("maxLength must be at least 1, was 0", e.getMessage());
    }
}
