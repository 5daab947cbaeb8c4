package org.labhal.transport.gpib.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.labhal.transport.gpib.PrologixSimulator;

/** The simulator itself, spoken to raw: read modes, read-after-write, aborts, no listener, spoll. */
class PrologixSimulatorTest {
    private PrologixSimulator simulator;
    private Socket socket;
    private InputStream in;

    @BeforeEach
    void start() throws IOException {
        simulator = PrologixSimulator.builder().instrument(22, "SHARED").instrument(5, "SMW200A").start();
        socket = new Socket(InetAddress.getLoopbackAddress(), simulator.port());
        socket.setSoTimeout(5000); // bounds a test that goes wrong; no assertion waits on it
        in = socket.getInputStream();
        send("++mode 1\n++auto 0\n++eoi 1\n++eos 3\n++read_tmo_ms 100\n");
    }

    @AfterEach
    void stop() throws IOException {
        socket.close();
        simulator.close();
    }

    private void send(String text) throws IOException {
        socket.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
        socket.getOutputStream().flush();
    }

    /** Everything up to and including the next LF. */
    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c; (c = in.read()) >= 0; ) {
            b.write(c);
            if (c == '\n') {
                break;
            }
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    @Test
    void readModesAndReadAfterWrite() throws IOException {
        send("++addr 22\nSIM:ECHO? abczdef\n++read 122\n");
        assertEquals("abcz", new String(in.readNBytes(4), StandardCharsets.ISO_8859_1));
        send("++ver\n");
        assertEquals(PrologixSimulator.DEFAULT_VERSION + "\r\n", line(), "the read stopped after the z");
        send("++read eoi\n");
        assertEquals("def\n", line(), "the rest stayed in the instrument");
        send("++auto 1\nSIM:ECHO? auto\n");
        assertEquals("auto\n", line(), "read-after-write");
        send("++auto 0\nSIM:ECHO? pending\n++spoll\n");
        assertEquals(0x10, Integer.parseInt(line().strip()) & 0x10, "MAV: an answer waits");
    }

    @Test
    void noListenerGivesNothingAndAHostByteAbortsARead() throws IOException {
        send("++addr 7\n*IDN?\n++read eoi\n++ver\n");
        assertEquals(PrologixSimulator.DEFAULT_VERSION + "\r\n", line(), "nothing from address 7");
        simulator.trickle(Duration.ofMillis(5));
        String token = "q".repeat(400);
        send("++addr 22\nSIM:ECHO? " + token + "\n++read eoi\n");
        int first = in.read(); // the answer has begun
        send("++ver\n"); // aborts the read
        String before = (char) first + line();
        assertTrue(before.endsWith(PrologixSimulator.DEFAULT_VERSION + "\r\n"), before);
        String part = before.substring(0, before.length() - PrologixSimulator.DEFAULT_VERSION.length() - 2);
        assertTrue(part.length() < token.length(), "the read was cut short: " + part.length());
        simulator.trickle(Duration.ZERO);
        send("++read eoi\n");
        assertEquals(token + "\n", part + line(), "nothing lost: the rest came with the next read");
    }
}
