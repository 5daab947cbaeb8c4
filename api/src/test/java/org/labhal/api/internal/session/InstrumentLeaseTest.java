package org.labhal.api.internal.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.InstrumentLockUnsupportedException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.TransportKind;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.LockTimeoutException;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.InstrumentLocking;
import org.labhal.api.transport.TransportFactory;

/** The layered lock: session lock first, instrument-side lock second, released in reverse. */
class InstrumentLeaseTest {
    private static final String VXI11 = "TCPIP::127.0.0.1::inst0::INSTR";
    private static final Duration WAIT = Duration.ofSeconds(2);

    /** Records each call with whether the session lock was held by the caller at that moment. */
    private final class LockingConnection extends PlainLink implements InstrumentLocking {
        final List<String> events = new ArrayList<>();
        LabHalException lockFailure;
        RuntimeException lockRejection;
        LabHalException unlockFailure;
        Duration lastLockTimeout;

        @Override
        public void lockInstrument(Duration timeout, String sharedKey) throws LabHalException {
            events.add("lock " + sharedKey + " sessionHeld=" + session.lock().isHeldByCurrentThread());
            lastLockTimeout = timeout;
            if (lockRejection != null) {
                throw lockRejection;
            }
            if (lockFailure != null) {
                throw lockFailure;
            }
        }

        @Override
        public void unlockInstrument(Duration timeout) throws LabHalException {
            events.add("unlock sessionHeld=" + session.lock().isHeldByCurrentThread());
            if (unlockFailure != null) {
                throw unlockFailure;
            }
        }

        @Override
        public String describe() {
            return "scripted locking link";
        }
    }

    private final LockingConnection link = new LockingConnection();
    private Session session;

    private Session open(Connection connection, String resource) throws LabHalException {
        return open(connection, resource, SessionOptions.defaults());
    }

    private Session open(Connection connection, String resource, SessionOptions options) throws LabHalException {
        DefaultSessionFactory factory = FixedTransport.factoryFor(connection);
        return factory.open(ResourceAddress.parse(resource), options);
    }

    @AfterEach
    void closeSession() {
        if (session != null) {
            session.close();
        }
    }

    private boolean sessionLockFree() {
        return session.lock().info().holder().isEmpty();
    }

    @Test
    void takesSessionLockFirstAndReleasesInReverse() throws Exception {
        session = open(link, VXI11);
        try (Lease lease = session.lockInstrument(WAIT)) {
            assertSame(session.lock(), lease.lock());
            assertTrue(session.lock().isHeldByCurrentThread());
            assertEquals(List.of("lock null sessionHeld=true"), link.events);
        }
        assertEquals(List.of("lock null sessionHeld=true", "unlock sessionHeld=true"), link.events);
        assertTrue(sessionLockFree());
    }

    @Test
    void passesTheSharedKeyAndTheRestOfTheTimeout() throws Exception {
        session = open(link, VXI11);
        try (Lease lease = session.lockInstrument(WAIT, "bench")) {
            assertEquals("lock bench sessionHeld=true", link.events.get(0));
            assertTrue(link.lastLockTimeout.compareTo(WAIT) <= 0, link.lastLockTimeout.toString());
            assertFalse(link.lastLockTimeout.isNegative());
        }
    }

    @Test
    void instrumentRefusalReleasesTheSessionLock() throws Exception {
        session = open(link, VXI11);
        link.lockFailure = new LabHalException("device locked by another link");
        LabHalException e = assertThrows(LabHalException.class, () -> session.lockInstrument(WAIT));
        assertSame(link.lockFailure, e);
        assertTrue(sessionLockFree());
        assertFalse(session.lock().isHeldByCurrentThread());
    }

    @Test
    void uncheckedRefusalReleasesTheSessionLock() throws Exception {
        session = open(link, VXI11);
        link.lockRejection = new IllegalArgumentException("exclusive only");
        assertThrows(IllegalArgumentException.class, () -> session.lockInstrument(WAIT, "bench"));
        assertTrue(sessionLockFree());
    }

    @Test
    void failedReleaseClosesTheLinkSoTheInstrumentFreesItsLock() throws Exception {
        session = open(link, VXI11);
        link.unlockFailure = new LabHalException("no answer to device_unlock");
        Lease lease = session.lockInstrument(WAIT);
        lease.close();
        assertTrue(sessionLockFree());
        assertTrue(link.closed, "closing the link is the release that cannot fail");
        assertFalse(session.isOpen());
        lease.close(); // idempotent
        assertEquals(1, link.events.stream().filter(ev -> ev.startsWith("unlock")).count());
    }

    @Test
    void busySessionLockTimesOutWithoutAskingTheInstrument() throws Exception {
        session = open(link, VXI11);
        CompletableFuture<Void> held = new CompletableFuture<>();
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread holder = new Thread(() -> {
            try (Lease lease = session.lock().acquire(WAIT)) {
                held.complete(null);
                done.get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                held.completeExceptionally(e);
            }
        }, "lock-holder");
        holder.start();
        try {
            held.get(10, TimeUnit.SECONDS);
            assertThrows(LockTimeoutException.class, () -> session.lockInstrument(Duration.ZERO));
            assertTrue(link.events.isEmpty(), link.events.toString());
        } finally {
            done.complete(null);
            holder.join(10_000);
        }
    }

