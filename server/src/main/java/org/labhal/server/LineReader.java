package org.labhal.server;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Objects;

/**
 * Reads terminated lines from a stream with a bound on their length, as Netty's
 * {@code LineBasedFrameDecoder(maxLength)} does: a line longer than the bound is not kept but
 * discarded up to its terminator and reported once as {@link Line#overrun() overrun}, so a peer that
 * never sends a terminator costs at most {@code maxLength} bytes of memory. The line buffer grows with a
 * long line and shrinks back to a few KiB after it, and at once when the line turns out to be too long:
 * an idle connection holds little whatever lines came before. Reads the stream in chunks; not thread-safe
 * (one reader per connection).
 */
public final class LineReader {
    /** A line buffer larger than this is let go after its line. */
    private static final int KEPT = 8 * 1024;

    private final InputStream in;
    private final int maxLength;
    private final byte terminator;
    private final byte[] chunk;
    private final int firstSize;
    private int chunkStart;
    private int chunkEnd;
    private byte[] line;
    private int length;

    /**
     * One line read.
     *
     * @param bytes the line without its terminator; empty when {@code overrun}
     * @param overrun whether the line was longer than the limit and was discarded
     * @param discarded how many bytes of an overrun line were thrown away (its whole length), 0 otherwise
     */
    public record Line(byte[] bytes, boolean overrun, long discarded) {
    }

    /**
     * @param in the stream, typically a socket's; not closed by the reader
     * @param maxLength the longest line kept, without its terminator, at least 1
     * @param terminator the byte that ends a line, e.g. {@code '\n'}
     */
    public LineReader(InputStream in, int maxLength, byte terminator) {
        this.in = Objects.requireNonNull(in, "in");
        if (maxLength < 1) {
            throw new IllegalArgumentException("maxLength must be at least 1, was " + maxLength);
        }
        this.maxLength = maxLength;
        this.terminator = terminator;
        this.chunk = new byte[Math.min(maxLength + 1, 64 * 1024)];
        this.firstSize = Math.min(maxLength, 256);
        this.line = new byte[firstSize];
    }

    /**
     * Reads the next line, blocking as the stream does.
     *
     * @return the line, or {@code null} at the end of the stream (bytes after the last terminator are
     *         dropped, as an instrument drops an unterminated message when its client goes away)
     * @throws IOException when reading fails
     */
    public Line next() throws IOException {
        length = 0;
        long discarded = 0;
        while (true) {
            if (chunkStart == chunkEnd) {
                int n = in.read(chunk);
                if (n < 0) {
                    return null;
                }
                chunkStart = 0;
                chunkEnd = n;
            }
            int i = chunkStart;
            while (i < chunkEnd && chunk[i] != terminator) {
                i++;
            }
            int count = i - chunkStart;
            if (discarded > 0 || length + count > maxLength) {
                discarded += length + count; // over the limit: keep nothing more of this line
                length = 0;
                shrink(); // nothing to keep until the terminator, which may never come
            } else {
                if (line.length < length + count) {
                    line = Arrays.copyOf(line, Math.min(maxLength, Math.max(length + count, line.length * 2)));
                }
                System.arraycopy(chunk, chunkStart, line, length, count);
                length += count;
            }
            chunkStart = i;
            if (i < chunkEnd) {
                chunkStart++; // the terminator
                Line done = discarded > 0 ? new Line(new byte[0], true, discarded)
                        : new Line(Arrays.copyOf(line, length), false, 0);
                shrink();
                return done;
            }
        }
    }

    /** Lets a buffer grown for a long line go; a line of up to {@value #KEPT} bytes keeps the one it grew. */
    private void shrink() {
        if (line.length > KEPT) {
            line = new byte[firstSize];
        }
    }

    /** @return the bytes the reader holds for the line being read (tests look at it) */
    int bufferCapacity() {
        return line.length;
    }
}
