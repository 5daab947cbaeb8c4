package org.labhal.transport.sim.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.InstrumentLockUnsupportedException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.RemoteLocal;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionClosedException;
import org.labhal.api.SessionOptions;
import org.labhal.api.TransportKind;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.api.lock.LockPolicy;

/**
 * The session data path over the SIM transport, outside OSGi: the components are built with
 * {@code new} as DS would build them.
 */
class SimSessionTest {
    private final SimTransportFactory transport = new SimTransportFactory();
    private final DefaultSessionFactory sessions = new DefaultSessionFactory(new DefaultLockService());

    SimSessionTest() {
        sessions.addTransport(transport);
    }

    @AfterEach
    void stop() {
        sessions.deactivate();
        transport.deactivate();
    }

    private Session open(String resource, LockPolicy policy) throws LabHalException {
        return sessions.open(ResourceAddress.parse(resource), SessionOptions.defaults().withLockPolicy(policy)
                .withIoTimeout(Duration.ofMillis(300)));
    }

    @Test
    void shareAdoptAndBreakAwayMoveLocksNotConnections() throws Exception {
        try (Session a = open("SIM::SHARED::1::INSTR", LockPolicy.INDEPENDENT_SESSIONS);
                Session b = open("SIM::SHARED::1::INSTR", LockPolicy.INDEPENDENT_SESSIONS)) {
            assertNotSame(a.lock(), b.lock());
            b.adoptLock(a.lock());
            assertSame(a.lock(), b.lock());
            Session twin = a.share();
            assertSame(a.lock(), twin.lock());
            assertEquals(2, sessions.openConnections(), "share() adds a handle, not a connection");
            twin.breakAway();
            assertNotSame(a.lock(), twin.lock());
            assertSame(a.lock(), b.lock(), "breaking away moves only that handle");
            assertEquals("X1", twin.query("SIM:ECHO? X1"));
            twin.close();
            assertEquals("A1", a.query("SIM:ECHO? A1"), "the connection stays open for the other handle");
        }
        assertEquals(0, sessions.openConnections());
    }

    @Test
    void theStatusByteIsTheSimulatorsOwnAndTriggerAndRemoteLocalAreAccepted() throws Exception {
        try (Session a = open("SIM::SMW200A::4::INSTR", LockPolicy.INDEPENDENT_SESSIONS)) {
            a.setErrorChecking(false);
            assertTrue(a.instrumentControlSupported());
            assertEquals(0, a.readStatusByte(), "a fresh instrument");
            a.write("BOGUS:COMMAND 1");
            assertEquals("1", a.query("*OPC?"));

            assertEquals(0x04, a.readStatusByte(), "EAV: the error waits in the queue");
            a.trigger();
            a.remoteLocal(RemoteLocal.LOCAL_LOCKOUT);
            assertEquals("still", a.query("SIM:ECHO? still"));
        }
    }

    @Test
    void theSimTransportHasNoInstrumentSideLock() throws Exception {
        try (Session a = open("SIM::SHARED::3::INSTR", LockPolicy.INDEPENDENT_SESSIONS)) {
            InstrumentLockUnsupportedException e = assertThrows(InstrumentLockUnsupportedException.class,
                    () -> a.lockInstrument(Duration.ofSeconds(1)));
            assertEquals(TransportKind.SIM, e.kind());
            assertTrue(e.getMessage().contains("SIM::SHARED::3::INSTR") && e.getMessage().contains("SIM transport"),
                    e.getMessage());
            assertTrue(a.lock().info().holder().isEmpty(), "the session lock is not left held");
            assertEquals("still", a.query("SIM:ECHO? still"));
        }
    }

    @Test
    void singleConnectionPolicyMultiplexesOneConnection() throws Exception {
        try (Session a = open("SIM::SHARED::2::INSTR", LockPolicy.SINGLE_CONNECTION);
                Session b = open("SIM::SHARED::2::INSTR", LockPolicy.SINGLE_CONNECTION)) {
            assertEquals(1, sessions.openConnections());
            assertSame(a.lock(), b.lock());
            assertEquals("B", b.query("SIM:ECHO? B"));
            a.close();
            assertEquals("B2", b.query("SIM:ECHO? B2"));
        }
        assertEquals(0, sessions.openConnections());
    }

    @Test
    void readTimeoutNamesTheResourceAndLeavesTheSessionUsable() throws Exception {
        try (Session session = open("SIM::SMW200A::3::INSTR", LockPolicy.INDEPENDENT_SESSIONS)) {
            IoTimeoutException e = assertThrows(IoTimeoutException.class, session::read, "nothing was asked");
            assertTrue(e.getMessage().contains("SIM::SMW200A::3::INSTR"), e.getMessage());
            assertTrue(session.lock().info().holder().isEmpty(), "the failed step released the lock");
            assertEquals("fresh", session.query("SIM:ECHO? fresh"));
            assertEquals(-420, session.errors().get(0).code(), "the instrument saw the unterminated query");
        }
    }

    @Test
    void closedSessionRefusesSteps() throws Exception {
        Session session = open("SIM::SMW200A::4::INSTR", LockPolicy.INDEPENDENT_SESSIONS);
        session.close();
        session.close(); // idempotent
        assertFalse(session.isOpen());
        assertInstanceOf(SessionClosedException.class, assertThrows(LabHalException.class, () -> session.query("*IDN?")));
        assertThrows(SessionClosedException.class, session::share);
    }

    @Test
    void badSimulatorOptionsAreNamed() {
        LabHalException e = assertThrows(LabHalException.class,
                () -> sessions.open("SIM::SMW200A::5::INSTR?delay=soon"));
        assertTrue(e.getMessage().contains("delay=soon"), e.getMessage());
        e = assertThrows(LabHalException.class, () -> sessions.open("SIM::NOSUCH::INSTR"));
        assertTrue(e.getMessage().contains("NOSUCH"), e.getMessage());
    }
}
