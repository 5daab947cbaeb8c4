package org.labhal.transport.vxi11.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.LabHalException;
import org.labhal.api.RemoteLocal;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.api.lock.Lease;
import org.labhal.transport.vxi11.Vxi11Error;
import org.labhal.transport.vxi11.Vxi11Exception;
import org.labhal.transport.vxi11.sim.Vxi11SimServer;

/**
 * Layered locks over VXI-11: two session factories with transports of their own stand for two
 * processes, each with its own session lock, so only the instrument-side device lock keeps them apart.
 */
class Vxi11InstrumentLockTest {
    private static final Duration LONG = Duration.ofSeconds(10);

    private final Vxi11TransportFactory transportA = new Vxi11TransportFactory();
    private final Vxi11TransportFactory transportB = new Vxi11TransportFactory();
    private final DefaultSessionFactory processA = new DefaultSessionFactory(new DefaultLockService());
    private final DefaultSessionFactory processB = new DefaultSessionFactory(new DefaultLockService());
    private Vxi11SimServer server;

    @BeforeEach
    void start() throws Exception {
        processA.addTransport(transportA);
        processB.addTransport(transportB);
        server = Vxi11SimServer.builder("SMW200A").start();
    }

    @AfterEach
    void stop() {
        processA.deactivate();
        processB.deactivate();
        transportA.deactivate();
        transportB.deactivate();
        server.close();
    }

    private Session open(DefaultSessionFactory process) throws LabHalException {
        return process.open(ResourceAddress.parse(server.resource()), SessionOptions.defaults());
    }

    @Test
    void controlFunctionsAreStepsAndKeepOutOfADeviceLockHeldElsewhere() throws Exception {
        try (Session a = open(processA); Session b = open(processB)) {
            a.setErrorChecking(false);
            assertTrue(a.instrumentControlSupported());
            a.write("BOGUS:COMMAND 1");
            assertEquals("1", a.query("*OPC?"));
            assertEquals(0x04, a.readStatusByte(), "EAV: the error waits in a's queue");
            a.trigger();
            for (RemoteLocal mode : RemoteLocal.values()) {
                a.remoteLocal(mode);
            }
            try (Lease lease = a.lockInstrument(LONG)) {
                b.setIoTimeout(Duration.ofMillis(300));

                Vxi11Exception e = assertThrows(Vxi11Exception.class, () -> b.remoteLocal(RemoteLocal.LOCAL));

                assertEquals(Vxi11Error.DEVICE_LOCKED_BY_ANOTHER_LINK, e.error());
                assertTrue(b.lock().info().holder().isEmpty(), "b's session lock was given back");
                a.remoteLocal(RemoteLocal.LOCAL);
            }
            b.remoteLocal(RemoteLocal.LOCAL);
        }
    }

    @Test
    void aDeviceLockHeldElsewhereFailsWithErrorElevenThenSucceedsAfterRelease() throws Exception {
        try (Session a = open(processA); Session b = open(processB)) {
            try (Lease lease = a.lockInstrument(LONG)) {
                assertTrue(server.locked(), "the device lock is taken on the instrument");
                assertTrue(a.lock().isHeldByCurrentThread(), "the session lock is held too");
                assertTrue(a.query("*IDN?").contains("SMW200A"), "the holder's steps go through");

                long start = System.nanoTime();
                Vxi11Exception e = assertThrows(Vxi11Exception.class, () -> b.lockInstrument(Duration.ofMillis(300)));
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                assertEquals(Vxi11Error.DEVICE_LOCKED_BY_ANOTHER_LINK, e.error());
                assertTrue(e.getMessage().contains("device locked by another link"), e.getMessage());
                assertTrue(took.compareTo(LONG) < 0, "failed within the timeout's order, took " + took);
                assertTrue(b.lock().info().holder().isEmpty(), "b's session lock was given back");
            }
            assertFalse(server.locked(), "closing the lease released the device lock");
            assertFalse(a.lock().isHeldByCurrentThread(), "and then the session lock");
            try (Lease lease = b.lockInstrument(LONG)) {
                assertTrue(server.locked());
            }
            assertFalse(server.locked());
        }
    }

    @Test
    void aSharedKeyIsRefusedWithoutTouchingEitherLock() throws Exception {
        try (Session a = open(processA)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> a.lockInstrument(LONG, "bench"));
            assertTrue(e.getMessage().contains("exclusive only"), e.getMessage());
            assertFalse(server.locked());
            assertTrue(a.lock().info().holder().isEmpty());
        }
    }

    @Test
    void closingTheSessionUnderALeaseReleasesTheDeviceLock() throws Exception {
        try (Session b = open(processB)) {
            Session a = open(processA);
            Lease lease = a.lockInstrument(LONG);
            assertTrue(server.locked());
            a.close();
            lease.close(); // the link is gone and its lock with it: nothing to report
            try (Lease mine = b.lockInstrument(LONG)) {
                assertTrue(server.locked());
            }
        }
    }

    @Test
    void withInstrumentLockEveryStepIsKeptOutWhileAnotherProcessHoldsTheLock() throws Exception {
        try (Session a = open(processA);
                Session b = processB.open(ResourceAddress.parse(server.resource()), SessionOptions.defaults()
                        .withInstrumentLock(true).withLockTimeout(Duration.ofMillis(300)))) {
            assertEquals("free", b.query("SIM:ECHO? free"));
            assertFalse(server.locked(), "the step gave the device lock back");
            try (Lease lease = a.lockInstrument(LONG)) {
                Vxi11Exception e = assertThrows(Vxi11Exception.class, () -> b.query("SIM:ECHO? kept out"));
                assertEquals(Vxi11Error.DEVICE_LOCKED_BY_ANOTHER_LINK, e.error());
                assertTrue(b.lock().info().holder().isEmpty());
            }
            assertEquals("again", b.query("SIM:ECHO? again"));
        }
    }
}
