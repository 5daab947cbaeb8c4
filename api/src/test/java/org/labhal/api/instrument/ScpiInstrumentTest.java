package org.labhal.api.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.api.lock.LockPolicy;

/**
 * What the simulators cannot show: they execute a message in the writer's thread, so a blocking
 * {@code *OPC?} never reaches its read timeout there. The full behaviour against the simulated SMW200A
 * is tested in the sim driver bundle.
 */
class ScpiInstrumentTest {
    private static final Duration IO = Duration.ofSeconds(2);
    private static final Duration OPC = Duration.ofMillis(150);
    private static final ModelQuirks BLOCKING = ModelQuirks.defaults().withOpcPolling(false).withOpcTimeout(OPC);

    private final AtomicReference<Session> current = new AtomicReference<>();
    private final AtomicReference<Duration> sessionTimeoutDuringWait = new AtomicReference<>();
    private final ScriptedTransport instrument = new ScriptedTransport(message -> switch (message) {
        case "*IDN?" -> "ACME,BOX1,7,1.0";
        case "*OPT?" -> "\"K1\", K22 ,0";
        case "NUM?" -> "not a number";
        case "BOOL?" -> "2";
        case "SLOW;*OPC?" -> {
            // runs in the waiting thread: what the session handle says while the wait is on
            sessionTimeoutDuringWait.set(current.get().ioTimeout());
            yield null; // still busy: no answer within any timeout
        }
        case "QUICK;*OPC?" -> "1";
        default -> null;
    });
    private final DefaultSessionFactory sessions = new DefaultSessionFactory(new DefaultLockService());

    ScpiInstrumentTest() {
        sessions.addTransport(instrument);
    }

    @AfterEach
    void stop() {
        sessions.deactivate();
    }

    private Session open() throws LabHalException {
        Session session = sessions.open(ResourceAddress.parse("TCPIP::box.lab::5025::SOCKET"),
                SessionOptions.defaults().withLockPolicy(LockPolicy.INDEPENDENT_SESSIONS).withIoTimeout(IO));
        current.set(session);
        return session;
    }

    @Test
    void blockingWaitTimesOutWithoutTouchingTheSessionsIoTimeout() throws Exception {
        try (Session session = open()) {
            ScpiInstrument scpi = new ScpiInstrument(session, BLOCKING);
            OperationTimeoutException e = assertThrows(OperationTimeoutException.class, () -> scpi.writeAndWait("SLOW"));
            assertEquals(OPC, e.timeout());
            assertTrue(e.getMessage().contains("\"SLOW\"") && e.getMessage().contains("TCPIP0::box.lab::5025::SOCKET"),
                    e.getMessage());
            assertInstanceOf(IoTimeoutException.class, e.getCause());
            assertEquals(IO, sessionTimeoutDuringWait.get(), "other threads' steps kept the session's I/O timeout");
            assertEquals(1, instrument.readTimeouts.size(), "one read: " + instrument.readTimeouts);
            Duration read = Duration.parse(instrument.readTimeouts.get(0));
            // The read gets what is left of the answer's deadline, which started with the OPC timeout.
            assertTrue(read.compareTo(OPC) <= 0 && read.compareTo(OPC.dividedBy(2)) > 0,
                    "the *OPC? read alone used the OPC timeout: " + read);
            assertEquals(IO, session.ioTimeout());
            assertEquals(1, sessions.openConnections(), "the waiter's handle shared the connection");
            assertTrue(session.lock().info().holder().isEmpty(), "the lock was released");
            assertEquals("ACME,BOX1,7,1.0", session.query("*IDN?"), "the session still works");
        }
    }

    @Test
    void blockingWaitReturnsOnTheAnswer() throws Exception {
        try (Session session = open()) {
            new ScpiInstrument(session, BLOCKING).writeAndWait("QUICK");
            assertEquals(List.of("QUICK;*OPC?"), instrument.sent);
        }
    }

    @Test
    void pollingQuirkStillBlocksWhenTheCallerHoldsTheLock() throws Exception {
        try (Session session = open()) {
            ScpiInstrument scpi = new ScpiInstrument(session, ModelQuirks.defaults());
            try (var lease = session.lock().acquire(Duration.ofSeconds(1))) {
                scpi.writeAndWait("QUICK");
            }
            assertEquals(List.of("QUICK;*OPC?"), instrument.sent, "no *ESR? polls under the caller's own lease");
        }
    }

    @Test
    void opcTimeoutMustBePositive() throws Exception {
        try (Session session = open()) {
            ScpiInstrument scpi = new ScpiInstrument(session, BLOCKING);
            assertThrows(IllegalArgumentException.class, () -> scpi.writeAndWait("QUICK", Duration.ZERO));
            assertEquals(List.of(), instrument.sent);
        }
    }

    @Test
    void identityIsAskedOnceOrNotAtAllWhenKnown() throws Exception {
        try (Session session = open()) {
            ScpiInstrument scpi = new ScpiInstrument(session, BLOCKING);
            Identity first = scpi.identity();
            assertSame(first, scpi.identity());
            assertEquals(List.of("*IDN?"), instrument.sent);
            Identity known = Identity.parse("ACME,BOX2,8,2.0");
            assertSame(known, new ScpiInstrument(session, BLOCKING, known).identity());
            assertEquals(1, instrument.sent.size());
        }
    }

    @Test
    void optionsDropQuotesBlanksAndZero() throws Exception {
        try (Session session = open()) {
            assertEquals(List.of("K1", "K22"), new ScpiInstrument(session, BLOCKING).options());
        }
    }

    @Test
    void garbageAnswersAreNamed() throws Exception {
        try (Session session = open()) {
            ScpiInstrument scpi = new ScpiInstrument(session, BLOCKING);
            LabHalException e = assertThrows(LabHalException.class, () -> scpi.queryDouble("NUM?"));
            assertTrue(e.getMessage().contains("\"NUM?\" is not a number: \"not a number\""), e.getMessage());
            e = assertThrows(LabHalException.class, () -> scpi.queryInt("NUM?"));
            assertTrue(e.getMessage().contains("is not an integer"), e.getMessage());
            e = assertThrows(LabHalException.class, () -> scpi.queryBoolean("BOOL?"));
            assertTrue(e.getMessage().contains("\"BOOL?\" is not 0/1/ON/OFF: \"2\""), e.getMessage());
        }
    }
}
