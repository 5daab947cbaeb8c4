package org.labhal.transport.gpib.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.transport.Connection;

/**
 * Resynchronising the board when the controller is slow to answer, against a scripted controller whose
 * answers the test holds back: what the fault matrix's GPIB delay and mid-read cells found.
 */
class GpibResyncTest {
    private static final byte ESC = 27;
    private static final String VERSION = "Prologix GPIB-ETHERNET Controller version 01.06.06.00\r\n";
    private static final Duration SHORT = Duration.ofMillis(200);
    private final GpibTransportFactory transport = new GpibTransportFactory();
    private final Object script = new Object();
    // Guarded by script.
    private boolean holding;
    private int versionsHeld;
    private String partialAnswer;
    private byte[] lateVersion; // the answer to the releasing ++ver, sent 300 ms late or before the next answer
    private boolean flood; // a ++read starts an endless answer, 4 KiB every 10 ms; ++ver is not answered
    private boolean flooding;
    private final List<byte[]> held = new ArrayList<>();
    private ServerSocket server;
    private Socket peer;

    @AfterEach
    void stop() throws IOException {
        transport.deactivate();
        if (peer != null) {
            peer.close();
        }
        server.close();
    }

    /**
     * Accepts one host. Answers {@code ++ver} with the version line and each {@code ++read} with
     * {@code A:} and the last message. While holding, answers are kept back until the second
     * {@code ++ver} since holding began, which releases them all, in order; its own answer comes
     * 300 ms later, or at once when a {@code ++read} comes first (before that read's answer), as from
     * a controller that is slow to answer {@code ++ver}. With a partial answer set, a {@code ++read}
     * gets only that (no end) and nothing more.
     */
    private void controller() throws IOException {
        server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        CompletableFuture.runAsync(() -> {
            try {
                peer = server.accept();
                InputStream in = peer.getInputStream();
                OutputStream out = peer.getOutputStream();
                ByteArrayOutputStream line = new ByteArrayOutputStream();
                String lastMessage = "";
                boolean escaped = false;
                for (int b; (b = in.read()) >= 0; ) {
                    if (!escaped && b == ESC) {
                        escaped = true;
                        continue;
                    }
                    if (escaped || b != '\n') {
                        escaped = false;
                        line.write(b);
                        continue;
                    }
                    String text = line.toString(StandardCharsets.ISO_8859_1);
                    line.reset();
                    boolean floods;
                    synchronized (script) {
                        floods = flooding;
                    }
                    if (floods) {
                        continue; // a controller that floods does not answer
                    }
                    if (text.equals("++ver")) {
                        answer(out, VERSION, true);
                    } else if (text.startsWith("++read") && startFlood(out)) {
                        continue;
                    } else if (text.startsWith("++read")) {
                        releaseLateVersion(out);
                        String partial;
                        synchronized (script) {
                            partial = partialAnswer;
                        }
                        answer(out, partial != null ? partial : "A:" + lastMessage.strip() + "\n", false);
                    } else if (!text.startsWith("++")) {
                        lastMessage = text;
                    }
                }
            } catch (IOException e) {
                // test over
            }
        });
        transport.addBoard(Bench.board("org.labhal.gpib.board~resync", 0,
                "TCPIP::127.0.0.1::" + server.getLocalPort() + "::SOCKET"));
    }

