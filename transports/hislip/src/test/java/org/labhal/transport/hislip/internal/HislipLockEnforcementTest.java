package org.labhal.transport.hislip.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.transport.hislip.internal.Links.query;
import static org.labhal.transport.hislip.internal.Links.receive;
import static org.labhal.transport.hislip.internal.Links.send;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.transport.hislip.HislipLink;
import org.labhal.transport.hislip.HislipLink.LockInfo;
import org.labhal.transport.hislip.HislipLink.LockKind;
import org.labhal.transport.hislip.HislipLockException;
import org.labhal.transport.hislip.server.HislipServer;

/**
 * Instrument-side locks that hold other clients off, with two or three real HiSLIP clients of one
 * simulated SMW200A over loopback. The generator's frequency is one setting shared by all sessions,
 * so the value a client reads back shows whose commands ran, and in which order; the server's count
 * of held-off operations shows that a message has arrived and waits.
 */
class HislipLockEnforcementTest {
    private static final Duration IO = Duration.ofSeconds(10);
    private static final Duration LONG = Duration.ofSeconds(60);

    private final HislipTransportFactory factory = new HislipTransportFactory();
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private HislipServer server;

    @BeforeEach
    void start() throws Exception {
        // small messages, so that a long one arrives in many fragments
        server = HislipServer.builder("SMW200A").maxMessageSize(4096).start();
    }

    @AfterEach
    void stop() {
        threads.shutdownNow();
        factory.deactivate();
        server.close();
    }

    private HislipLink open() throws LabHalException {
        return (HislipLink) factory.open(ResourceAddress.parse(server.resource()), IO);
    }

    private Future<String> answerOf(HislipLink link) {
        return threads.submit(() -> receive(link, LONG));
    }

    @Test
    void aNonHoldersQueryIsHeldOffUntilTheExclusiveHolderReleases() throws Exception {
        HislipLink a = open();
        HislipLink b = open();
        a.lock("", IO);
        send(a, "FREQ 1 GHz", IO);
        send(b, "FREQ 2 GHz;:FREQ?", IO);
        Future<String> bAnswer = answerOf(b);
        server.awaitOperationsHeldOff(1, IO); // B's message is at the instrument and waits

        assertEquals("1000000000\n", query(a, "FREQ?", IO), "B's setting did not run while A holds the lock");
        send(a, "FREQ 3 GHz", IO);
        assertEquals("3000000000\n", query(a, "FREQ?", IO));
        assertFalse(bAnswer.isDone(), "B has no answer while A holds the lock");
        assertEquals(1, server.operationsHeldOff());

        assertEquals(LockKind.EXCLUSIVE, a.unlock(IO));
        assertEquals("2000000000\n", bAnswer.get(IO.toSeconds(), TimeUnit.SECONDS));
        assertEquals("2000000000\n", query(a, "FREQ?", IO), "B's setting ran after A's last one: after the release");
        assertEquals(0, server.operationsHeldOff());
    }

    @Test
    void sharersWithTheSameKeyBothProceedWhileAnOutsiderWaits() throws Exception {
        HislipLink a = open();
        HislipLink b = open();
        HislipLink c = open();
        a.lock("bench", IO);
        b.lock("bench", IO);
        send(c, "SIM:ECHO? outsider", IO);
        Future<String> cAnswer = answerOf(c);
        server.awaitOperationsHeldOff(1, IO);

        assertEquals("froma\n", query(a, "SIM:ECHO? froma", IO));
        assertEquals("fromb\n", query(b, "SIM:ECHO? fromb", IO));
        assertEquals(LockKind.SHARED, a.unlock(IO));
        assertEquals("stillb\n", query(b, "SIM:ECHO? stillb", IO), "the remaining sharer still proceeds");
        assertFalse(cAnswer.isDone(), "the outsider waits while any sharer holds the lock");
        assertEquals(new LockInfo(false, 1), c.lockInfo(IO), "lock information is never held off");

        assertEquals(LockKind.SHARED, b.unlock(IO));
        assertEquals("outsider\n", cAnswer.get(IO.toSeconds(), TimeUnit.SECONDS));
    }

