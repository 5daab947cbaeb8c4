package org.labhal.transport.gpib.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.ResourceAddress;
import org.labhal.api.transport.Connection;

/**
 * What goes over the controller link byte for byte, against a scripted controller played by the test:
 * the set-up commands in order, ESC escaping of data sent to instruments, and answers passed on as
 * they come (the controller does no substitution on the way back).
 */
class GpibWireTest {
    private static final byte ESC = 27;
    private final GpibTransportFactory transport = new GpibTransportFactory();
    private ServerSocket server;
    private Socket peer;
    private final ByteArrayOutputStream heard = new ByteArrayOutputStream(); // guarded by itself

    @AfterEach
    void stop() throws IOException {
        transport.deactivate();
        if (peer != null) {
            peer.close();
        }
        server.close();
    }

    /** Accepts one host; answers ++ver with the version line and each ++read with {@code answer}. */
    private void controller(byte[] answer) throws IOException {
        server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        CompletableFuture.runAsync(() -> {
            try {
                peer = server.accept();
                InputStream in = peer.getInputStream();
                ByteArrayOutputStream line = new ByteArrayOutputStream();
                boolean escaped = false;
                for (int b; (b = in.read()) >= 0; ) {
                    synchronized (heard) {
                        heard.write(b);
                    }
                    if (!escaped && b == ESC) {
                        escaped = true;
                        continue;
                    }
                    if (!escaped && b == '\n') {
                        String text = line.toString(StandardCharsets.ISO_8859_1);
                        line.reset();
                        if (text.equals("++ver")) {
                            peer.getOutputStream().write("Prologix GPIB-ETHERNET Controller version 01.06.06.00\r\n"
                                    .getBytes(StandardCharsets.ISO_8859_1));
                        } else if (text.startsWith("++read")) {
                            peer.getOutputStream().write(answer);
                        }
                        continue;
                    }
                    escaped = false;
                    line.write(b);
                }
            } catch (IOException e) {
                // test over
            }
        });
        transport.addBoard(Bench.board("org.labhal.gpib.board~wire", 0,
                "TCPIP::127.0.0.1::" + server.getLocalPort() + "::SOCKET"));
    }

    private String heard() {
        synchronized (heard) {
            return heard.toString(StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void theControllerIsSetUpWithSavecfgFirstAndDataIsEscaped() throws Exception {
        controller("ok\n".getBytes(StandardCharsets.ISO_8859_1));
        try (Connection c = transport.open(ResourceAddress.parse("GPIB0::12::INSTR"), Bench.IO)) {
            byte[] data = {'A', ESC, 'B', '+', '+', 'C', '\r', 'D', '\n', 'E'};
            c.write(ByteBuffer.wrap(data), true, Bench.IO);
            assertEquals("ok\n", read(c));
        }
        String wire = heard();
        assertTrue(wire.startsWith("++savecfg 0\n++mode 1\n++auto 0\n++eoi 1\n++eos 3\n++read_tmo_ms 200\n++ifc\n++ver\n"),
                "set-up, ++savecfg 0 first: " + wire);
        String escaped = "A\u001b\u001bB\u001b+\u001b+C\u001b\rD\u001b\nE\u001b\n\n"; // data, escaped LF termination, line end
        assertTrue(wire.contains("++addr 12\n" + escaped + "++read 10\n"), "escaped data: " + Arrays.toString(
                wire.getBytes(StandardCharsets.ISO_8859_1)));
    }

    @Test
    void answersPassUnchangedAndAReadStopsAtTheTermination() throws Exception {
        byte[] answer = {'x', '+', '\r', ESC, 'y', '\n'};
        controller(answer);
        try (Connection c = transport.open(ResourceAddress.parse("GPIB0::12::INSTR"), Bench.IO)) {
            c.write(ByteBuffer.wrap("Q?".getBytes(StandardCharsets.ISO_8859_1)), true, Bench.IO);
            assertArrayEquals(answer, read(c).getBytes(StandardCharsets.ISO_8859_1));
        }
    }

    @Test
    void aSecondaryAddressIsSentAs96PlusIt() throws Exception {
        controller("ok\n".getBytes(StandardCharsets.ISO_8859_1));
        try (Connection c = transport.open(ResourceAddress.parse("GPIB0::12::4::INSTR?read_termination=lf"), Bench.IO)) {
            c.write(ByteBuffer.wrap("Q?".getBytes(StandardCharsets.ISO_8859_1)), true, Bench.IO);
            read(c);
        }
        assertTrue(heard().contains("++addr 12 100\n"), heard());
    }

    private static String read(Connection c) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(64);
        while (!c.read(b, Bench.IO)) {
            // until the termination
        }
        b.flip();
        return StandardCharsets.ISO_8859_1.decode(b).toString();
    }

}
