package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** What a controller does with a {@link SimConnection}, for tests. */
final class ScpiClient {

    /** Long enough never to expire when a response is due. */
    static final Duration TIMEOUT = Duration.ofSeconds(5);
    /** Short; used where no response must come. */
    static final Duration BRIEF = Duration.ofMillis(50);

    private ScpiClient() {
    }

    /** Sends a program message with a newline and END. */
    static void send(SimConnection connection, String message) throws Exception {
        write(connection, message + "\n", true);
    }

    static void write(SimConnection connection, String bytes, boolean end) throws Exception {
        byte[] data = bytes.getBytes(StandardCharsets.ISO_8859_1);
        connection.write(data, 0, data.length, end);
    }

    /** Reads one whole response message and returns it without its terminator. */
    static String read(SimConnection connection, Duration timeout) throws Exception {
        ByteArrayOutputStream response = new ByteArrayOutputStream();
        byte[] buffer = new byte[64];
        SimRead read;
        do {
            read = connection.read(buffer, 0, buffer.length, timeout);
            response.write(buffer, 0, read.count());
        } while (!read.end());
        String text = response.toString(StandardCharsets.ISO_8859_1);
        assertTrue(text.endsWith("\n"), () -> "response not terminated by newline: " + text);
        return text.substring(0, text.length() - 1);
    }

    static String query(SimConnection connection, String message) throws Exception {
        send(connection, message);
        return read(connection, TIMEOUT);
    }

    /** Empties the error queue, returning its entries oldest first. */
    static List<String> errors(SimConnection connection) throws Exception {
        List<String> errors = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            String entry = query(connection, "SYST:ERR?");
            if (entry.equals("0,\"No error\"")) {
                return errors;
            }
            errors.add(entry);
        }
        throw new AssertionError("error queue never emptied: " + errors);
    }

    /** Empties the error queue, returning the codes oldest first. */
    static List<Integer> errorCodes(SimConnection connection) throws Exception {
        List<Integer> codes = new ArrayList<>();
        for (String entry : errors(connection)) {
            codes.add(Integer.parseInt(entry.substring(0, entry.indexOf(','))));
        }
        return codes;
    }
}
