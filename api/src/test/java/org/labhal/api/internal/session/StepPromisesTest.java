package org.labhal.api.internal.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.labhal.api.AnswerTooLargeException;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionClosedException;
import org.labhal.api.SessionOptions;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.TransportKind;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.LockPolicy;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.Deadline;
import org.labhal.api.transport.InstrumentLocking;
import org.labhal.api.transport.TransportFactory;

/**
 * The session core's side of issue 10's promises, each against a connection that behaves as the
 * defect's instrument or transport did: every step is atomic on its connection, bounded by its
 * timeout as a whole, bounded in memory, leaves no instrument-side lock behind whatever the interrupt
 * flag says, and never reuses a link that is out of step.
 */
class StepPromisesTest {
    private static final String SOCKET = "TCPIP::127.0.0.1::5025::SOCKET";
    private static final String VXI11 = "TCPIP::127.0.0.1::inst0::INSTR";
    /** What the grace over a timeout may be; generous, since the defects overran by seconds or forever. */
    private static final Duration GRACE = Duration.ofSeconds(2);

    private final List<Session> opened = new ArrayList<>();
    private DefaultSessionFactory factory;

    private Session open(Connection connection, String resource, SessionOptions options) throws LabHalException {
        factory = FixedTransport.factoryFor(connection);
        Session session = factory.open(ResourceAddress.parse(resource), options);
        opened.add(session);
        return session;
    }

    @AfterEach
    void closeAll() {
        opened.forEach(Session::close);
    }

    /** A base for the test links: messages end at LF, close is recorded. */
    private abstract static class Link implements Connection {
        volatile boolean closed;

        @Override
        public void clear(Duration timeout) throws LabHalException {
        }

        @Override
        public String describe() {
            return "test link";
        }

        @Override
        public boolean isOpen() {
            return !closed;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    /**
     * An instrument with one output buffer for everything on the link, as a shared-buffer meter: two
     * steps that overlap take each other's answers. It counts overlaps directly too.
     */
    private static final class SharedBufferLink extends Link {
        final AtomicInteger inside = new AtomicInteger();
        final AtomicInteger overlaps = new AtomicInteger();
        private volatile byte[] output = new byte[0];

        @Override
        public void write(ByteBuffer data, boolean end, Duration timeout) {
            enter();
            try {
                byte[] message = new byte[data.remaining()];
                data.get(message);
                Thread.yield(); // widen the window in which another step could slip in
                output = message;
            } finally {
                inside.decrementAndGet();
            }
        }

        @Override
        public boolean read(ByteBuffer into, Duration timeout) {
            enter();
            try {
                Thread.yield();
                into.put(output).put((byte) '\n');
                return true;
            } finally {
                inside.decrementAndGet();
            }
        }

        private void enter() {
            if (inside.incrementAndGet() > 1) {
                overlaps.incrementAndGet();
            }
        }
    }

    @Nested
    class HandlesOnOneConnection {
        private final SharedBufferLink link = new SharedBufferLink();

        /** Two threads, each through its own handle; returns the wrong answers counted. */
        private int race(Session first, Session second) throws Exception {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                List<Future<Integer>> wrong = new ArrayList<>();
                for (Session handle : List.of(first, second)) {
                    wrong.add(pool.submit(() -> {
                        int bad = 0;
                        for (int i = 0; i < 3000; i++) {
                            String question = handle.name() + "-" + i;
                            try {
                                if (!question.equals(handle.query(question))) {
                                    bad++;
                                }
                            } catch (RuntimeException e) { // the defect also threw IndexOutOfBoundsException
                                bad++;
                            }
                        }
                        return bad;
                    }));
                }
                return wrong.get(0).get() + wrong.get(1).get();
            } finally {
                pool.shutdownNow();
            }
        }

        /** A second handle on the session's connection. */
        private Session twinOf(Session session) throws LabHalException {
            Session twin = session.share();
            opened.add(twin);
            return twin;
        }

        @Test
        void aHandleThatBrokeAwayStillTakesTurnsOnTheConnection() throws Exception {
            Session session = open(link, SOCKET, SessionOptions.defaults());
            Session twin = twinOf(session);
            twin.breakAway();
            assertEquals(0, race(session, twin), "wrong answers");
            assertEquals(0, link.overlaps.get(), "steps overlapping on the connection");
        }

        @Test
        void aSharedHandleThatAdoptedAnotherLockStillTakesTurnsOnTheConnection() throws Exception {
            Session session = open(link, SOCKET, SessionOptions.defaults());
            Session twin = twinOf(session);
            twin.adoptLock(new DefaultLockService().newLock("elsewhere"));
            assertEquals(0, race(session, twin), "wrong answers");
            assertEquals(0, link.overlaps.get(), "steps overlapping on the connection");
        }

        @Test
        void aLeaseOnTheOldLockDoesNotHoldTheBrokenAwayHandleBeyondOneStep() throws Exception {
            Session session = open(link, SOCKET, SessionOptions.defaults());
            Session twin = twinOf(session);
            twin.breakAway();
            try (Lease lease = session.lock().acquire(Duration.ofSeconds(1))) {
                // Only the wire is shared: between the lease holder's steps the other handle goes on.
                ExecutorService pool = Executors.newSingleThreadExecutor();
                try {
                    assertEquals("other", pool.submit(() -> twin.query("other")).get());
                } finally {
                    pool.shutdownNow();
                }
            }
        }
    }

