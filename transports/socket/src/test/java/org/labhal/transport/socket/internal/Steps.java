package org.labhal.transport.socket.internal;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.transport.Connection;

/** What a session does with a connection, step by step, without the session: for unit tests. */
final class Steps {
    private Steps() {
    }

    static void write(Connection connection, String command, Duration io) throws LabHalException {
        connection.write(ByteBuffer.wrap(command.getBytes(StandardCharsets.ISO_8859_1)), true, io);
    }

    /** Writes a query and reads its answer; after a timeout clears the connection as a session does. */
    static String query(Connection connection, String query, Duration io) throws LabHalException {
        write(connection, query, io);
        return read(connection, io);
    }

    /** Reads one message with the session's 8 KiB chunks; returns it without its terminator. */
    static String read(Connection connection, Duration io) throws LabHalException {
        byte[] message = readMessage(connection, io, 8192);
        String text = new String(message, StandardCharsets.ISO_8859_1);
        return text.endsWith("\r\n") ? text.substring(0, text.length() - 2)
                : text.endsWith("\n") || text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
    }

    /** Reads one message, terminator included, in chunks of {@code chunk} bytes. */
    static byte[] readMessage(Connection connection, Duration io, int chunk) throws LabHalException {
        ByteArrayOutputStream message = new ByteArrayOutputStream();
        ByteBuffer buffer = ByteBuffer.allocate(chunk);
        try {
            while (true) {
                buffer.clear();
                boolean end = connection.read(buffer, io);
                message.write(buffer.array(), 0, buffer.position());
                if (end) {
                    return message.toByteArray();
                }
            }
        } catch (IoTimeoutException timeout) {
            connection.clear(io); // as DefaultSession resynchronises
            throw timeout;
        }
    }
}