    private void answer(OutputStream out, String text, boolean version) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
        synchronized (script) {
            if (holding) {
                held.add(bytes);
                if (!version || ++versionsHeld < 2) {
                    return;
                }
                holding = false;
                lateVersion = held.remove(held.size() - 1);
                for (byte[] h : held) {
                    out.write(h);
                }
                held.clear();
                out.flush();
                CompletableFuture.runAsync(() -> {
                    try {
                        releaseLateVersion(out);
                    } catch (IOException e) {
                        // test over
                    }
                }, CompletableFuture.delayedExecutor(300, TimeUnit.MILLISECONDS));
                return;
            }
        }
        out.write(bytes);
        out.flush();
    }

    /** @return whether a flood was asked for, and is now started */
    private boolean startFlood(OutputStream out) {
        synchronized (script) {
            if (!flood) {
                return false;
            }
            flooding = true;
        }
        Thread flooder = new Thread(() -> {
            byte[] digits = new byte[4096];
            java.util.Arrays.fill(digits, (byte) '7');
            try {
                while (true) {
                    synchronized (script) {
                        out.write(digits);
                        out.flush();
                    }
                    TimeUnit.MILLISECONDS.sleep(10); // the flood's pace: slow enough that 1 MiB takes seconds
                }
            } catch (IOException | InterruptedException e) {
                // the link closed: flood over
            }
        }, "slow-flood");
        flooder.setDaemon(true);
        flooder.start();
        return true;
    }

    private void releaseLateVersion(OutputStream out) throws IOException {
        synchronized (script) {
            if (lateVersion != null) {
                out.write(lateVersion);
                out.flush();
                lateVersion = null;
            }
        }
    }

    private void hold() {
        synchronized (script) {
            holding = true;
            versionsHeld = 0;
        }
    }

    private static void write(Connection c, String text) throws LabHalException {
        c.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.ISO_8859_1)), true, Bench.IO);
    }

    private static String read(Connection c, Duration timeout) throws LabHalException {
        ByteBuffer b = ByteBuffer.allocate(256);
        while (!c.read(b, timeout)) {
            // until the termination
        }
        b.flip();
        return StandardCharsets.ISO_8859_1.decode(b).toString().strip();
    }

    @Test
    void aResynchronisationThatGaveUpLeavesNoVersionLineToBeTakenAsTheNextAnswer() throws Exception {
        controller();
        try (Connection c = transport.open(ResourceAddress.parse("GPIB0::12::INSTR"), Bench.IO)) {
            write(c, "Q0?");
            assertEquals("A:Q0?", read(c, Bench.IO));
            hold();
            write(c, "Q1?");
            assertThrows(IoTimeoutException.class, () -> read(c, SHORT), "the answer is held back");
            // The clear resynchronises first: its ++ver is held back too, so it gives up
            assertThrows(IoTimeoutException.class, () -> c.clear(SHORT));
            // The next call's ++ver releases the first answer and the first version line, then its own
            write(c, "Q2?");
            assertEquals("A:Q2?", read(c, Bench.IO), "the version line of the resynchronisation that gave up "
                    + "must not be the next answer");
        }
    }

    @Test
    void aVersionLineAlreadyWaitingWhenTheNextCallResynchronisesIsCountedNotDiscarded() throws Exception {
        controller();
        try (Connection c = transport.open(ResourceAddress.parse("GPIB0::12::INSTR"), Bench.IO)) {
            PrologixBus bus = transport.openBoard(0).orElseThrow();
            hold();
            write(c, "Q1?");
            assertThrows(IoTimeoutException.class, () -> read(c, SHORT), "the answer is held back");
            assertThrows(IoTimeoutException.class, () -> c.clear(SHORT), "its ++ver is held back too");
            int waiting = releaseHeld(); // the rest of the answer and the first version line, before any call
            Bench.until(() -> bus.unread() == waiting, "the released bytes are in");
            write(c, "Q2?");
            assertEquals("A:Q2?", read(c, Bench.IO));
        }
    }

    /** Sends what was held back; returns how many bytes. */
    private int releaseHeld() throws IOException {
        synchronized (script) {
            holding = false;
            int n = 0;
            for (byte[] h : held) {
                peer.getOutputStream().write(h);
                n += h.length;
            }
            held.clear();
            peer.getOutputStream().flush();
            return n;
        }
    }

    @Test
    void aFloodTooSlowToReachTheHardLimitWithinTheTimeoutStillClosesTheLink() throws Exception {
        controller();
        try (Connection c = transport.open(ResourceAddress.parse("GPIB0::12::INSTR"), Bench.IO)) {
            synchronized (script) {
                flood = true;
            }
            write(c, "Q1?");
            // 400 kB/s: past the 64 KiB soft limit within the timeout, far from the 1 MiB hard limit
            ConnectionLostException e = assertThrows(ConnectionLostException.class,
                    () -> read(c, Duration.ofSeconds(1)));
            assertTrue(e.getMessage().contains("flood"), e.getMessage());
            assertFalse(c.isOpen(), "the link is closed, not left to flood the next call");
        }
    }

    @Test
    void anInterruptWithPartOfAnAnswerInClosesTheConnectionSoNoResynchronisationWaitsForTheRest()
            throws Exception {
        controller();
        Connection c = transport.open(ResourceAddress.parse("GPIB0::12::INSTR"), Bench.IO);
        try {
            GpibConnection gpib = (GpibConnection) c;
            synchronized (script) {
                partialAnswer = "par"; // and then nothing: the controller goes on forwarding, slowly
            }
            write(c, "Q1?");
            AtomicReference<Thread> reader = new AtomicReference<>();
            CompletableFuture<Throwable> failure = CompletableFuture.supplyAsync(() -> {
                reader.set(Thread.currentThread());
                try {
                    read(c, Duration.ofSeconds(30));
                    return null;
                } catch (LabHalException e) {
                    Thread.interrupted(); // the pool's thread goes back clean
                    return e;
                }
            });
            Bench.until(() -> gpib.answerBytes() > 0, "part of the answer taken in");
            reader.get().interrupt();
            Throwable t = failure.get(10, TimeUnit.SECONDS);
            assertInstanceOf(StepInterruptedException.class, t);
            assertTrue(t.getMessage().contains("part of an answer"), t.getMessage());
            assertFalse(c.isOpen(), "the connection is out of step: closed");
            // the session's resynchronisation after the interrupt: it fails at once instead of waiting
            assertThrows(ConnectionLostException.class, () -> c.clear(Bench.IO));
        } finally {
            c.close();
        }
    }
}
