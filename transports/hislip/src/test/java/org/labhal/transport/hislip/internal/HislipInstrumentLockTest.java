package org.labhal.transport.hislip.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.api.lock.Lease;
import org.labhal.transport.hislip.HislipLink;
import org.labhal.transport.hislip.HislipLockException;
import org.labhal.transport.hislip.server.HislipServer;

/**
 * Layered locks over HiSLIP: two session factories with transports of their own stand for two
 * processes, each with its own session lock, so only the instrument-side lock keeps them apart.
 */
class HislipInstrumentLockTest {
    private static final Duration LONG = Duration.ofSeconds(10);

    private final HislipTransportFactory transportA = new HislipTransportFactory();
    private final HislipTransportFactory transportB = new HislipTransportFactory();
    private final DefaultSessionFactory processA = new DefaultSessionFactory(new DefaultLockService());
    private final DefaultSessionFactory processB = new DefaultSessionFactory(new DefaultLockService());
    private HislipServer server;
    /** A third client that only watches the instrument's locks. */
    private HislipLink observer;

    @BeforeEach
    void start() throws Exception {
        processA.addTransport(transportA);
        processB.addTransport(transportB);
        server = HislipServer.builder("SMW200A").start();
        observer = (HislipLink) transportA.open(ResourceAddress.parse(server.resource()), LONG);
    }

    @AfterEach
    void stop() {
        observer.close();
        processA.deactivate();
        processB.deactivate();
        transportA.deactivate();
        transportB.deactivate();
        server.close();
    }

    private Session open(DefaultSessionFactory process) throws LabHalException {
        return process.open(ResourceAddress.parse(server.resource()), SessionOptions.defaults());
    }

    private HislipLink.LockInfo locks() throws LabHalException {
        return observer.lockInfo(LONG);
    }

    @Test
    void anExclusiveLockHeldElsewhereFailsHeldElsewhereThenSucceedsAfterRelease() throws Exception {
        try (Session a = open(processA); Session b = open(processB)) {
            try (Lease lease = a.lockInstrument(LONG)) {
                assertEquals(new HislipLink.LockInfo(true, 1), locks());
                assertTrue(a.query("*IDN?").contains("SMW200A"), "the holder's steps go through");

                long start = System.nanoTime();
                HislipLockException e = assertThrows(HislipLockException.class,
                        () -> b.lockInstrument(Duration.ofMillis(300)));
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                assertEquals(HislipLockException.Reason.HELD_ELSEWHERE, e.reason());
                assertTrue(e.getMessage().contains("another client holds the exclusive lock"), e.getMessage());
                assertTrue(took.compareTo(LONG) < 0, "failed within the timeout's order, took " + took);
                assertTrue(b.lock().info().holder().isEmpty(), "b's session lock was given back");
            }
            assertEquals(new HislipLink.LockInfo(false, 0), locks(), "closing the lease released the lock");
            try (Lease lease = b.lockInstrument(LONG)) {
                assertEquals(new HislipLink.LockInfo(true, 1), locks());
            }
            assertEquals(new HislipLink.LockInfo(false, 0), locks());
        }
    }

    @Test
    void sharedLocksAdmitTheSameKeyOnlyAndNest() throws Exception {
        try (Session a = open(processA); Session b = open(processB)) {
            try (Lease lease = a.lockInstrument(LONG, "bench"); Lease same = b.lockInstrument(LONG, "bench")) {
                assertEquals(new HislipLink.LockInfo(false, 2), locks());
                try (Lease nested = a.lockInstrument(LONG, "bench")) {
                    assertEquals(new HislipLink.LockInfo(false, 2), locks(), "a nested lease asks nothing more");
                }
                assertEquals(new HislipLink.LockInfo(false, 2), locks(), "the outer hold survives the nested one");
                try (Session c = open(processB)) {
                    HislipLockException other = assertThrows(HislipLockException.class,
                            () -> c.lockInstrument(Duration.ofMillis(200), "other"));
                    assertEquals(HislipLockException.Reason.HELD_ELSEWHERE, other.reason());
                    assertEquals("other", other.lockString());
                    assertThrows(HislipLockException.class, () -> c.lockInstrument(Duration.ZERO));
                }
            }
            assertEquals(new HislipLink.LockInfo(false, 0), locks());
        }
    }

    @Test
    void anEmptySharedKeyIsRefused() throws Exception {
        try (Session a = open(processA)) {
            assertThrows(IllegalArgumentException.class, () -> a.lockInstrument(LONG, ""));
            assertEquals(new HislipLink.LockInfo(false, 0), locks());
            assertTrue(a.lock().info().holder().isEmpty());
        }
    }

    @Test
    void withInstrumentLockEveryStepIsKeptOutWhileAnotherProcessHoldsTheLock() throws Exception {
        try (Session a = open(processA);
                Session b = processB.open(ResourceAddress.parse(server.resource()), SessionOptions.defaults()
                        .withInstrumentLock(true).withLockTimeout(Duration.ofMillis(300)))) {
            assertEquals("free", b.query("SIM:ECHO? free"));
            assertEquals(new HislipLink.LockInfo(false, 0), locks(), "the step gave the lock back");
            try (Lease lease = a.lockInstrument(LONG)) {
                HislipLockException e = assertThrows(HislipLockException.class, () -> b.query("SIM:ECHO? kept out"));
                assertEquals(HislipLockException.Reason.HELD_ELSEWHERE, e.reason());
                assertTrue(b.lock().info().holder().isEmpty());
            }
            assertEquals("again", b.query("SIM:ECHO? again"));
        }
    }
}
