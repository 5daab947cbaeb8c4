package org.labhal.transport.hislip.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.transport.hislip.HislipErrorException;
import org.labhal.transport.hislip.HislipLink;
import org.labhal.transport.hislip.HislipLink.LockKind;
import org.labhal.transport.hislip.HislipLockException;
import org.labhal.transport.hislip.HislipProtocolException;
import org.labhal.transport.hislip.server.HislipServer;

/** The HiSLIP client against the HiSLIP simulator server and scripted peers, over loopback sockets. */
class HislipTransportTest {
    private static final Duration IO = Duration.ofSeconds(5);

    private final HislipTransportFactory factory = new HislipTransportFactory();
    private HislipServer server;

    @BeforeEach
    void start() throws Exception {
        server = HislipServer.builder("SMW200A").maxMessageSize(4096).start();
    }

    @AfterEach
    void stop() {
        factory.deactivate();
        server.close();
    }

    private HislipLink open(String options) throws LabHalException {
        return (HislipLink) factory.open(ResourceAddress.parse(server.resource() + options), IO);
    }

    private static void send(HislipLink link, String message) throws LabHalException {
        link.write(ByteBuffer.wrap(message.getBytes(StandardCharsets.ISO_8859_1)), true, IO);
    }

    private static String receive(HislipLink link) throws LabHalException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        ByteBuffer chunk = ByteBuffer.allocate(8192);
        boolean end;
        do {
            chunk.clear();
            end = link.read(chunk, IO);
            all.write(chunk.array(), 0, chunk.position());
        } while (!end);
        return all.toString(StandardCharsets.ISO_8859_1);
    }

    private static String query(HislipLink link, String message) throws LabHalException {
        send(link, message);
        return receive(link);
    }

    @Test
    void negotiatesAndAnswersQueries() throws Exception {
        HislipLink link = open("");
        assertTrue(link.sessionId() > 0);
        assertEquals(0x0100, link.serverProtocolVersion());
        assertEquals("LS", link.serverVendorId());
        assertEquals(4096, link.serverMaximumMessageSize());
        assertFalse(link.overlapped());
        assertTrue(query(link, "*IDN?").contains("SMW200A"), "IDN");
        send(link, "FREQ 2.5 GHz");
        assertEquals("2500000000\n", query(link, "FREQ?"));
        // answers belong to their questions, many times over
        for (int i = 0; i < 200; i++) {
            assertEquals("q" + i + "\n", query(link, "SIM:ECHO? q" + i));
        }
        assertEquals(0, link.statusQuery(IO) & 0x10, "nothing waiting: no MAV");
        link.remoteLocal(HislipLink.RemoteLocal.ENABLE_AND_GO_TO_REMOTE, IO);
        link.trigger(IO);
        assertEquals("aftertrigger\n", query(link, "SIM:ECHO? aftertrigger"));
        assertEquals(1, server.openSessions());
        link.close();
        assertThrows(ConnectionLostException.class, () -> query(link, "*IDN?"));
    }

    @Test
    void longMessagesAreFragmentedBothWays() throws Exception {
        // the server accepts 4 KiB messages, this client 64 KiB: a 1 MB token goes out in about 257
        // Data messages and comes back in about 17
        HislipLink link = (HislipLink) open("?max_message_size=65536");
        String token = "x".repeat(1_000_000);
        String answer = query(link, "SIM:ECHO? " + token);
        assertEquals(token + "\n", answer);
        long messages = ((HislipConnection) link).dataMessagesReceived();
        assertTrue(messages >= 16 && messages <= 20, "answer came in " + messages + " Data messages");
        assertEquals("after\n", query(link, "SIM:ECHO? after"));
    }

    @Test
    void deviceClearMidReadDropsTheRestOfTheAnswer() throws Exception {
        HislipLink link = open("?max_message_size=4096");
        send(link, "SIM:ECHO? " + "y".repeat(500_000));
        ByteBuffer first = ByteBuffer.allocate(1000);
        assertFalse(link.read(first, IO));
        assertEquals('y', first.get(0));
        link.clear(IO);
        assertEquals("fresh\n", query(link, "SIM:ECHO? fresh"));
        assertTrue(query(link, "*IDN?").contains("SMW200A"));
    }

    @Test
    void exclusiveLockHeldByAnotherSessionFailsWithinTheTimeout() throws Exception {
        HislipLink a = open("");
        HislipLink b = open("");
        a.lock("", IO);
        long start = System.nanoTime();
        HislipLockException e = assertThrows(HislipLockException.class, () -> b.lock("", Duration.ofMillis(300)));
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(tookMs >= e.timeout().toMillis() && tookMs < 3000, "took " + tookMs + " ms");
        assertEquals(HislipLockException.Reason.HELD_ELSEWHERE, e.reason());
        assertTrue(e.getMessage().contains("another client holds the exclusive lock"), e.getMessage());
        assertTrue(e.getMessage().contains("hislip0," + server.port()), e.getMessage());
        assertEquals(new HislipLink.LockInfo(true, 1), b.lockInfo(IO));
        // asking again for what one holds is an error, releasing what one does not hold too
        assertEquals(HislipLockException.Reason.REJECTED,
                assertThrows(HislipLockException.class, () -> a.lock("", IO)).reason());
        assertEquals(HislipLockException.Reason.NOT_HELD,
                assertThrows(HislipLockException.class, () -> b.unlock(IO)).reason());
        assertEquals(LockKind.EXCLUSIVE, a.unlock(IO));
        b.lock("", IO);
        assertEquals(LockKind.EXCLUSIVE, b.unlock(IO));
        assertEquals(new HislipLink.LockInfo(false, 0), a.lockInfo(IO));
    }

    @Test
    void sharedLocksAreCompatibleOnlyWithTheSameLockString() throws Exception {
        HislipLink a = open("");
        HislipLink b = open("");
        HislipLink c = open("");
        a.lock("bench", IO);
        b.lock("bench", IO);
        assertEquals(new HislipLink.LockInfo(false, 2), c.lockInfo(IO));
        HislipLockException other = assertThrows(HislipLockException.class, () -> c.lock("other", Duration.ZERO));
        assertEquals(HislipLockException.Reason.HELD_ELSEWHERE, other.reason());
        assertEquals("other", other.lockString());
        assertThrows(HislipLockException.class, () -> c.lock("", Duration.ofMillis(100)));
        assertEquals(LockKind.SHARED, a.unlock(IO));
        assertEquals(LockKind.SHARED, b.unlock(IO));
        c.lock("", IO);
        assertEquals(LockKind.EXCLUSIVE, c.unlock(IO));
    }

    @Test
    void aWaitingLockRequestGetsTheLockWhenTheHolderGoesAway() throws Exception {
        HislipLink a = open("");
        HislipLink b = open("");
        a.lock("", IO);
        CompletableFuture<Void> waiting = CompletableFuture.runAsync(() -> {
            try {
                b.lock("", Duration.ofSeconds(20));
            } catch (LabHalException e) {
                throw new RuntimeException(e);
            }
        });
        assertThrows(java.util.concurrent.TimeoutException.class, () -> waiting.get(200, TimeUnit.MILLISECONDS));
        a.close(); // the server notices and releases the session's lock
        waiting.get(10, TimeUnit.SECONDS);
        assertEquals(new HislipLink.LockInfo(true, 1), b.lockInfo(IO));
    }

    @Test
    void closingFromAnotherThreadWakesABlockedRead() throws Exception {
        HislipLink link = open("");
        CompletableFuture<Throwable> reader = CompletableFuture.supplyAsync(() -> {
            try {
                link.read(ByteBuffer.allocate(100), Duration.ofSeconds(30));
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
        assertThrows(java.util.concurrent.TimeoutException.class, () -> reader.get(200, TimeUnit.MILLISECONDS));
        link.close();
        assertInstanceOf(ConnectionLostException.class, reader.get(5, TimeUnit.SECONDS));
    }

    @Test
    void stoppingTheTransportClosesEverySession() throws Exception {
        HislipLink a = open("");
        HislipLink b = open("");
        assertEquals(2, factory.openConnections());
        CompletableFuture<Throwable> reader = CompletableFuture.supplyAsync(() -> {
            try {
                a.read(ByteBuffer.allocate(100), Duration.ofSeconds(30));
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
        assertThrows(java.util.concurrent.TimeoutException.class, () -> reader.get(200, TimeUnit.MILLISECONDS));
        factory.deactivate();
        Throwable t = reader.get(5, TimeUnit.SECONDS);
        assertInstanceOf(ConnectionLostException.class, t);
        assertTrue(t.getMessage().contains("HiSLIP transport stopped"), t.getMessage());
        assertEquals(0, factory.openConnections());
        assertThrows(ConnectionLostException.class, () -> query(b, "*IDN?"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (server.openSessions() > 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(0, server.openSessions());
    }

    @Test
    void overlappedModeIsNegotiated() throws Exception {
        server.close();
        server = HislipServer.builder("SMW200A").overlapped(true).start();
        HislipLink link = open("");
        assertTrue(link.overlapped());
        assertEquals("ov\n", query(link, "SIM:ECHO? ov"));
        link.clear(IO);
        assertTrue(link.overlapped());
        assertEquals("ov2\n", query(link, "SIM:ECHO? ov2"));
    }

    @Test
    void sharedModelSessionsShareBuffersAndSmwSessionsDoNot() throws Exception {
        server.close();
        server = HislipServer.builder("SHARED").start();
        HislipLink a = open("");
        HislipLink b = open("");
        assertTrue(query(a, "*IDN?").contains(","));
        assertEquals(2, server.instrument().openConnections());
        assertEquals("fromb\n", query(b, "SIM:ECHO? fromb"));
        assertEquals("froma\n", query(a, "SIM:ECHO? froma"));
    }

    @Test
    void thePeerDyingMidMessageIsAConnectionLoss() throws Exception {
        try (RawPeer peer = new RawPeer()) {
            CompletableFuture<Void> script = CompletableFuture.runAsync(() -> {
                try {
                    peer.handshake();
                    var h = RawPeer.readMessage(peer.sync); // the query
                    byte[] header = new Header(MessageType.DATA_END, 0, h.parameter(), 1000).encode().array();
                    RawPeer.sendRaw(peer.sync, header);
                    RawPeer.sendRaw(peer.sync, "only ten b".getBytes(StandardCharsets.US_ASCII));
                    peer.sync.close();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            HislipLink link = (HislipLink) factory.open(ResourceAddress.parse(peer.resource()), IO);
            assertEquals(7, link.sessionId());
            assertEquals("RP", link.serverVendorId());
            send(link, "*IDN?");
            script.get(5, TimeUnit.SECONDS);
            ByteBuffer into = ByteBuffer.allocate(4096);
            ConnectionLostException e = assertThrows(ConnectionLostException.class, () -> {
                while (true) {
                    link.read(into, IO);
                }
            });
            assertTrue(e.getMessage().contains("closed the connection"), e.getMessage());
            assertEquals(10, into.position());
            assertThrows(ConnectionLostException.class, () -> send(link, "*IDN?"));
        }
    }

    @Test
    void malformedFramesFromTheWireAreSpecificErrorsNotHangsOrOutOfMemory() throws Exception {
        for (String kind : new String[] {"huge", "negative", "prologue", "type", "truncated"}) {
            try (RawPeer peer = new RawPeer()) {
                CompletableFuture<Void> script = CompletableFuture.runAsync(() -> {
                    try {
                        peer.handshake();
                        RawPeer.readMessage(peer.sync);
                        ByteBuffer h = new Header(MessageType.DATA_END, 0, 0xFFFFFF00, 5).encode();
                        switch (kind) {
                            case "huge" -> h.putLong(8, 1L << 40);
                            case "negative" -> h.putLong(8, -16);
                            case "prologue" -> h.put(0, (byte) 'X');
                            case "type" -> h.put(2, (byte) 99);
                            default -> h.limit(9); // a header cut short, then silence
                        }
                        RawPeer.sendRaw(peer.sync, java.util.Arrays.copyOf(h.array(), h.limit()));
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                HislipLink link = (HislipLink) factory.open(ResourceAddress.parse(peer.resource()), IO);
                send(link, "*IDN?");
                script.get(5, TimeUnit.SECONDS);
                LabHalException e = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThrows(
                        LabHalException.class, () -> link.read(ByteBuffer.allocate(100), Duration.ofMillis(500))));
                if (kind.equals("truncated")) {
                    assertInstanceOf(org.labhal.api.IoTimeoutException.class, e, kind);
                } else if (kind.equals("huge")) { // beyond the maximum message size this client announced
                    assertInstanceOf(org.labhal.api.AnswerTooLargeException.class, e, kind + ": " + e);
                    assertThrows(ConnectionLostException.class, () -> send(link, "*IDN?"));
                } else {
                    assertInstanceOf(HislipProtocolException.class, e, kind + ": " + e);
                    assertTrue(e.getMessage().contains("hislip0," + peer.listener.getLocalPort()), e.getMessage());
                    assertThrows(ConnectionLostException.class, () -> send(link, "*IDN?"));
                }
                link.close();
            }
        }
    }

    @Test
    void errorsFromTheInstrumentCarryCodeAndText() throws Exception {
        try (RawPeer peer = new RawPeer()) {
            CompletableFuture<Void> script = CompletableFuture.runAsync(() -> {
                try {
                    peer.handshake();
                    RawPeer.readMessage(peer.sync);
                    RawPeer.send(peer.sync, MessageType.ERROR, 4, 0, "too big".getBytes(StandardCharsets.US_ASCII));
                    RawPeer.readMessage(peer.sync);
                    RawPeer.send(peer.sync, MessageType.FATAL_ERROR, 1, 0, "bad header".getBytes(StandardCharsets.US_ASCII));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            HislipLink link = (HislipLink) factory.open(ResourceAddress.parse(peer.resource()), IO);
            send(link, "*IDN?");
            HislipErrorException error = assertThrows(HislipErrorException.class, () -> receive(link));
            assertFalse(error.fatal());
            assertEquals(4, error.code());
            assertEquals("too big", error.text());
            assertTrue(error.getMessage().contains("message too large"), error.getMessage());
            send(link, "*IDN?");
            HislipErrorException fatal = assertThrows(HislipErrorException.class, () -> receive(link));
            assertTrue(fatal.fatal());
            assertTrue(fatal.getMessage().contains("poorly formed message header): bad header"), fatal.getMessage());
            assertThrows(ConnectionLostException.class, () -> send(link, "*IDN?"));
            script.get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void fatalErrorDuringInitializeFailsTheOpen() throws Exception {
        try (RawPeer peer = new RawPeer()) {
            CompletableFuture.runAsync(() -> {
                try {
                    peer.sync = peer.listener.accept();
                    RawPeer.readMessage(peer.sync);
                    RawPeer.send(peer.sync, MessageType.FATAL_ERROR, 4, 0, "full".getBytes(StandardCharsets.US_ASCII));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            HislipErrorException e = assertThrows(HislipErrorException.class,
                    () -> factory.open(ResourceAddress.parse(peer.resource()), IO));
            assertTrue(e.fatal());
            assertEquals(4, e.code());
            assertEquals(0, factory.openConnections());
        }
    }

    @Test
    void badOptionsFailTheOpen() {
        LabHalException e = assertThrows(LabHalException.class, () -> open("?max_message_size=12"));
        assertTrue(e.getMessage().contains("max_message_size=12"), e.getMessage());
        e = assertThrows(LabHalException.class, () -> open("?speed=fast"));
        assertTrue(e.getMessage().contains("Unknown option 'speed'"), e.getMessage());
    }

    @Test
    void unreachableInstrumentIsAConnectionLoss() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        assertThrows(ConnectionLostException.class,
                () -> factory.open(ResourceAddress.parse("TCPIP::127.0.0.1::hislip0," + port + "::INSTR"), IO));
    }
}
