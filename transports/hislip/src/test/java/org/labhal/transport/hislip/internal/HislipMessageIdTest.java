package org.labhal.transport.hislip.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.transport.hislip.internal.Links.query;
import static org.labhal.transport.hislip.internal.Links.receive;
import static org.labhal.transport.hislip.internal.Links.send;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.transport.hislip.HislipLink;
import org.labhal.transport.hislip.HislipProtocolException;
import org.labhal.transport.hislip.server.HislipServer;

/**
 * Every response goes to the message that asked for it, in synchronized and overlapped mode: against
 * the simulator in both modes, and against scripted peers for what a correct server never sends.
 */
class HislipMessageIdTest {
    private static final Duration IO = Duration.ofSeconds(10);
    private static final int F = MessageIds.FIRST;

    private final HislipTransportFactory factory = new HislipTransportFactory();
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private HislipServer server;

    @AfterEach
    void stop() {
        threads.shutdownNow();
        factory.deactivate();
        if (server != null) {
            server.close();
        }
    }

    private HislipLink open(boolean overlapped) throws Exception {
        if (server == null) {
            server = HislipServer.builder("SMW200A").overlapped(overlapped).start();
        }
        return (HislipLink) factory.open(ResourceAddress.parse(server.resource()), IO);
    }

    @Test
    void overlappedPipelinedQueriesAreAnsweredInOrderEachByItsOwnMessage() throws Exception {
        HislipLink link = open(true);
        assertTrue(link.overlapped());
        for (int i = 0; i < 20; i++) {
            send(link, "SIM:ECHO? q" + i, IO);
            if (i % 3 == 0) {
                send(link, "FREQ " + (i + 1) + " GHz", IO); // commands in between answer nothing
            }
        }
        for (int i = 0; i < 20; i++) {
            assertEquals("q" + i + "\n", receive(link, IO));
        }
        assertEquals(0, ((HislipConnection) link).staleDiscarded());
    }

    @Test
    void synchronizedModeTakesOnlyTheAnswerToTheLastMessage() throws Exception {
        HislipLink link = open(false);
        assertTrue(!link.overlapped());
        for (int i = 0; i < 5; i++) {
            send(link, "SIM:ECHO? q" + i, IO);
        }
        assertEquals("q4\n", receive(link, IO), "the earlier four answers are stale");
        assertEquals(4, ((HislipConnection) link).staleDiscarded());
    }

    /**
     * A read that timed out gives its answer up once the caller sends again, in both modes: the answer
     * comes later, and must not be taken for the next question's. The answer is held back for sure
     * (not by timing) because another client holds the instrument's lock.
     */
    @ParameterizedTest(name = "overlapped={0}")
    @ValueSource(booleans = {false, true})
    void anAnswerGivenUpByATimedOutReadNeverReachesTheNextQuestion(boolean overlapped) throws Exception {
        HislipLink holder = open(overlapped);
        HislipLink link = open(overlapped);
        holder.lock("", IO);
        send(link, "SIM:ECHO? old", IO);
        server.awaitOperationsHeldOff(1, IO);
        assertThrows(IoTimeoutException.class, () -> receive(link, Duration.ofMillis(200)));
        send(link, "SIM:ECHO? new", IO);
        holder.unlock(IO);
        assertEquals("new\n", receive(link, IO));
        assertEquals(1, ((HislipConnection) link).staleDiscarded(), "the answer to 'old' was discarded");
        assertEquals("after\n", query(link, "SIM:ECHO? after", IO));
    }

    @Test
    void overlappedARepeatedReadAfterATimeoutStillGetsTheAnswer() throws Exception {
        HislipLink holder = open(true);
        HislipLink link = open(true);
        holder.lock("", IO);
        send(link, "SIM:ECHO? patience", IO);
        server.awaitOperationsHeldOff(1, IO);
        assertThrows(IoTimeoutException.class, () -> receive(link, Duration.ofMillis(200)));
        holder.unlock(IO);
        assertEquals("patience\n", receive(link, IO));
    }

