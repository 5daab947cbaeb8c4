package org.labhal.transport.hislip.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.transport.hislip.internal.Links.query;
import static org.labhal.transport.hislip.internal.Links.receive;
import static org.labhal.transport.hislip.internal.Links.send;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.labhal.api.ResourceAddress;
import org.labhal.transport.hislip.HislipClearedException;
import org.labhal.transport.hislip.HislipLink;
import org.labhal.transport.hislip.server.HislipServer;
import org.labhal.transport.sim.SimSettings;

/** A device clear from another thread while a query waits for its answer, in both modes. */
class HislipDeviceClearTest {
    private static final Duration IO = Duration.ofSeconds(10);
    private static final Duration LONG = Duration.ofSeconds(60);

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

    private HislipLink open() throws Exception {
        return (HislipLink) factory.open(ResourceAddress.parse(server.resource()), IO);
    }

    /** Waits (bounded) until the reading thread is inside read(), where a clear ends it. */
    private static void awaitReading(HislipLink link, Future<?> reader) throws Exception {
        long deadline = System.nanoTime() + IO.toNanos();
        while (!((HislipConnection) link).readInProgress()) {
            assertFalse(reader.isDone(), "the read ended before the clear");
            assertTrue(System.nanoTime() < deadline, "the read did not start");
            Thread.onSpinWait();
        }
    }

    private static Throwable failureOf(Future<?> reader) throws Exception {
        try {
            reader.get(IO.toSeconds(), TimeUnit.SECONDS);
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        }
    }

    /**
     * The query waits for a minute-long operation ({@code INIT;*OPC?}); the clear ends the read at
     * once, the instrument drops the waiting {@code *OPC?}, and the next query gets its own answer.
     */
    @ParameterizedTest(name = "overlapped={0}")
    @ValueSource(booleans = {false, true})
    void aClearFromAnotherThreadEndsABlockedReadAndTheNextQueryGetsItsOwnAnswer(boolean overlapped)
            throws Exception {
        server = HislipServer.builder("SMW200A").overlapped(overlapped)
                .settings(SimSettings.defaults().withOperationTime(Duration.ofMinutes(1))).start();
        HislipLink link = open();
        send(link, "INIT;*OPC?", IO);
        Future<String> reader = threads.submit(() -> receive(link, LONG));
        awaitReading(link, reader);

        link.clear(IO); // from this thread, while the reader waits in another
        Throwable t = failureOf(reader);
        assertInstanceOf(HislipClearedException.class, t, String.valueOf(t));
        assertTrue(t.getMessage().contains("hislip0," + server.port()), t.getMessage());

        assertEquals("mine\n", query(link, "SIM:ECHO? mine", IO));
        assertEquals(0, link.statusQuery(IO) & 0x10, "no answer of the old query is left behind");
        assertEquals(0, ((HislipConnection) link).staleDiscarded(), "the clear discarded it before any answer");
    }

    /**
     * The query is held off by another client's lock; the clear discards it before it ever runs (its
     * setting is not applied), the clear itself completes once the lock is free, and the link goes on.
     */
    @ParameterizedTest(name = "overlapped={0}")
    @ValueSource(booleans = {false, true})
    void aClearFromAnotherThreadDiscardsAQueryHeldOffByAnotherClientsLock(boolean overlapped) throws Exception {
        server = HislipServer.builder("SMW200A").overlapped(overlapped).start();
        HislipLink holder = open();
        HislipLink link = open();
        holder.lock("", IO);
        send(link, "FREQ 5 GHz;:SIM:ECHO? stale", IO);
        server.awaitOperationsHeldOff(1, IO);
        Future<String> reader = threads.submit(() -> receive(link, LONG));
        awaitReading(link, reader);

        Future<Void> clearing = threads.submit(() -> {
            link.clear(LONG);
            return null;
        });
        assertInstanceOf(HislipClearedException.class, failureOf(reader), "ended at once, lock or no lock");
        server.awaitOperationsHeldOff(HislipServer.HeldOperation.DEVICE_CLEAR, 1, IO); // the server has the clear
        assertFalse(clearing.isDone(), "the clear itself waits for the lock");
        holder.unlock(IO);
        clearing.get(IO.toSeconds(), TimeUnit.SECONDS);

        assertEquals("fresh\n", query(link, "SIM:ECHO? fresh", IO));
        assertEquals("1000000000\n", query(link, "FREQ?", IO), "the held message never ran");
    }

    /**
     * The read is in the middle of skipping a stale answer whose bytes dribble in when the clear ends
     * it: the clear must go on skipping exactly the rest of that answer, or it would take answer bytes
     * for a header and the link would be lost.
     */
    @Test
    void aClearThatEndsAReadHalfwayThroughAStaleAnswerKeepsTheFrame() throws Exception {
        try (RawPeer peer = new RawPeer()) {
            CompletableFuture<Void> script = CompletableFuture.runAsync(() -> {
                try {
                    peer.handshake(false);
                    RawPeer.readMessage(peer.sync); // A? (0xFFFFFF00)
                    RawPeer.readMessage(peer.sync); // B? (0xFFFFFF02): the answer to A? is stale
                    RawPeer.sendRaw(peer.sync, new Header(MessageType.DATA_END, 0, MessageIds.FIRST, 1000).encode().array());
                    RawPeer.sendRaw(peer.sync, "x".repeat(10).getBytes(StandardCharsets.US_ASCII));
                    assertEquals(MessageType.ASYNC_DEVICE_CLEAR, RawPeer.readMessage(peer.async).type());
                    RawPeer.send(peer.async, MessageType.ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, 0, 0, new byte[0]);
                    RawPeer.sendRaw(peer.sync, "y".repeat(990).getBytes(StandardCharsets.US_ASCII));
                    assertEquals(MessageType.DEVICE_CLEAR_COMPLETE, RawPeer.readMessage(peer.sync).type());
                    RawPeer.send(peer.sync, MessageType.DEVICE_CLEAR_ACKNOWLEDGE, 0, 0, new byte[0]);
                    int id = RawPeer.readMessage(peer.sync).parameter();
                    RawPeer.send(peer.sync, MessageType.DATA_END, 0, id, "fresh".getBytes(StandardCharsets.US_ASCII));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, threads);
            HislipLink link = (HislipLink) factory.open(ResourceAddress.parse(peer.resource()), IO);
            send(link, "A?", IO);
            send(link, "B?", IO);
            Future<String> reader = threads.submit(() -> receive(link, LONG));
            long deadline = System.nanoTime() + IO.toNanos();
            while (((HislipConnection) link).staleDiscarded() == 0) { // it is skipping the stale answer
                assertFalse(reader.isDone(), "the read ended before the clear");
                assertTrue(System.nanoTime() < deadline, "the stale answer did not arrive");
                Thread.onSpinWait();
            }
            link.clear(IO);
            assertInstanceOf(HislipClearedException.class, failureOf(reader));
            assertEquals("fresh", query(link, "C?", IO));
            script.get(10, TimeUnit.SECONDS);
        }
    }
}