    /** An instrument-side lock that refuses to be released on an interrupted thread, as VXI-11 did. */
    private static final class LockingLink extends Link implements InstrumentLocking {
        volatile boolean locked;
        volatile int locks;
        volatile boolean interruptInWrite;
        volatile boolean unlockFails;
        volatile boolean lockUnanswered;

        @Override
        public void lockInstrument(Duration timeout, String sharedKey) throws LabHalException {
            checkTimeout(timeout);
            if (lockUnanswered) {
                throw new IoTimeoutException("test link: no answer to the lock request", timeout);
            }
            if (locked) {
                throw new LabHalException("already locked: the lock leaked");
            }
            locked = true;
            locks++;
        }

        @Override
        public void unlockInstrument(Duration timeout) throws LabHalException {
            if (Thread.currentThread().isInterrupted()) {
                throw new StepInterruptedException("refusing to send device_unlock on an interrupted thread",
                        new InterruptedException());
            }
            if (unlockFails) {
                throw new LabHalException("device_unlock: no answer");
            }
            locked = false;
        }

        @Override
        public void write(ByteBuffer data, boolean end, Duration timeout) {
            data.position(data.limit());
            if (interruptInWrite) {
                Thread.currentThread().interrupt(); // as Future.cancel(true) landing mid-step
            }
        }

        @Override
        public boolean read(ByteBuffer into, Duration timeout) throws LabHalException {
            if (Thread.currentThread().isInterrupted()) {
                throw new StepInterruptedException("interrupted reading", new InterruptedException());
            }
            into.put((byte) '1').put((byte) '\n');
            return true;
        }
    }

    /** Checks a timeout handed to a transport is a sane, non-overflowing value. */
    private static void checkTimeout(Duration timeout) {
        assertFalse(timeout.isNegative() || timeout.isZero(), "timeout " + timeout);
        Deadline.after(timeout).remainingNanos(); // must not overflow
    }

    @Nested
    class InstrumentLockUnderInterrupts {
        private final LockingLink link = new LockingLink();

        @Test
        void aLeaseClosedWithTheInterruptFlagSetStillReleasesTheInstrument() throws Exception {
            Session session = open(link, VXI11, SessionOptions.defaults());
            Lease lease = session.lockInstrument(Duration.ofSeconds(1));
            Thread.currentThread().interrupt();
            try {
                lease.close();
                assertTrue(Thread.currentThread().isInterrupted(), "the interrupt is still reported");
            } finally {
                Thread.interrupted();
            }
            assertFalse(link.locked, "the instrument-side lock leaked");
            assertTrue(session.isOpen());
            assertTrue(session.lock().info().holder().isEmpty(), "the session lock leaked");
            session.lockInstrument(Duration.ofSeconds(1)).close(); // and this session can lock again
            assertEquals(2, link.locks);
        }