    /**
     * A peer that, after a device clear, sends an answer to a message of the epoch before it (ids
     * start again at 0xFFFFFF00 after a clear, so only the range tells): it is discarded, and the
     * answer with the new message's id is taken.
     */
    @ParameterizedTest(name = "overlapped={0}")
    @ValueSource(booleans = {false, true})
    void anAnswerFromBeforeADeviceClearIsDiscarded(boolean overlapped) throws Exception {
        try (RawPeer peer = new RawPeer()) {
            CompletableFuture<Void> script = CompletableFuture.runAsync(() -> {
                try {
                    peer.handshake(overlapped);
                    for (int i = 0; i < 3; i++) {
                        RawPeer.readMessage(peer.sync); // ids F, F+2, F+4
                    }
                    assertEquals(MessageType.ASYNC_DEVICE_CLEAR, RawPeer.readMessage(peer.async).type());
                    RawPeer.send(peer.async, MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, overlapped ? 1 : 0, 0,
                            new byte[0]);
                    assertEquals(MessageType.DEVICE_CLEAR_COMPLETE, RawPeer.readMessage(peer.sync).type());
                    sendData(peer, F + 2, "drained by the clear");
                    RawPeer.send(peer.sync, MessageType.DEVICE_CLEAR_ACKNOWLEDGE, overlapped ? 1 : 0, 0, new byte[0]);
                    RawPeer.Message q = RawPeer.readWhole(peer.sync);
                    assertEquals(F, q.header().parameter(), "ids start again after the clear");
                    sendData(peer, F + 4, "from before the clear");
                    sendData(peer, F, "fresh");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, threads);
            HislipLink link = (HislipLink) factory.open(ResourceAddress.parse(peer.resource()), IO);
            assertEquals(overlapped, link.overlapped());
            for (String m : new String[] {"A", "B", "C"}) {
                send(link, m, IO);
            }
            link.clear(IO);
            send(link, "Q?", IO);
            assertEquals("fresh", receive(link, IO));
            assertEquals(1, ((HislipConnection) link).staleDiscarded());
            script.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void anIdNeverSentIsAProtocolErrorNamingExpectedAndGotInSynchronizedMode() throws Exception {
        try (RawPeer peer = new RawPeer()) {
            CompletableFuture<Void> script = CompletableFuture.runAsync(() -> {
                try {
                    peer.handshake(false);
                    RawPeer.readMessage(peer.sync);
                    RawPeer.readMessage(peer.sync);
                    sendData(peer, F + 8, "a confused instrument");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, threads);
            HislipLink link = (HislipLink) factory.open(ResourceAddress.parse(peer.resource()), IO);
            send(link, "A?", IO);
            send(link, "B?", IO);
            script.get(10, TimeUnit.SECONDS);
            HislipProtocolException e = assertThrows(HislipProtocolException.class, () -> receive(link, IO));
            assertTrue(e.getMessage().contains("0xFFFFFF08") && e.getMessage().contains("expected")
                    && e.getMessage().contains("0xFFFFFF02"), e.getMessage());
            assertTrue(e.getMessage().contains("synchronized mode"), e.getMessage());
            assertInstanceOf(ConnectionLostException.class,
                    assertThrows(LabHalException.class, () -> send(link, "C?", IO)), "closed: no answer can be trusted");
        }
    }

    @Test
    void anAnswerOlderThanOneAlreadyReceivedIsAProtocolErrorInOverlappedMode() throws Exception {
        try (RawPeer peer = new RawPeer()) {
            CompletableFuture<Void> script = CompletableFuture.runAsync(() -> {
                try {
                    peer.handshake(true);
                    RawPeer.readMessage(peer.sync);
                    RawPeer.readMessage(peer.sync);
                    sendData(peer, F + 2, "second");
                    sendData(peer, F, "first, too late");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, threads);
            HislipLink link = (HislipLink) factory.open(ResourceAddress.parse(peer.resource()), IO);
            send(link, "A?", IO);
            send(link, "B?", IO);
            script.get(10, TimeUnit.SECONDS);
            assertEquals("second", receive(link, IO), "A? may have been a command after all");
            HislipProtocolException e = assertThrows(HislipProtocolException.class, () -> receive(link, IO));
            assertTrue(e.getMessage().contains("0xFFFFFF00") && e.getMessage().contains("0xFFFFFF02")
                    && e.getMessage().contains("order"), e.getMessage());
        }
    }

    private static void sendData(RawPeer peer, int id, String text) throws java.io.IOException {
        RawPeer.send(peer.sync, MessageType.DATA_END, 0, id, text.getBytes(StandardCharsets.US_ASCII));
    }
}
