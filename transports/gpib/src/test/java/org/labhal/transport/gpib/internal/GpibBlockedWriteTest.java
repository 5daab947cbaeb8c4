package org.labhal.transport.gpib.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.transport.Connection;

/**
 * A controller that stops reading its TCP link: a write blocks in the socket, which ignores interrupts.
 * Found while adding GPIB to the fault matrix (its loopback window is too big for a 1 MiB message to
 * block there, so the matrix cannot make this cell; this test fills the link with several messages).
 */
class GpibBlockedWriteTest {
    private final GpibTransportFactory transport = new GpibTransportFactory();
    private final CountDownLatch done = new CountDownLatch(1);
    /** How the controller's reading ended once it read again: "reset", or "end after N bytes". */
    private final CompletableFuture<String> afterResuming = new CompletableFuture<>();
    private ServerSocket server;
    private Socket peer;
    private PtyBridge pty;

    @AfterEach
    void stop() throws IOException {
        done.countDown();
        transport.deactivate();
        if (pty != null) {
            pty.close();
        }
        if (peer != null) {
            peer.close();
        }
        server.close();
    }

    /** Accepts one host, answers the set-up's {@code ++ver}, then never reads again. */
    private void controllerThatStopsReading() throws IOException {
        serveControllerThatStopsReading();
        transport.addBoard(Bench.board("org.labhal.gpib.board~blocked", 0,
                "TCPIP::127.0.0.1::" + server.getLocalPort() + "::SOCKET"));
    }

    private void serveControllerThatStopsReading() throws IOException {
        server = new ServerSocket();
        server.setReceiveBufferSize(4096); // small windows: the host's writes block soon
        server.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
        CompletableFuture.runAsync(() -> {
            try {
                peer = server.accept();
                InputStream in = peer.getInputStream();
                ByteArrayOutputStream line = new ByteArrayOutputStream();
                for (int b; (b = in.read()) >= 0; ) {
                    if (b != '\n') {
                        line.write(b);
                        continue;
                    }
                    if (line.toString(StandardCharsets.ISO_8859_1).equals("++ver")) {
                        peer.getOutputStream().write("Prologix GPIB-ETHERNET Controller version 01.06.06.00\r\n"
                                .getBytes(StandardCharsets.ISO_8859_1));
                        done.await(); // stops reading until the test says
                        long n = 0;
                        try {
                            byte[] rest = new byte[1 << 16];
                            for (int k; (k = in.read(rest)) >= 0; ) {
                                n += k;
                            }
                            afterResuming.complete("end after " + n + " bytes");
                        } catch (IOException e) {
                            afterResuming.complete("reset");
                        }
                        return;
                    }
                    line.reset();
                }
            } catch (IOException | InterruptedException e) {
                // test over
            }
        });
    }

    /** @return whether {@code t} is in the controller link's write, inside the socket's native write */
    private static boolean insideSocketWrite(Thread t) {
        StackTraceElement[] stack = t.getStackTrace();
        boolean inLink = false;
        for (StackTraceElement frame : stack) {
            inLink |= frame.getClassName().endsWith("ControllerLink$Tcp") && frame.getMethodName().equals("write");
        }
        return inLink && stack.length > 0 && stack[0].getMethodName().equals("write0");
    }

    @Test
    void anInterruptEndsAWriteBlockedOnAControllerThatStoppedReadingAndClosesTheLink() throws Exception {
        controllerThatStopsReading();
        Connection c = transport.open(ResourceAddress.parse("GPIB0::12::INSTR"), Bench.IO);
        try {
            byte[] message = new byte[GpibConnection.MAX_MESSAGE - 1];
            Arrays.fill(message, (byte) 'x');
            CompletableFuture<Throwable> failure = new CompletableFuture<>();
            AtomicInteger written = new AtomicInteger();
            Thread writer = new Thread(() -> {
                try {
                    while (true) { // until the link's buffers are full and a write blocks
                        c.write(ByteBuffer.wrap(message), true, Duration.ofSeconds(60));
                        written.incrementAndGet();
                    }
                } catch (LabHalException | RuntimeException e) {
                    failure.complete(Thread.currentThread().isInterrupted() ? e : new AssertionError(
                            "the interrupt flag was cleared", e));
                }
            }, "blocked-writer");
            writer.setDaemon(true);
            writer.start();
            // Blocked: inside the socket's write with no further message completed over many looks
            int[] seen = {-1, 0};
            Bench.until(() -> {
                if (failure.isDone()) {
                    return true;
                }
                int count = written.get();
                boolean inside = insideSocketWrite(writer);
                seen[1] = inside && count == seen[0] ? seen[1] + 1 : 0;
                seen[0] = count;
                return seen[1] >= 500;
            }, "a write blocks in the socket");
            writer.interrupt();
            // before the guard looked at the interrupt flag: blocked until the 60 s deadline + 100 ms
            Throwable t = failure.get(10, TimeUnit.SECONDS);
            assertInstanceOf(StepInterruptedException.class, t);
            assertTrue(t.getMessage().contains("blocked"), t.getMessage());
            assertFalse(c.isOpen(), "part of a host line may have gone out: the link is closed");
            done.countDown(); // the controller reads again
            assertEquals("reset", afterResuming.get(10, TimeUnit.SECONDS),
                    "what the given-up write left in the socket must be dropped, not delivered to the controller");
        } finally {
            c.close();
        }
    }