        @Test
        void aStepInterruptedUnderTheInstrumentLockReleasesIt() throws Exception {
            Session session = open(link, VXI11, SessionOptions.defaults().withInstrumentLock(true));
            link.interruptInWrite = true;
            try {
                assertThrows(StepInterruptedException.class, () -> session.query("MEAS?"));
                assertTrue(Thread.currentThread().isInterrupted(), "the interrupt is still reported");
            } finally {
                Thread.interrupted();
            }
            assertFalse(link.locked, "the instrument-side lock leaked");
            link.interruptInWrite = false;
            assertEquals("1", session.query("MEAS?"));
        }

        @Test
        void aReleaseThatFailsClosesTheLinkInsteadOfLeavingTheInstrumentLocked() throws Exception {
            Session session = open(link, VXI11, SessionOptions.defaults().withInstrumentLock(true));
            link.unlockFails = true;
            session.write("*RST"); // the step succeeds; its release does not
            assertTrue(link.closed, "only a closed link frees the instrument now");
            assertFalse(session.isOpen());
            assertThrows(SessionClosedException.class, () -> session.write("*RST"));
        }

        @Test
        void aLockRequestLeftUnansweredClosesTheLinkSoALateGrantCannotLinger() throws Exception {
            Session session = open(link, VXI11, SessionOptions.defaults());
            link.lockUnanswered = true;
            assertThrows(IoTimeoutException.class, () -> session.lockInstrument(Duration.ofMillis(100)));
            assertTrue(link.closed, "the instrument may grant it later: only a closed link is sure to be free");
            assertFalse(session.isOpen());
            assertTrue(session.lock().info().holder().isEmpty(), "the session lock is free");
        }

        @Test
        void hugeTimeoutsSaturateInsteadOfOverflowing() throws Exception {
            Duration forever = Duration.ofDays(10_000_000);
            Session session = open(link, VXI11, SessionOptions.defaults().withInstrumentLock(true)
                    .withLockTimeout(forever).withIoTimeout(forever));
            assertEquals("1", session.query("MEAS?"));
            try (Lease lease = session.lockInstrument(forever)) {
                assertTrue(link.locked);
            }
            assertFalse(link.locked);
        }
    }

    /** A link whose answers and writes misbehave as the defects' instruments did. */
    private static class HostileLink extends Link {
        final StringBuilder received = new StringBuilder();
        volatile int writeLimit = Integer.MAX_VALUE; // bytes taken before a write times out
        volatile long trickleMillis; // > 0: one byte per read after this pause, never an end
        volatile boolean flood; // 64 KiB per read, never an end
        volatile boolean clearFails;
        volatile boolean readLost;
        volatile int clears;
        volatile boolean dropsCut; // the transport drops a cut message's fragment itself
        private volatile String answer = "";

        @Override
        public boolean dropsCutMessages() {
            return dropsCut;
        }

        @Override
        public void write(ByteBuffer data, boolean end, Duration timeout) throws LabHalException {
            checkTimeout(timeout);
            int take = Math.min(data.remaining(), writeLimit);
            byte[] bytes = new byte[take];
            data.get(bytes);
            received.append(new String(bytes, StandardCharsets.ISO_8859_1));
            if (data.hasRemaining()) {
                throw new IoTimeoutException("test link: the instrument stopped taking bytes", timeout);
            }
            received.append(end ? "|" : "");
            answer = "re:" + new String(bytes, StandardCharsets.ISO_8859_1);
        }

        @Override
        public boolean read(ByteBuffer into, Duration timeout) throws LabHalException {
            checkTimeout(timeout);
            if (readLost) {
                closed = true; // as a transport does when its peer resets: the link is gone
                throw new ConnectionLostException("test link: peer reset the connection", null);
            }
            if (flood) {
                byte[] junk = new byte[Math.min(into.remaining(), 65536)];
                Arrays.fill(junk, (byte) 'A');
                into.put(junk);
                return false;
            }
            if (trickleMillis > 0) {
                long pause = Math.min(trickleMillis, Deadline.after(timeout).remainingMillis());
                try {
                    Thread.sleep(pause);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new StepInterruptedException("interrupted", e);
                }
                if (pause < trickleMillis) {
                    throw new IoTimeoutException("test link: no byte within " + timeout.toMillis() + " ms", timeout);
                }
                into.put((byte) 'x');
                return false;
            }
            into.put((answer + "\n").getBytes(StandardCharsets.ISO_8859_1));
            return true;
        }

