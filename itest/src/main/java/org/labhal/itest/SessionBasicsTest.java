package org.labhal.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.labhal.api.InstrumentError;
import org.labhal.api.InstrumentErrorException;
import org.labhal.api.InvalidResourceException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionClosedException;
import org.labhal.api.SessionFactory;
import org.labhal.api.SessionOptions;
import org.labhal.api.TransportKind;
import org.labhal.api.TransportUnavailableException;
import org.labhal.api.dto.LockInfo;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.LockPolicy;
import org.labhal.api.lock.LockService;
import org.labhal.api.lock.LockTimeoutException;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/** The session data path through the OSGi services: errors, diagnostics and transport removal. */
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
class SessionBasicsTest {
    private static final AtomicInteger INSTANCES = new AtomicInteger(500);

    @InjectService(timeout = 10_000)
    SessionFactory sessions;

    @InjectService(timeout = 10_000)
    LockService locks;

    @InjectBundleContext
    BundleContext context;

    private static String smw() {
        return "SIM::SMW200A::" + INSTANCES.incrementAndGet() + "::INSTR";
    }

    @Test
    void simulatedGeneratorAnswersThroughAServiceOpenedSession() throws Exception {
        assertTrue(sessions.transports().contains(TransportKind.SIM), "SIM transport installed");
        try (Session session = sessions.open(smw())) {
            assertTrue(session.query("*IDN?").contains("SMW200A"), "identifies itself");
            session.write("FREQ 2.5 GHz");
            assertEquals(2.5e9, Double.parseDouble(session.query("FREQ?")));
            assertEquals(LockPolicy.SHARED_BUFFER, session.lockPolicy(), "unknown instruments get the safe default");
        }
    }

    @Test
    void missingTransportIsNamed() throws Exception {
        // Every kind has a transport in this run: take the HiSLIP one away for the duration of the test
        Bundle hislip = Arrays.stream(context.getBundles())
                .filter(b -> "org.labhal.transport.hislip".equals(b.getSymbolicName())).findFirst().orElseThrow();
        hislip.stop();
        try {
            TransportUnavailableException e = assertThrows(TransportUnavailableException.class,
                    () -> sessions.open("TCPIP::127.0.0.1::hislip0::INSTR"));
            assertEquals(TransportKind.HISLIP, e.kind());
            assertTrue(e.getMessage().contains("HISLIP")
                    && e.getMessage().contains("TCPIP0::127.0.0.1::hislip0::INSTR"), e.getMessage());
        } finally {
            hislip.start();
        }
    }

    @Test
    void malformedResourcePointsAtTheBadPart() {
        InvalidResourceException e = assertThrows(InvalidResourceException.class,
                () -> sessions.open("TCPIP::127.0.0.1::99999::SOCKET"));
        assertTrue(e.getMessage().contains("99999"), e.getMessage());
    }

    @Test
    void errorCheckingRaisesEveryQueuedErrorWithinTheStep() throws Exception {
        try (Session session = sessions.open(ResourceAddress.parse(smw()),
                SessionOptions.defaults().withErrorChecking(true))) {
            session.write("FREQ 1 GHz"); // fine: no exception
            InstrumentErrorException e = assertThrows(InstrumentErrorException.class, () -> session.write("FREQ 99 THz"));
            assertEquals("FREQ 99 THz", e.command());
            assertEquals(-222, e.errors().get(0).code(), e.getMessage());
            e = assertThrows(InstrumentErrorException.class, () -> session.write("FREQ 1 Hz;:POW 99"));
            assertEquals(List.of(-222, -222), e.errors().stream().map(InstrumentError::code).toList(), e.getMessage());
            session.setErrorChecking(false);
            session.write("BOGUS:HEADER");
            assertEquals(-113, session.errors().get(0).code());
            assertEquals(List.of(), session.errors(), "the queue was read empty");
        }
    }

    @Test
    void lockTimeoutOfAStepNamesTheHolderAndDiagnosticsShowIt() throws Exception {
        String resource = smw();
        try (Session a = sessions.open(resource); Session b = sessions.open(resource)) {
            b.setLockTimeout(Duration.ofMillis(50));
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            CompletableFuture<Void> holder = CompletableFuture.runAsync(() -> {
                Thread.currentThread().setName("long-sweep");
                try (Lease lease = a.lock().acquire(Duration.ofSeconds(5),
                        org.labhal.api.lock.Priority.NORMAL, "sweep")) {
                    held.countDown();
                    release.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertTrue(held.await(10, TimeUnit.SECONDS));
            LockTimeoutException e = assertThrows(LockTimeoutException.class, () -> b.query("*IDN?"));
            assertTrue(e.getMessage().contains("long-sweep") && e.getMessage().contains("sweep"), e.getMessage());
            LockInfo info = locks.locks().stream().filter(i -> i.name().equals(a.lock().name())).findFirst()
                    .orElseThrow();
            assertEquals("long-sweep", info.holder().orElseThrow().thread());
            assertEquals(1, info.timeouts());
            release.countDown();
            holder.get(10, TimeUnit.SECONDS);
            assertFalse(b.query("*IDN?").isEmpty(), "works again once free");
        }
    }

    @Test
    void stoppingTheTransportBundleFailsBlockedCallersAndReleasesTheirLocks() throws Exception {
        Bundle sim = Arrays.stream(context.getBundles())
                .filter(b -> b.getSymbolicName().equals("org.labhal.transport.sim")).findFirst().orElseThrow();
        Session session = sessions.open(ResourceAddress.parse(smw()),
                SessionOptions.defaults().withIoTimeout(Duration.ofSeconds(60)));
        try {
            CompletableFuture<Throwable> blocked = new CompletableFuture<>();
            Thread reader = new Thread(() -> {
                try {
                    session.read(); // nothing was asked: waits for the I/O timeout
                    blocked.complete(null);
                } catch (Throwable t) {
                    blocked.complete(t);
                }
            }, "blocked-reader");
            reader.start();
            await(() -> session.lock().info().holder().map(h -> h.thread().equals("blocked-reader")).orElse(false),
                    "the reader holds the lock");
            sim.stop();
            Throwable failure = blocked.get(10, TimeUnit.SECONDS); // long before the 60 s I/O timeout
            assertInstanceOf(SessionClosedException.class, failure, String.valueOf(failure));
            assertTrue(failure.getMessage().contains("transport"), failure.getMessage());
            assertTrue(session.lock().info().holder().isEmpty(), "the lock was released");
            assertThrows(SessionClosedException.class, () -> session.query("*IDN?"));
            assertFalse(session.isOpen());
            TransportUnavailableException absent = assertThrows(TransportUnavailableException.class,
                    () -> sessions.open(smw()));
            assertTrue(absent.getMessage().contains("SIM"), absent.getMessage());
        } finally {
            session.close();
            sim.start();
        }
        await(() -> sessions.transports().contains(TransportKind.SIM), "the SIM transport is back");
        try (Session again = sessions.open(smw())) {
            assertFalse(again.query("*IDN?").isEmpty());
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