    @Test
    void aDifferentKeyOrAnExclusiveRequestWaitsForItsTimeoutThenFailsHeldElsewhere() throws Exception {
        HislipLink a = open();
        HislipLink b = open();
        HislipLink c = open();
        a.lock("bench", IO);
        b.lock("bench", IO);
        for (String key : new String[] {"other", ""}) {
            long start = System.nanoTime();
            HislipLockException e = assertThrows(HislipLockException.class, () -> c.lock(key, Duration.ofMillis(300)));
            long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(waitedMs >= e.timeout().toMillis(), "the instrument waited the " + e.timeout().toMillis()
                    + " ms it was asked to (the timeout less the time kept for the answer), not " + waitedMs + " ms");
            assertEquals(HislipLockException.Reason.HELD_ELSEWHERE, e.reason());
            assertEquals(key, e.lockString());
            assertTrue(e.getMessage().contains("2 other client(s) hold a shared lock"), e.getMessage());
        }
        assertEquals(LockKind.SHARED, a.unlock(IO));
        assertEquals(LockKind.SHARED, b.unlock(IO));

        a.lock("", IO);
        HislipLockException e = assertThrows(HislipLockException.class, () -> c.lock("bench", Duration.ofMillis(200)));
        assertEquals(HislipLockException.Reason.HELD_ELSEWHERE, e.reason());
        assertTrue(e.getMessage().contains("another client holds the exclusive lock"), e.getMessage());

        Future<Void> waiting = threads.submit(() -> {
            c.lock("bench", LONG);
            return null;
        });
        assertFalse(waiting.isDone());
        a.unlock(IO);
        waiting.get(IO.toSeconds(), TimeUnit.SECONDS); // granted at the release
        assertEquals(new LockInfo(false, 1), b.lockInfo(IO));
    }

    @Test
    void theLockIsReleasedWhenTheHolderClosesItsSession() throws Exception {
        HislipLink a = open();
        HislipLink b = open();
        a.lock("", IO);
        send(b, "SIM:ECHO? afterclose", IO);
        Future<String> bAnswer = answerOf(b);
        server.awaitOperationsHeldOff(1, IO);
        a.close();
        assertEquals("afterclose\n", bAnswer.get(IO.toSeconds(), TimeUnit.SECONDS));
        assertEquals(new LockInfo(false, 0), b.lockInfo(IO));
    }

    @Test
    void theLockIsReleasedWhenTheHoldersConnectionDrops() throws Exception {
        try (Links.CrashingClient holder = new Links.CrashingClient(server.port())) {
            assertEquals(1, holder.lockExclusive());
            HislipLink b = open();
            assertEquals(new LockInfo(true, 1), b.lockInfo(IO));
            send(b, "SIM:ECHO? afterdrop", IO);
            Future<String> bAnswer = answerOf(b);
            server.awaitOperationsHeldOff(1, IO);
            holder.crash(); // TCP reset, no goodbye
            assertEquals("afterdrop\n", bAnswer.get(IO.toSeconds(), TimeUnit.SECONDS));
            assertEquals(new LockInfo(false, 0), b.lockInfo(IO));
        }
    }

    @Test
    void aReleaseTakesEffectOnlyAfterTheHoldersLastMessageRan() throws Exception {
        HislipLink a = open();
        HislipLink b = open();
        a.lock("", IO);
        send(b, "FREQ?", IO);
        Future<String> bAnswer = answerOf(b);
        server.awaitOperationsHeldOff(1, IO);
        // a long message (about 40 fragments of 4 KiB) whose last command sets 4 GHz, then at once the
        // release: it names that message's id, so B's query must see its effect
        send(a, "FREQ 1 GHz;".repeat(15_000) + ":FREQ 4 GHz", IO);
        a.unlock(IO);
        assertEquals("4000000000\n", bAnswer.get(IO.toSeconds(), TimeUnit.SECONDS));
    }

    @Test
    void aNonHoldersRemoteLocalControlWaitsForTheLock() throws Exception {
        HislipLink a = open();
        HislipLink b = open();
        a.lock("", IO);
        assertThrows(IoTimeoutException.class,
                () -> b.remoteLocal(HislipLink.RemoteLocal.GO_TO_LOCAL, Duration.ofMillis(300)));
        server.awaitOperationsHeldOff(HislipServer.HeldOperation.REMOTE_LOCAL, 1, IO);
        a.unlock(IO);
        b.remoteLocal(HislipLink.RemoteLocal.GO_TO_LOCAL, IO); // the late answer to the first is discarded
        assertEquals("ok\n", query(b, "SIM:ECHO? ok", IO));
    }

    @Test
    void aNonHoldersDeviceClearStaysPendingUntilTheLockIsFreeAndTheNextCallCompletesIt() throws Exception {
        HislipLink a = open();
        HislipLink b = open();
        a.lock("", IO);
        send(b, "FREQ 5 GHz;:SIM:ECHO? stale", IO);
        server.awaitOperationsHeldOff(1, IO);
        IoTimeoutException e = assertThrows(IoTimeoutException.class, () -> b.clear(Duration.ofMillis(300)));
        assertTrue(e.getMessage().contains("stays pending"), e.getMessage());
        server.awaitOperationsHeldOff(HislipServer.HeldOperation.DEVICE_CLEAR, 1, IO); // the clear itself waits

        assertEquals(LockKind.EXCLUSIVE, a.unlock(IO));
        assertEquals("fresh\n", query(b, "SIM:ECHO? fresh", IO), "the next call completed the clear first");
        assertEquals("1000000000\n", query(b, "FREQ?", IO), "the clear discarded B's held message: it never ran");
        assertEquals(0, server.operationsHeldOff());
    }
}
