package org.labhal.transport.vxi11.internal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.labhal.api.LabHalException;
import org.labhal.api.transport.Connection;

/** What a session does with a connection, minus the session: write with END, read to END. */
final class Steps {
    static final Duration LONG = Duration.ofSeconds(10);

    private Steps() {
    }

    static void write(Connection c, String text) throws LabHalException {
        c.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.ISO_8859_1)), true, LONG);
    }

    /** Reads one message whole, with reads of at most {@code chunk} bytes; returns it without its newline. */
    static String read(Connection c, int chunk, Duration timeout) throws LabHalException {
        StringBuilder text = new StringBuilder();
        ByteBuffer buffer = ByteBuffer.allocate(chunk);
        boolean end;
        do {
            buffer.clear();
            end = c.read(buffer, timeout);
            text.append(new String(buffer.array(), 0, buffer.position(), StandardCharsets.ISO_8859_1));
        } while (!end);
        return text.toString().replaceFirst("\n$", "");
    }

    static String query(Connection c, String text) throws LabHalException {
        write(c, text);
        return read(c, 4096, LONG);
    }

    /** Bounded busy wait for a condition another thread brings about: fails after 10 s instead of hanging. */
    static void await(BooleanSupplier condition, String what) {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - until > 0) {
                throw new AssertionError("not within 10 s: " + what);
            }
            Thread.onSpinWait();
        }
    }
}
