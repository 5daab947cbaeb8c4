package org.labhal.transport.gpib.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.transport.Connection;

/**
 * The negative control. A GPIB step is {@code ++addr}, the question, {@code ++read} and the answer,
 * and the controller answers from whichever device is addressed at the time. Two threads working two
 * instruments through one controller link without a lock spanning the step (answers read in several
 * small reads) get each other's bytes or lose them; with a lock held across each whole step they get
 * none wrong. The transport's connections hold the board mutex across each call and address the
 * device in every call, so through them the same two threads get none wrong without any lock of
 * their own. Wrong answers are counted, never timed.
 */
class BusLockNegativeControlTest {
    private static final int STEPS = 60;
    /** Fewer steps without the lock: each lost answer costs a 200 ms socket timeout. */
    private static final int UNLOCKED_STEPS = 15;
    private Bench bench;

    @AfterEach
    void stop() {
        bench.close();
    }

    @Test
    void withoutALockAcrossTheStepAnswersGoAstray() throws Exception {
        bench = new Bench();
        int wrong = rawSteps(null);
        System.out.println("negative control: " + wrong + " of " + 2 * UNLOCKED_STEPS + " answers wrong or lost without a lock");
        assertTrue(wrong > 0, "two threads without a lock got " + wrong + " wrong answers: the simulator must show "
                + "the hazard the bus lock prevents");
    }

    @Test
    void withALockAcrossEachWholeStepNoAnswerGoesAstray() throws Exception {
        bench = new Bench();
        assertEquals(0, rawSteps(new ReentrantLock()));
    }

    @Test
    void theTransportsCallsNeedNoLockOfTheirOwn() throws Exception {
        bench = new Bench();
        try (Connection meter = bench.open("GPIB0::22::INSTR"); Connection generator = bench.open("GPIB0::5::INSTR")) {
            CyclicBarrier start = new CyclicBarrier(2);
            AtomicInteger wrong = new AtomicInteger();
            CompletableFuture<?> a = CompletableFuture.runAsync(() -> connectionSteps(meter, "meter", start, wrong));
            CompletableFuture<?> b = CompletableFuture.runAsync(() -> connectionSteps(generator, "gen", start, wrong));
            CompletableFuture.allOf(a, b).get(60, TimeUnit.SECONDS);
            assertEquals(0, wrong.get());
        }
    }

    private static void connectionSteps(Connection c, String name, CyclicBarrier start, AtomicInteger wrong) {
        try {
            for (int i = 0; i < STEPS; i++) {
                start.await(10, TimeUnit.SECONDS);
                String token = name + i + "z".repeat(40);
                Bench.send(c, "SIM:ECHO? " + token);
                if (!token.equals(Bench.answer(c, 4, Bench.IO))) {
                    wrong.incrementAndGet();
                }
            }
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** Two threads share one raw controller link; {@code lock} (if any) spans each whole step. */
    private int rawSteps(ReentrantLock lock) throws Exception {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), bench.simulator.port())) {
            // Without the lock a lost answer costs this timeout; with it nothing is lost, and a loaded machine
            // must not turn a slow answer into a lost one.
            socket.setSoTimeout(lock == null ? 200 : 10_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            out.write("++mode 1\n++auto 0\n++eoi 1\n++eos 3\n++read_tmo_ms 100\n".getBytes(StandardCharsets.US_ASCII));
            CyclicBarrier start = new CyclicBarrier(2);
            AtomicInteger wrong = new AtomicInteger();
            CompletableFuture<?> a = CompletableFuture.runAsync(() -> raw(22, "meter", out, in, lock, start, wrong));
            CompletableFuture<?> b = CompletableFuture.runAsync(() -> raw(5, "gen", out, in, lock, start, wrong));
            CompletableFuture.allOf(a, b).get(60, TimeUnit.SECONDS);
            return wrong.get();
        }
    }

    private static void raw(int address, String name, OutputStream out, InputStream in, ReentrantLock lock,
            CyclicBarrier start, AtomicInteger wrong) {
        try {
            for (int i = 0; i < (lock == null ? UNLOCKED_STEPS : STEPS); i++) {
                start.await(10, TimeUnit.SECONDS);
                String token = name + i + "z".repeat(40);
                if (lock != null) {
                    lock.lock();
                }
                try {
                    send(out, "++addr " + address + "\n");
                    Thread.yield();
                    send(out, "SIM:ECHO? " + token + "\n");
                    Thread.yield();
                    send(out, "++read 10\n");
                    if (!token.equals(readLine(in))) {
                        wrong.incrementAndGet();
                    }
                } finally {
                    if (lock != null) {
                        lock.unlock();
                    }
                }
            }
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static void send(OutputStream out, String text) throws IOException {
        synchronized (out) { // one write is one write: only the steps interleave
            out.write(text.getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }
    }

    /** An answer read in reads of at most 4 bytes; null when none came (lost). */
    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        byte[] b = new byte[4];
        while (true) {
            int n;
            try {
                n = in.read(b, 0, b.length);
            } catch (SocketTimeoutException e) {
                return null;
            }
            if (n < 0) {
                return null;
            }
            for (int i = 0; i < n; i++) {
                if (b[i] == '\n') {
                    // the rest of this read (another answer's first bytes, if any) is lost: as in any
                    // reader that shares a stream without a lock
                    return line.toString(StandardCharsets.US_ASCII);
                }
                line.write(b[i]);
            }
        }
    }
}