        @Override
        public void clear(Duration timeout) throws LabHalException {
            clears++;
            if (clearFails) {
                throw new IoTimeoutException("test link: the clear got no answer", timeout);
            }
            flood = false;
            trickleMillis = 0;
        }
    }

    @Nested
    class BoundedSteps {
        private final HostileLink link = new HostileLink();

        @Test
        void aTricklingAnswerEndsWithinTheIoTimeoutAsAWhole() throws Exception {
            Duration io = Duration.ofMillis(300);
            Session session = open(link, SOCKET, SessionOptions.defaults().withIoTimeout(io));
            link.trickleMillis = 40; // a byte every 40 ms: each read is well within the timeout
            long start = System.nanoTime();
            IoTimeoutException e = assertTimeoutPreemptively(io.plus(GRACE).plus(GRACE),
                    () -> assertThrows(IoTimeoutException.class, () -> session.query("MEAS?")));
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertTrue(took.compareTo(io.plus(GRACE)) < 0, "took " + took + ": " + e.getMessage());
            assertTrue(session.lock().info().holder().isEmpty(), "the session lock is free");
            assertEquals(1, link.clears, "resynchronised");
            assertEquals("re:MEAS?", session.query("MEAS?"), "the next step gets its own answer");
        }

        @Test
        void anAnswerWithoutEndStopsAtTheMaximumAnswerSize() throws Exception {
            Session session = open(link, SOCKET, SessionOptions.defaults().withMaxAnswerSize(1 << 20));
            link.flood = true;
            AnswerTooLargeException e = assertThrows(AnswerTooLargeException.class, () -> session.query("CURV?"));
            assertEquals(1 << 20, e.limit());
            assertTrue(e.getMessage().contains("1048576 bytes") && e.getMessage().contains(session.name()),
                    e.getMessage());
            assertEquals(1, link.clears, "resynchronised");
            assertEquals("re:*IDN?", session.query("*IDN?"), "the next step gets its own answer");
            session.setMaxAnswerSize(5);
            assertThrows(AnswerTooLargeException.class, () -> session.query("*IDN?"));
            assertThrows(IllegalArgumentException.class, () -> session.setMaxAnswerSize(0));
        }

        @Test
        void aCommandCutShortOnAByteStreamClosesTheLink() throws Exception {
            Session session = open(link, SOCKET, SessionOptions.defaults());
            link.writeLimit = 5;
            ConnectionLostException e = assertThrows(ConnectionLostException.class,
                    () -> session.write("SOUR:FREQ 1e9"));
            assertTrue(e.getMessage().contains("cut short"), e.getMessage());
            assertTrue(link.closed);
            assertFalse(session.isOpen());
            link.writeLimit = Integer.MAX_VALUE;
            assertThrows(SessionClosedException.class, () -> session.write("OUTP ON"));
            assertEquals("SOUR:", link.received.toString(), "nothing was glued to the fragment");
        }

        @Test
        void aCommandCutShortOnAMessageTransportIsCleared() throws Exception {
            Session session = open(link, VXI11, SessionOptions.defaults());
            link.writeLimit = 5;
            assertThrows(IoTimeoutException.class, () -> session.write("SOUR:FREQ 1e9"));
            assertEquals(1, link.clears, "a device clear drops the fragment");
            assertTrue(session.isOpen());
        }

        @Test
        void aCommandCutShortOnATransportThatDropsTheFragmentItselfIsNotClearedAgain() throws Exception {
            Session session = open(link, VXI11, SessionOptions.defaults());
            link.dropsCut = true;
            link.writeLimit = 5;
            assertThrows(IoTimeoutException.class, () -> session.write("SOUR:FREQ 1e9"));
            assertEquals(0, link.clears, "no second device clear after the transport's own");
            assertTrue(session.isOpen());
            link.writeLimit = Integer.MAX_VALUE;
            assertEquals("re:*IDN?", session.query("*IDN?"), "the next step gets its own answer");
        }

        @Test
        void aCommandThatTimedOutBeforeItsFirstByteKeepsTheLink() throws Exception {
            Session session = open(link, SOCKET, SessionOptions.defaults());
            link.writeLimit = 0;
            assertThrows(IoTimeoutException.class, () -> session.write("OUTP ON"));
            assertTrue(session.isOpen(), "nothing reached the instrument");
        }

