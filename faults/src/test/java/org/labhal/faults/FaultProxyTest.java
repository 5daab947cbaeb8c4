package org.labhal.faults;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.faults.FaultProxy.Action;
import org.labhal.faults.FaultProxy.Direction;
import org.labhal.faults.FaultProxy.Rule;

/** The proxy does what each rule says, against an echo server on loopback: the matrix trusts it. */
class FaultProxyTest {
    private final ServerSocket echo;
    private final Thread echoing;
    private final FaultProxy proxy;
    private final Socket client;

    FaultProxyTest() throws IOException {
        echo = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        echoing = new Thread(this::echo, "echo-" + echo.getLocalPort());
        echoing.setDaemon(true);
        echoing.start();
        proxy = new FaultProxy(new InetSocketAddress(InetAddress.getLoopbackAddress(), echo.getLocalPort()));
        client = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
        client.setSoTimeout(5_000);
    }

    private void echo() {
        try (Socket s = echo.accept()) {
            s.getInputStream().transferTo(s.getOutputStream());
        } catch (IOException e) {
            // closed by the test
        }
    }

    @AfterEach
    void close() throws IOException, InterruptedException {
        client.close();
        proxy.close();
        echo.close();
        echoing.join(5_000);
    }

    private void send(String text) throws IOException {
        client.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
    }

    private String receive(int count) throws IOException {
        byte[] bytes = client.getInputStream().readNBytes(count);
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    @Test
    void relaysUntouchedWithoutARule() throws IOException {
        send("HELLO\n");
        assertEquals("HELLO\n", receive(6));
    }

    @Test
    void corruptInvertsTheChosenByteOnly() throws IOException, InterruptedException {
        proxy.arm(Rule.at(Direction.TO_CLIENT, 2, Action.CORRUPT));
        send("ABCDE");
        byte[] got = client.getInputStream().readNBytes(5);
        assertArrayEquals(new byte[] {'A', 'B', (byte) ~'C', 'D', 'E'}, got);
        assertTrue(proxy.awaitReached(Duration.ZERO));
    }

    @Test
    void stallHoldsTheRestUntilHealed() throws IOException, InterruptedException {
        proxy.arm(Rule.at(Direction.TO_CLIENT, 3, Action.STALL));
        send("ABCDEF");
        assertEquals("ABC", receive(3));
        client.setSoTimeout(300);
        assertThrows(SocketTimeoutException.class, () -> client.getInputStream().read(), "held while stalled");
        proxy.heal();
        client.setSoTimeout(5_000);
        assertEquals("DEF", receive(3));
    }

    @Test
    void finEndsTheStreamAfterTheChosenByte() throws IOException {
        proxy.arm(Rule.at(Direction.TO_CLIENT, 2, Action.FIN));
        send("ABCDEF");
        InputStream in = client.getInputStream();
        assertEquals("AB", new String(in.readAllBytes(), StandardCharsets.US_ASCII), "the bytes before, then EOF");
    }

    @Test
    void rstResetsTheConnection() throws IOException {
        proxy.arm(Rule.at(Direction.TO_CLIENT, 0, Action.RST));
        send("ABCDEF");
        assertThrows(SocketException.class, () -> {
            while (client.getInputStream().read() >= 0) {
                // read until the reset arrives
            }
        });
    }

    @Test
    void floodSendsFarMoreThanWasAsked() throws IOException {
        proxy.arm(Rule.at(Direction.TO_CLIENT, 1, Action.FLOOD));
        send("A\n");
        byte[] got = client.getInputStream().readNBytes(1 << 20);
        assertEquals(1 << 20, got.length);
        assertEquals('A', got[0]);
        assertTrue(new String(got, 1, 20, StandardCharsets.US_ASCII).matches("[0-9,]+"), "digits, no terminator");
        proxy.heal();
    }

    @Test
    void truncateDropsTheRestOfTheMessageThenRelaysAgain() throws IOException, InterruptedException {
        proxy.arm(Rule.at(Direction.TO_CLIENT, 2, Action.TRUNCATE));
        send("ABCDEF\n");
        assertEquals("AB", receive(2));
        client.setSoTimeout(300);
        assertThrows(SocketTimeoutException.class, () -> client.getInputStream().read(), "the rest was dropped");
        client.setSoTimeout(5_000);
        // after the sender's pause the next message passes whole
        send("NEXT\n");
        assertEquals("NEXT\n", receive(5));
    }

    @Test
    void trickleDeliversEveryByteInOrder() throws IOException {
        proxy.arm(new Rule(Direction.TO_CLIENT, 0, Action.TRICKLE, Duration.ofMillis(5)));
        send("TRICKLE");
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        for (int i = 0; i < 7; i++) {
            got.write(client.getInputStream().read());
        }
        assertEquals("TRICKLE", got.toString(StandardCharsets.US_ASCII));
    }

    @Test
    void aRuleOnCommandsLeavesAnswersAlone() throws IOException, InterruptedException {
        proxy.arm(Rule.at(Direction.TO_INSTRUMENT, 1, Action.CORRUPT));
        send("AB");
        byte[] got = client.getInputStream().readNBytes(2);
        assertArrayEquals(new byte[] {'A', (byte) ~'B'}, got, "corrupted on the way in, echoed as such");
        assertTrue(proxy.awaitReached(Duration.ZERO));
    }
}
