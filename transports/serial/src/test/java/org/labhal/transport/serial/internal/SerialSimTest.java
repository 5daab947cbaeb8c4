package org.labhal.transport.serial.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.SessionClosedException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.api.lock.LockPolicy;
import org.labhal.transport.sim.SimServer;
import org.labhal.transport.sim.SimSettings;

/**
 * Simulated instruments behind a pseudo-terminal, through whole sessions: the simulator serves TCP
 * on loopback ({@link SimServer}), socat joins it to a pty, and the session opens
 * {@code ASRL<pty>::INSTR} through the serial transport. Components are built with {@code new} as
 * DS would build them.
 */
class SerialSimTest {
    private static final int THREADS = 12;
    private static final int QUERIES = 40;

    @TempDir
    Path dir;
    private final List<AutoCloseable> closeLast = new ArrayList<>();
    private final SerialTransportFactory transport = new SerialTransportFactory();
    private final DefaultSessionFactory sessions = new DefaultSessionFactory(new DefaultLockService());
    private SimServer server;
    private Socat socat;
    private Path pty;

    SerialSimTest() {
        sessions.addTransport(transport);
    }

    @AfterEach
    void stop() throws Exception {
        sessions.deactivate();
        transport.deactivate();
        for (AutoCloseable c : closeLast) {
            c.close();
        }
    }

    /** Puts a simulated instrument behind a fresh pty. */
    private void instrument(String model, SimSettings settings) throws Exception {
        server = SimServer.builder(model).settings(settings).start();
        closeLast.add(0, server);
        pty = dir.resolve("tty" + model);
        socat = Socat.ptyToTcp(pty, server.port());
        closeLast.add(0, socat);
    }

    private Session open(String options, LockPolicy policy, Duration io) throws LabHalException {
        return sessions.open(ResourceAddress.parse("ASRL" + pty + "::INSTR" + options),
                SessionOptions.defaults().withLockPolicy(policy).withIoTimeout(io)
                        .withLockTimeout(Duration.ofSeconds(60)));
    }

    @Test
    void queriesAndSettingsRoundTripThroughThePty() throws Exception {
        instrument("SMW200A", SimSettings.defaults());
        try (Session smw = open("?baud=115200&data_bits=8&parity=none&stop_bits=1&flow=none",
                LockPolicy.INDEPENDENT_SESSIONS, Duration.ofSeconds(5))) {
            assertTrue(smw.query("*IDN?").contains("SMW200A"), "identifies itself");
            smw.write("FREQ 2.5 GHz");
            assertEquals(2.5e9, Double.parseDouble(smw.query("FREQ?")));
            smw.setErrorChecking(true);
            smw.write("POW -10");
            assertEquals(-10.0, Double.parseDouble(smw.query("POW?")));
            assertEquals(1, server.openConnections(), "one pty, one connection behind it");
        }
    }

    @Test
    void oneSessionManyThreadsGetsNoWrongAnswer() throws Exception {
        instrument("SHARED", SimSettings.defaults());
        try (Session session = open("", LockPolicy.SHARED_BUFFER, Duration.ofSeconds(10))) {
            AtomicLong right = new AtomicLong();
            AtomicLong wrong = new AtomicLong();
            Map<String, Long> errors = new ConcurrentHashMap<>();
            CountDownLatch start = new CountDownLatch(1);
            ExecutorService pool = Executors.newFixedThreadPool(THREADS, r -> new Thread(r, "talker"));
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int thread = t;
                    done.add(pool.submit(() -> {
                        start.await();
                        for (int q = 0; q < QUERIES; q++) {
                            String token = "T" + thread + "Q" + q;
                            try {
                                if (session.query("SIM:ECHO? " + token).equals(token)) {
                                    right.incrementAndGet();
                                } else {
                                    wrong.incrementAndGet();
                                }
                            } catch (LabHalException e) {
                                errors.merge(e.getClass().getSimpleName() + ": " + e.getMessage(), 1L, Long::sum);
                            }
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> f : done) {
                    f.get(120, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(Map.of(), errors);
            assertEquals(0, wrong.get(), "wrong answers");
            assertEquals(THREADS * QUERIES, right.get());
        }
    }

    @Test
    void aLateAnswerIsDrainedAfterTheTimeoutAndNeverReachesTheNextQuery() throws Exception {
        instrument("SMW200A", SimSettings.defaults().withProcessingDelay(Duration.ofMillis(500)));
        // Serial has no device clear: the drain must outlast the instrument's lateness.
        try (Session smw = open("?drain_ms=800", LockPolicy.INDEPENDENT_SESSIONS, Duration.ofMillis(200))) {
            IoTimeoutException e = assertThrows(IoTimeoutException.class, () -> smw.query("SIM:ECHO? old"));
            assertTrue(e.getMessage().contains(pty.toString()), e.getMessage());
            smw.setIoTimeout(Duration.ofSeconds(5));
            assertEquals("new", smw.query("SIM:ECHO? new"), "the answer to its own question, not the late one");
        }
    }

    @Test
    void killingThePtyMidReadGivesConnectionLostWithinTheTimeout() throws Exception {
        instrument("SMW200A", SimSettings.defaults());
        try (Session smw = open("", LockPolicy.INDEPENDENT_SESSIONS, Duration.ofSeconds(20))) {
            assertTrue(smw.query("*IDN?").contains("SMW200A"));
            CompletableFuture<Throwable> reader = CompletableFuture.supplyAsync(() -> {
                try {
                    smw.read(); // nothing was asked: waits for the I/O timeout
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            });
            assertFalse(completesWithin(reader, Duration.ofMillis(300)));
            long start = System.nanoTime();
            socat.close();
            Throwable failure = reader.get(10, TimeUnit.SECONDS);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertInstanceOf(ConnectionLostException.class, failure, String.valueOf(failure));
            assertTrue(ms < 2_000, "noticed after " + ms + " ms, not after the 20 s I/O timeout");
            assertTrue(smw.lock().info().holder().isEmpty(), "the lock was released");
            // The session closed with its lost connection, saying so; its owner opens a new one
            SessionClosedException closed = assertThrows(SessionClosedException.class, () -> smw.query("*IDN?"));
            assertTrue(closed.getMessage().contains("was lost"), closed.getMessage());
            assertFalse(smw.isOpen());
        }
    }

    @Test
    void theInstrumentDroppingItsLinkEndsThePtyAndTheStep() throws Exception {
        instrument("SMW200A", SimSettings.defaults());
        try (Session smw = open("", LockPolicy.INDEPENDENT_SESSIONS, Duration.ofSeconds(20))) {
            assertTrue(smw.query("*IDN?").contains("SMW200A"));
            long start = System.nanoTime();
            server.dropConnections(true); // socat sees the reset, exits, and the pty hangs up
            Throwable failure = assertThrows(LabHalException.class, () -> smw.query("*IDN?"));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertInstanceOf(ConnectionLostException.class, failure, String.valueOf(failure));
            assertTrue(ms < 5_000, "noticed after " + ms + " ms, not after the 20 s I/O timeout");
        }
    }

    private static boolean completesWithin(CompletableFuture<?> future, Duration wait) throws Exception {
        try {
            future.get(wait.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (java.util.concurrent.TimeoutException e) {
            return false;
        }
    }
}
