package org.labhal.itest.serial;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
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
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionClosedException;
import org.labhal.api.SessionFactory;
import org.labhal.api.SessionOptions;
import org.labhal.api.TransportKind;
import org.labhal.api.lock.LockPolicy;
import org.labhal.api.transport.TransportFactory;
import org.labhal.transport.sim.SimServer;
import org.labhal.transport.sim.SimSettings;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * The serial transport bundle in Felix: a simulated instrument served on loopback TCP and put
 * behind a pseudo-terminal by socat, reached as {@code ASRL<pty>::INSTR} through the
 * {@link SessionFactory} service.
 */
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
class SerialTransportTest {
    private static final String SERIAL_BUNDLE = "org.labhal.transport.serial";
    private static final int THREADS = 12;
    private static final int QUERIES = 40;

    @InjectService(timeout = 10_000)
    SessionFactory sessions;

    @InjectBundleContext
    BundleContext context;

    @TempDir
    Path dir;

    private SimServer server;
    private Pty pty;

    @BeforeEach
    void instrumentBehindAPty() throws Exception {
        server = SimServer.builder("SHARED").settings(SimSettings.defaults()).start();
        pty = new Pty(dir.resolve("ttySIM"), server.port());
    }

    @AfterEach
    void stop() {
        pty.close();
        server.close();
    }

    private Bundle bundle(String symbolicName) {
        return Arrays.stream(context.getBundles()).filter(b -> b.getSymbolicName().equals(symbolicName)).findFirst()
                .orElseThrow(() -> new AssertionError(symbolicName + " is not installed"));
    }

    private Session open(String options, LockPolicy policy, Duration io) throws LabHalException {
        return sessions.open(ResourceAddress.parse(pty.resource(options)), SessionOptions.defaults()
                .withLockPolicy(policy).withIoTimeout(io).withLockTimeout(Duration.ofSeconds(60)));
    }

    @Test
    void theBundleResolvesAndStartsWithJSerialComm() throws Exception {
        assertEquals(Bundle.ACTIVE, bundle(SERIAL_BUNDLE).getState(), "serial transport active");
        assertEquals(Bundle.ACTIVE, bundle("com.fazecast.jSerialComm").getState(), "jSerialComm active");
        assertTrue(sessions.transports().contains(TransportKind.SERIAL), "SERIAL served: " + sessions.transports());
        ServiceReference<?>[] serial = context.getServiceReferences(TransportFactory.class.getName(),
                "(" + TransportFactory.KINDS_PROPERTY + "=SERIAL)");
        assertEquals(1, serial.length);
        assertEquals(SERIAL_BUNDLE, serial[0].getBundle().getSymbolicName());
    }

    @Test
    void aQueryOverThePtyThroughTheServices() throws Exception {
        try (Session meter = open("?baud=115200", LockPolicy.SHARED_BUFFER, Duration.ofSeconds(5))) {
            assertTrue(meter.query("*IDN?").contains("SHARED"), "identifies itself");
            assertEquals(0.101, Double.parseDouble(meter.query("MEAS:VOLT:DC? (@101)")), 1e-9);
            assertEquals(List.of(), meter.errors());
        }
    }

    @Test
    void oneSessionManyThreadsGetsNoWrongAnswer() throws Exception {
        try (Session session = open("", LockPolicy.SHARED_BUFFER, Duration.ofSeconds(10))) {
            AtomicLong right = new AtomicLong();
            AtomicLong wrong = new AtomicLong();
            Map<String, Long> errors = new ConcurrentHashMap<>();
            CountDownLatch start = new CountDownLatch(1);
            ExecutorService pool = Executors.newFixedThreadPool(THREADS, r -> new Thread(r, "serial-talker"));
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
                                errors.merge(e.getClass().getSimpleName(), 1L, Long::sum);
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
            assertEquals(THREADS * QUERIES, right.get(), "every question got its own answer");
        }
    }

    @Test
    void sessionsOnOnePortShareItsOneConnectionWhateverThePolicy() throws Exception {
        // A serial line carries one connection: a second open of the port would fail as "in use",
        // so the session factory multiplexes every session to it and gives them one lock.
        try (Session a = open("", LockPolicy.INDEPENDENT_SESSIONS, Duration.ofSeconds(5));
                Session b = open("", LockPolicy.SHARED_BUFFER, Duration.ofSeconds(5))) {
            assertEquals(LockPolicy.SINGLE_CONNECTION, a.lockPolicy());
            assertEquals(LockPolicy.SINGLE_CONNECTION, b.lockPolicy());
            assertSame(a.lock(), b.lock());
            assertEquals("A", a.query("SIM:ECHO? A"));
            assertEquals("B", b.query("SIM:ECHO? B"), "two sessions multiplexed over the one port");
            a.close();
            assertEquals("B2", b.query("SIM:ECHO? B2"), "the port stays open for the other session");
        }
    }

    @Test
    void stoppingTheSerialBundleWakesABlockedReaderAndReleasesItsLock() throws Exception {
        Bundle serial = bundle(SERIAL_BUNDLE);
        Session session = open("", LockPolicy.SHARED_BUFFER, Duration.ofSeconds(60));
        try {
            assertFalse(session.query("*IDN?").isEmpty());
            CompletableFuture<Throwable> blocked = new CompletableFuture<>();
            Thread reader = new Thread(() -> {
                try {
                    session.read(); // nothing was asked: waits for the 60 s I/O timeout
                    blocked.complete(null);
                } catch (Throwable t) {
                    blocked.complete(t);
                }
            }, "blocked-serial-reader");
            reader.start();
            await(() -> session.lock().info().holder().map(h -> h.thread().equals("blocked-serial-reader"))
                    .orElse(false), "the reader holds the lock");
            long start = System.nanoTime();
            serial.stop();
            Throwable failure = blocked.get(10, TimeUnit.SECONDS);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertInstanceOf(SessionClosedException.class, failure, String.valueOf(failure));
            assertTrue(failure.getMessage().contains("transport"), failure.getMessage());
            assertTrue(ms < 2_000, "woke after " + ms + " ms, not after the 60 s I/O timeout");
            assertTrue(session.lock().info().holder().isEmpty(), "the lock was released");
            assertFalse(sessions.transports().contains(TransportKind.SERIAL));
        } finally {
            session.close();
            serial.start();
        }
        await(() -> sessions.transports().contains(TransportKind.SERIAL), "the serial transport is back");
        try (Session again = open("", LockPolicy.SHARED_BUFFER, Duration.ofSeconds(5))) {
            assertFalse(again.query("*IDN?").isEmpty(), "the port was released and opens again");
        }
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(5);
        }
    }
}