    /**
     * A GPIB-USB controller (a serial port: here a pty that socat joins to a controller that stopped
     * reading): a serial write blocks in the kernel past the driver's write timeout and ignores interrupts,
     * so only closing the port ends it.
     */
    private Connection behindAPtyThatStopsReading(Path dir) throws Exception {
        serveControllerThatStopsReading();
        Path tty = dir.resolve("ttyGPIB");
        pty = PtyBridge.toTcp(tty, server.getLocalPort());
        transport.addBoard(Bench.board("org.labhal.gpib.board~usb", 0, "ASRL" + tty + "::INSTR?baud=115200"));
        return transport.open(ResourceAddress.parse("GPIB0::12::INSTR"), Bench.IO);
    }

    /** Writes 1 MiB messages with {@code timeout} each until one fails; returns that failure. */
    private static CompletableFuture<Throwable> writeUntilBlocked(Connection c, Duration timeout, Thread[] writer) {
        byte[] message = new byte[GpibConnection.MAX_MESSAGE - 1];
        Arrays.fill(message, (byte) 'x');
        CompletableFuture<Throwable> failure = new CompletableFuture<>();
        writer[0] = new Thread(() -> {
            try {
                while (true) {
                    c.write(ByteBuffer.wrap(message), true, timeout);
                }
            } catch (LabHalException | RuntimeException e) {
                failure.complete(e);
            }
        }, "blocked-serial-writer");
        writer[0].setDaemon(true);
        writer[0].start();
        return failure;
    }

    @Test
    void aSerialWriteBlockedOnAControllerThatStoppedReadingEndsAtItsDeadlineAndClosesTheLink(@TempDir Path dir)
            throws Exception {
        Connection c = behindAPtyThatStopsReading(dir);
        try {
            Thread[] writer = new Thread[1];
            Throwable t = writeUntilBlocked(c, Duration.ofSeconds(1), writer).get(30, TimeUnit.SECONDS);

            assertInstanceOf(LabHalException.class, t);
            assertTrue(t.getMessage().contains("did not complete within 1000 ms"), t.getMessage());
            assertFalse(c.isOpen(), "part of a host line may have gone out: the link is closed");
        } finally {
            c.close();
        }
    }

    @Test
    void anInterruptEndsASerialWriteBlockedOnAControllerThatStoppedReading(@TempDir Path dir) throws Exception {
        Connection c = behindAPtyThatStopsReading(dir);
        try {
            Thread[] writer = new Thread[1];
            CompletableFuture<Throwable> failure = writeUntilBlocked(c, Duration.ofSeconds(120), writer);
            Bench.until(() -> failure.isDone() || writer[0].getState() == Thread.State.RUNNABLE
                    && java.util.Arrays.stream(writer[0].getStackTrace()).anyMatch(
                            f -> f.getClassName().endsWith("ControllerLink$Serial") && f.getMethodName().equals("write"))
                    && java.util.Arrays.stream(writer[0].getStackTrace()).anyMatch(
                            f -> f.getMethodName().equals("writeBytes")), "a write blocks in the serial port");
            writer[0].interrupt();

            // before the guard: blocked until the 120 s deadline
            Throwable t = failure.get(10, TimeUnit.SECONDS);
            assertTrue(t.getMessage().contains("interrupted") || t instanceof StepInterruptedException, t.toString());
            assertFalse(c.isOpen());
        } finally {
            c.close();
        }
    }

    /** Accepts one host at a time, answers the set-up's {@code ++ver}, then resets the link at the next bytes. */
    private void controllerThatResetsOnTheFirstMessage() throws IOException {
        server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        CompletableFuture.runAsync(() -> {
            while (!server.isClosed()) {
                try (Socket host = server.accept()) {
                    InputStream in = host.getInputStream();
                    ByteArrayOutputStream line = new ByteArrayOutputStream();
                    boolean identified = false;
                    for (int b; (b = in.read()) >= 0; ) {
                        if (identified) {
                            host.setSoLinger(true, 0); // a reset, while the host is still writing
                            break;
                        }
                        if (b != '\n') {
                            line.write(b);
                        } else if (line.toString(StandardCharsets.ISO_8859_1).equals("++ver")) {
                            host.getOutputStream().write("Prologix GPIB-ETHERNET Controller version 01.06.06.00\r\n"
                                    .getBytes(StandardCharsets.ISO_8859_1));
                            identified = true;
                        } else {
                            line.reset();
                        }
                    }
                } catch (IOException e) {
                    // the next host, or the test is over
                }
            }
        });
        transport.addBoard(Bench.board("org.labhal.gpib.board~reset", 0,
                "TCPIP::127.0.0.1::" + server.getLocalPort() + "::SOCKET"));
    }

    @Test
    void aConnectionWhoseWriteLostTheLinkSaysItIsClosedWhenTheFailureReachesItsCaller() throws Exception {
        controllerThatResetsOnTheFirstMessage();
        byte[] message = new byte[GpibConnection.MAX_MESSAGE - 1];
        Arrays.fill(message, (byte) 'x');
        // the pump, which ends the board's connections, races the failing write: try it several times
        for (int round = 0; round < 10; round++) {
            Connection c = transport.open(ResourceAddress.parse("GPIB0::12::INSTR"), Bench.IO);
            try {
                LabHalException lost = null;
                for (int i = 0; i < 64 && lost == null; i++) {
                    try {
                        c.write(ByteBuffer.wrap(message), true, Bench.IO);
                    } catch (LabHalException e) {
                        lost = e;
                    }
                }
                assertInstanceOf(org.labhal.api.ConnectionLostException.class, lost);
                assertFalse(c.isOpen(), "round " + round + ": a session would reuse a connection whose link is gone");
            } finally {
                c.close();
            }
        }
    }
}