    @Test
    void nestedLeasesShareOneInstrumentHold() throws Exception {
        session = open(link, VXI11);
        try (Lease outer = session.lockInstrument(WAIT)) {
            try (Lease inner = session.lockInstrument(WAIT)) {
                assertEquals(1, link.events.size());
            }
            assertEquals(1, link.events.size(), "the inner close must not release the outer hold");
            assertThrows(IllegalArgumentException.class, () -> session.lockInstrument(WAIT, "other"));
            assertTrue(session.lock().isHeldByCurrentThread());
        }
        assertEquals(List.of("lock null sessionHeld=true", "unlock sessionHeld=true"), link.events);
        assertTrue(sessionLockFree());
    }

    @Test
    void otherThreadCannotCloseTheLease() throws Exception {
        session = open(link, VXI11);
        try (Lease lease = session.lockInstrument(WAIT)) {
            CompletableFuture<Throwable> failure = new CompletableFuture<>();
            Thread other = new Thread(() -> {
                try {
                    lease.close();
                    failure.complete(null);
                } catch (Throwable t) {
                    failure.complete(t);
                }
            }, "stranger");
            other.start();
            assertTrue(failure.get(10, TimeUnit.SECONDS) instanceof IllegalStateException);
            assertEquals(1, link.events.size(), "a refused close must not unlock the instrument");
        }
    }

    @Test
    void transportWithoutInstrumentLockSaysSo() throws Exception {
        session = open(new PlainLink(), "TCPIP::127.0.0.1::5025::SOCKET");
        InstrumentLockUnsupportedException e = assertThrows(InstrumentLockUnsupportedException.class,
                () -> session.lockInstrument(WAIT));
        assertEquals(TransportKind.SOCKET, e.kind());
        assertTrue(e.getMessage().contains("TCPIP") && e.getMessage().contains("SOCKET"), e.getMessage());
        assertTrue(sessionLockFree());
        assertFalse(session.instrumentLockSupported());
        assertFalse(session.instrumentLock());
    }

    @Test
    void sessionsReportWhetherTheyCanAndDoLockTheInstrument() throws Exception {
        session = open(link, VXI11);
        assertTrue(session.instrumentLockSupported());
        assertFalse(session.instrumentLock());
        session.close();
        session = open(link, VXI11, SessionOptions.defaults().withInstrumentLock(true));
        assertTrue(session.instrumentLock());
        Session twin = session.share();
        try {
            assertTrue(twin.instrumentLock() && twin.instrumentLockSupported());
        } finally {
            twin.close();
        }
    }

    @Test
    void closedLinkReleasesQuietly() throws Exception {
        session = open(link, VXI11);
        Lease lease = session.lockInstrument(WAIT);
        link.unlockFailure = new LabHalException("link gone");
        session.close();
        lease.close(); // the lock died with the link: nothing to report
        assertNull(session.lock().info().holder().orElse(null));
        session = null;
    }

    @Test
    void withInstrumentLockEveryStepTakesBothLayers() throws Exception {
        session = open(link, VXI11, SessionOptions.defaults().withInstrumentLock(true));
        assertEquals("", session.query("*IDN?"));
        assertEquals(List.of("lock null sessionHeld=true", "unlock sessionHeld=true"), link.events);
        assertTrue(sessionLockFree());
        try (Lease lease = session.lockInstrument(WAIT)) {
            session.write("A");
            session.write("B");
        }
        assertEquals(4, link.events.size(), "steps inside a lease only re-enter both layers: " + link.events);
        Session twin = session.share();
        try {
            twin.write("C");
            assertEquals(6, link.events.size(), "a shared handle keeps the setting: " + link.events);
        } finally {
            twin.close();
        }
    }

    @Test
    void withInstrumentLockARefusedStepReleasesTheSessionLock() throws Exception {
        session = open(link, VXI11, SessionOptions.defaults().withInstrumentLock(true));
        link.lockFailure = new LabHalException("device locked by another link");
        assertSame(link.lockFailure, assertThrows(LabHalException.class, () -> session.write("X")));
        assertTrue(sessionLockFree());
        link.lockFailure = null;
        session.write("Y");
        assertTrue(sessionLockFree());
    }

    @Test
    void withInstrumentLockOpeningOverATransportWithoutOneFails() {
        PlainLink plain = new PlainLink();
        InstrumentLockUnsupportedException e = assertThrows(InstrumentLockUnsupportedException.class,
                () -> open(plain, "TCPIP::127.0.0.1::5025::SOCKET", SessionOptions.defaults().withInstrumentLock(true)));
        assertEquals(TransportKind.SOCKET, e.kind());
        assertTrue(plain.closed, "the connection opened for it was closed");
    }
}
