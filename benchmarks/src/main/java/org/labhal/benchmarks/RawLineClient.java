package org.labhal.benchmarks;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The baseline of the query benchmarks: the least a client can do to ask a question over a byte
 * stream. Writes the message, then reads into its own buffer until a LF and returns the text before
 * it. No lock, no timeout of its own, no resynchronisation, no block framing.
 * <p>
 * One thread at a time.
 */
final class RawLineClient {
    private final InputStream in;
    private final OutputStream out;
    private final byte[] buffer = new byte[8192];
    private int head; // buffer[head, tail) is received and not yet returned
    private int tail;

    RawLineClient(InputStream in, OutputStream out) {
        this.in = in;
        this.out = out;
    }

    /**
     * @param message the query with its LF, e.g. {@code "SIM:ECHO? x\n"} in ASCII
     * @return the answer without its LF
     */
    String query(byte[] message) throws IOException {
        out.write(message);
        out.flush();
        return readLine();
    }

    private String readLine() throws IOException {
        int scanned = head;
        while (true) {
            for (int i = scanned; i < tail; i++) {
                if (buffer[i] == '\n') {
                    String line = new String(buffer, head, i - head, StandardCharsets.ISO_8859_1);
                    head = i + 1;
                    return line;
                }
            }
            if (head > 0) { // make room at the end
                System.arraycopy(buffer, head, buffer, 0, tail - head);
                tail -= head;
                head = 0;
            }
            if (tail == buffer.length) {
                throw new IOException("an answer longer than " + buffer.length + " bytes");
            }
            scanned = tail;
            int n = in.read(buffer, tail, buffer.length - tail);
            if (n < 0) {
                throw new EOFException("the peer closed the stream after " + (tail - head) + " bytes of an answer");
            }
            tail += n;
        }
    }
}
