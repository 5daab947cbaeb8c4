package org.labhal.transport.hislip.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.transport.hislip.internal.Links.query;
import static org.labhal.transport.hislip.internal.Links.receive;
import static org.labhal.transport.hislip.internal.Links.send;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.transport.hislip.HislipLink;
import org.labhal.transport.hislip.HislipLink.LockKind;
import org.labhal.transport.hislip.HislipLockException;
import org.labhal.transport.hislip.server.HislipServer;

/**
 * Defects a review found, each proven by its test here first. A message cut short on the synchronous
 * channel, by a timeout or an interrupt, leaves nothing that could be framed after it: the link
 * closes at once with a specific exception instead of sending the next message into the middle of
 * the old one (the channel used to stay open, and its device clear then waited forever for an
 * acknowledgement). And the simulator answers a release without a lock at once.
 */
class HislipReviewFindingsTest {
    private static final Duration IO = Duration.ofSeconds(5);

    private final HislipTransportFactory factory = new HislipTransportFactory();
    private HislipServer server;

    @AfterEach
    void stop() {
        factory.deactivate();
        if (server != null) {
            server.close();
        }
    }

    private HislipLink open() throws LabHalException {
        return (HislipLink) factory.open(ResourceAddress.parse(server.resource()), IO);
    }

    /** Starts the simulator; returns A, holding the exclusive lock, and B, another session. */
    private HislipLink[] holderAndOther() throws Exception {
        server = HislipServer.builder("SMW200A").start();
        HislipLink a = open();
        HislipLink b = open();
        a.lock("", IO);
        return new HislipLink[] {a, b};
    }

    /** Sends a query from {@code b} and waits until the simulator holds it off for the lock. */
    private void holdOff(HislipLink b) throws Exception {
        send(b, "SIM:ECHO? b", IO);
        server.awaitOperationsHeldOff(1, IO);
    }

    /** B's 64 MiB write is held off by A's lock, so the instrument stops reading it mid-message. */
    @Test
    void aWriteThatTimesOutInTheMiddleOfAMessageClosesTheLink() throws Exception {
        HislipLink[] ab = holderAndOther();
        HislipLink a = ab[0];
        HislipLink b = ab[1];
        byte[] big = "*CLS\n".repeat((64 << 20) / 5).getBytes(StandardCharsets.ISO_8859_1);

        ConnectionLostException cut = assertThrows(ConnectionLostException.class,
                () -> b.write(ByteBuffer.wrap(big), true, Duration.ofMillis(500)));
        assertTrue(cut.getMessage().contains("bytes of the message"), cut.getMessage());
        assertThrows(ConnectionLostException.class, () -> query(b, "SIM:ECHO? after", IO), "b is closed");

        assertEquals(LockKind.EXCLUSIVE, a.unlock(IO));
        assertEquals("ok\n", query(a, "SIM:ECHO? ok", IO));
        HislipLink c = open();
        assertEquals("fresh\n", query(c, "SIM:ECHO? fresh", IO), "the instrument is not left waiting for the rest");
    }

    /**
     * A read waits for an answer held off by another client's lock; interrupting the reader ends it at
     * once as an interrupted step, keeps the thread's interrupt status and closes the link (before, the
     * reader spun on an instantly returning select until its deadline and reported a timeout).
     */
    @Test
    void anInterruptedReadEndsAsAnInterruptedStepAndClosesTheLink() throws Exception {
        HislipLink[] ab = holderAndOther();
        HislipLink a = ab[0];
        HislipLink b = ab[1];
        holdOff(b);
        CompletableFuture<Throwable> failure = new CompletableFuture<>();
        CompletableFuture<Boolean> stillInterrupted = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try {
                failure.complete(new AssertionError("the read returned " + receive(b, Duration.ofSeconds(30))));
            } catch (Throwable t) {
                failure.complete(t);
            }
            stillInterrupted.complete(Thread.currentThread().isInterrupted());
        }, "interrupted-reader");
        reader.start();
        while (!((HislipConnection) b).readInProgress()) {
            Thread.onSpinWait();
        }
        reader.interrupt();

        Throwable thrown = failure.get(20, TimeUnit.SECONDS);
        assertInstanceOf(StepInterruptedException.class, thrown, String.valueOf(thrown));
        assertTrue(stillInterrupted.get(5, TimeUnit.SECONDS), "the interrupt status stays set");
        assertThrows(ConnectionLostException.class, () -> query(b, "SIM:ECHO? after", IO), "b is closed");
        assertEquals(LockKind.EXCLUSIVE, a.unlock(IO));
    }

    /**
     * A release by a session that holds no lock is answered "not held" at once even while its own
     * message is held off by another client's lock, and its asynchronous channel goes on (found in
     * review: the simulator waited for the held-off message before answering, so the whole
     * asynchronous channel of that session stalled until the other client let go).
     */
    @Test
    void aReleaseWithoutALockIsAnsweredWhileTheSessionsMessageIsHeldOff() throws Exception {
        HislipLink[] ab = holderAndOther();
        HislipLink a = ab[0];
        HislipLink b = ab[1];
        holdOff(b);

        HislipLockException none = assertThrows(HislipLockException.class, () -> b.unlock(IO));
        assertEquals(HislipLockException.Reason.NOT_HELD, none.reason(), none.getMessage());
        assertEquals(new HislipLink.LockInfo(true, 1), b.lockInfo(IO), "the asynchronous channel goes on");
        assertEquals(LockKind.EXCLUSIVE, a.unlock(IO));
        assertEquals("b\n", receive(b, IO), "the held-off message ran once the lock was free");
    }
}