        @Test
        void aResynchronisationThatFailsClosesTheLink() throws Exception {
            Session session = open(link, VXI11, SessionOptions.defaults().withIoTimeout(Duration.ofMillis(200)));
            link.trickleMillis = 40;
            link.clearFails = true;
            IoTimeoutException e = assertTimeoutPreemptively(GRACE.multipliedBy(2),
                    () -> assertThrows(IoTimeoutException.class, () -> session.query("MEAS?")));
            assertEquals(1, e.getSuppressed().length, "the failed clear is attached");
            assertFalse(session.isOpen(), "out of step for good: neither usable nor open is not an option");
            assertThrows(SessionClosedException.class, () -> session.query("MEAS?"));
        }

        @Test
        void aLostLinkClosesTheSessionSoItsOwnerReconnects() throws Exception {
            Session session = open(link, SOCKET, SessionOptions.defaults());
            link.readLost = true;
            assertThrows(ConnectionLostException.class, () -> session.query("MEAS?"));
            assertFalse(session.isOpen());
            assertEquals(0, factory.openConnections());
        }

        @Test
        void aLinkTheTransportClosedMeanwhileShowsAsClosed() throws Exception {
            Session session = open(link, SOCKET, SessionOptions.defaults());
            link.closed = true; // e.g. its reader thread saw the peer go
            assertFalse(session.isOpen());
            assertInstanceOf(SessionClosedException.class, assertThrows(LabHalException.class,
                    () -> session.query("MEAS?")));
        }
    }

    @Test
    void aConnectionThatClosesAsItOpensIsNotHandedOut() throws Exception {
        factory = new DefaultSessionFactory(new DefaultLockService());
        HostileLink link = new HostileLink();
        factory.addTransport(new TransportFactory() {
            @Override
            public Set<TransportKind> kinds() {
                return EnumSet.allOf(TransportKind.class);
            }

            @Override
            public Connection open(ResourceAddress address, Duration timeout) {
                factory.removeTransport(this); // the transport bundle stops while we connect
                return link;
            }
        });
        SessionClosedException e = assertThrows(SessionClosedException.class,
                () -> factory.open(ResourceAddress.parse(SOCKET), SessionOptions.defaults().withLockPolicy(
                        LockPolicy.INDEPENDENT_SESSIONS)));
        assertTrue(e.getMessage().contains("transport"), e.getMessage());
        assertTrue(link.closed);
    }

    @Test
    void concurrentOpensOfOneSingleConnectionResourceShareOneLink() throws Exception {
        factory = new DefaultSessionFactory(new DefaultLockService());
        AtomicInteger opens = new AtomicInteger();
        List<Thread> openers = new CopyOnWriteArrayList<>();
        factory.addTransport(new TransportFactory() {
            private volatile boolean inUse;

            @Override
            public Set<TransportKind> kinds() {
                return EnumSet.allOf(TransportKind.class);
            }

            @Override
            public Connection open(ResourceAddress address, Duration timeout) throws LabHalException {
                opens.incrementAndGet();
                if (inUse) {
                    throw new LabHalException(address.canonical() + ": port in use"); // as a serial port says
                }
                inUse = true;
                // The port stays opening until every other opener has come as far as it can: refused
                // (back in the pool, parked) or waiting for this open (blocked on the factory's gate).
                Deadline bound = Deadline.after(Duration.ofSeconds(5));
                while (!bound.expired() && (openers.size() < 8 || openers.stream().anyMatch(t -> t != Thread
                        .currentThread() && t.getState() == Thread.State.RUNNABLE))) {
                    Thread.yield();
                }
                return new HostileLink() {
                    @Override
                    public void close() {
                        super.close();
                        inUse = false;
                    }
                };
            }
        });
        ExecutorService pool = Executors.newFixedThreadPool(8, task -> {
            Thread opener = new Thread(task);
            openers.add(opener);
            return opener;
        });
        try {
            List<Future<Session>> sessions = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                sessions.add(pool.submit(() -> factory.open(ResourceAddress.parse("ASRL/dev/ttyS0::INSTR"),
                        SessionOptions.defaults())));
            }
            for (Future<Session> session : sessions) {
                opened.add(session.get());
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, opens.get(), "one link for all");
        assertEquals(1, factory.openConnections());
        assertEquals("re:*IDN?", opened.get(7).query("*IDN?"));
    }
}
