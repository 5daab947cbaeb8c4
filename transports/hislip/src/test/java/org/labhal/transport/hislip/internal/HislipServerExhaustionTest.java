package org.labhal.transport.hislip.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.labhal.server.ServerLog;
import org.labhal.transport.hislip.server.HislipServer;

/**
 * The HiSLIP simulator under exhaustion (issue 10, defect 10): more clients than it takes, endless
 * messages, frames past the limit, and a stop with sessions open. Raw sockets, so that nothing of
 * the client transport hides what the server does.
 */
class HislipServerExhaustionTest {
    private static final byte[] SUB_ADDRESS = "hislip0".getBytes(StandardCharsets.US_ASCII);

    /** Opens a synchronous channel and sends Initialize; returns it with the answer's header. */
    private static Socket initialize(HislipServer server, List<Socket> keep) throws IOException {
        Socket s = new Socket("127.0.0.1", server.port());
        keep.add(s);
        s.setSoTimeout(10_000);
        RawPeer.send(s, MessageType.INITIALIZE, 0, 0x0100 << 16 | 'T' << 8 | 'T', SUB_ADDRESS);
        return s;
    }

    /** Opens the asynchronous channel of {@code session} and checks the server took it. */
    private static Socket asyncInitialize(HislipServer server, int session, List<Socket> keep) throws IOException {
        Socket async = new Socket("127.0.0.1", server.port());
        keep.add(async);
        async.setSoTimeout(10_000);
        RawPeer.send(async, MessageType.ASYNC_INITIALIZE, 0, session, new byte[0]);
        assertEquals(MessageType.ASYNC_INITIALIZE_RESPONSE, RawPeer.readWhole(async).header().type());
        return async;
    }

    /** Asks *IDN? on a synchronous channel (message id {@code id}) and checks the SMW200A's answer. */
    private static void assertIdn(Socket sync, int id, String why) throws IOException {
        RawPeer.send(sync, MessageType.DATA_END, 0, id, "*IDN?\n".getBytes(StandardCharsets.ISO_8859_1));
        assertEquals("LabHAL,SMW200A-SIM,100001,1.0\n", RawPeer.readWhole(sync).text(), why);
    }

    private static void closeAll(List<Socket> sockets) throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
    }

    private static boolean endOfStream(Socket s) throws IOException {
        try {
            return s.getInputStream().read() < 0;
        } catch (SocketException reset) {
            return false; // a reset is not a polite close
        }
    }

    @Test
    void theConnectionBeyondTheCapGetsFatalErrorFourAndAFreedSlotIsReused() throws Exception {
        List<Socket> sockets = new ArrayList<>();
        try (HislipServer server = HislipServer.builder("SMW200A").maxConnections(4).start()) {
            for (int i = 0; i < 4; i++) {
                Socket s = initialize(server, sockets);
                assertEquals(MessageType.INITIALIZE_RESPONSE, RawPeer.readWhole(s).header().type());
            }
            Socket refused = new Socket("127.0.0.1", server.port()); // told at once, before it says anything
            sockets.add(refused);
            refused.setSoTimeout(10_000);
            RawPeer.Message fatal = RawPeer.readWhole(refused);
            assertEquals(MessageType.FATAL_ERROR, fatal.header().type(), fatal.toString());
            assertEquals(4, fatal.header().control(), "4: maximum number of clients exceeded");
            assertTrue(fatal.text().contains("4 connections"), fatal.text());
            assertTrue(endOfStream(refused), "then an orderly close");
            sockets.remove(0).close();
            assertTrue(server.awaitOpenConnections(3, Duration.ofSeconds(10)));
            Socket next = initialize(server, sockets);
            assertEquals(MessageType.INITIALIZE_RESPONSE, RawPeer.readWhole(next).header().type(), "the freed slot");
            assertEquals(1, server.counters().refused());
        } finally {
            closeAll(sockets);
        }
    }

    /**
     * A newcomer at capacity takes the slot of the channel idle longest, which is not the oldest: the
     * server sees HiSLIP's traffic, and the evicted session ends at once (its thread waits in a selector
     * that closing the socket alone does not wake) even though its client never closes.
     */
    @Test
    void aNewcomerTakesTheSlotOfTheSessionIdleLongestAndThatSessionEnds() throws Exception {
        List<Socket> sockets = new ArrayList<>();
        List<String> infos = new CopyOnWriteArrayList<>();
        try (HislipServer server = HislipServer.builder("SMW200A").maxConnections(2)
                .evictIdleAfter(Duration.ofMillis(200)).log(ServerLog.of(message -> { }, infos::add)).start()) {
            Socket older = initialize(server, sockets);
            assertEquals(MessageType.INITIALIZE_RESPONSE, RawPeer.readWhole(older).header().type());
            Socket idlest = initialize(server, sockets);
            assertEquals(MessageType.INITIALIZE_RESPONSE, RawPeer.readWhole(idlest).header().type());
            assertIdn(older, 0xFFFFFF00, "busy last");
            Thread.sleep(300); // both idle for more than the minimum from now on
            Socket newcomer = initialize(server, sockets);
            assertEquals(MessageType.INITIALIZE_RESPONSE, RawPeer.readWhole(newcomer).header().type(),
                    "served, not refused");
            assertTrue(endOfStream(idlest), "the session idle longest was closed");
            assertIdn(older, 0xFFFFFF02, "the other is kept");
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (server.openSessions() != 2) { // the evicted one ends although its client stays connected
                assertTrue(System.nanoTime() < deadline, server.openSessions() + " sessions open");
                Thread.sleep(5);
            }
            assertEquals(1, server.counters().evicted(), server.counters().toString());
            assertEquals(0, server.counters().refused(), server.counters().toString());
            assertEquals(1, infos.size(), infos.toString());
            assertTrue(infos.get(0).contains(":" + idlest.getLocalPort() + ", idle for "), infos.get(0));
        } finally {
            closeAll(sockets);
        }
    }

    /**
     * A session's two connections are one for idleness: querying on the synchronous channel keeps its
     * quiet asynchronous one. The exhaustion run through the runtime lost both resident HiSLIP clients
     * so: the newcomer took the asynchronous channel, idle since the session began, and the session
     * ended under a client that queried every second.
     */
    @Test
    void aSessionBusyOnItsSynchronousChannelKeepsItsQuietAsynchronousOne() throws Exception {
        List<Socket> sockets = new ArrayList<>();
        try (HislipServer server = HislipServer.builder("SMW200A").maxConnections(3)
                .evictIdleAfter(Duration.ofMillis(200)).start()) {
            Socket sync = initialize(server, sockets);
            int session = RawPeer.readWhole(sync).header().parameter() & 0xFFFF;
            Socket async = asyncInitialize(server, session, sockets);
            Socket storm = initialize(server, sockets); // the third and last slot, idle from now on
            assertEquals(MessageType.INITIALIZE_RESPONSE, RawPeer.readWhole(storm).header().type());
            assertIdn(sync, 0xFFFFFF00, "the session is busy");
            Thread.sleep(300); // every connection idle for more than the minimum; the storm's the longest
            Socket newcomer = initialize(server, sockets);
            assertEquals(MessageType.INITIALIZE_RESPONSE, RawPeer.readWhole(newcomer).header().type(),
                    "served, not refused");
            assertTrue(endOfStream(storm), "the connection idle longest, the storm's, was closed");
            assertIdn(sync, 0xFFFFFF02, "the session goes on");
            RawPeer.send(async, MessageType.ASYNC_STATUS_QUERY, 0, 0xFFFFFF04, new byte[0]);
            assertEquals(MessageType.ASYNC_STATUS_RESPONSE, RawPeer.readWhole(async).header().type(),
                    "and so does its asynchronous channel");
            assertEquals(1, server.counters().evicted(), server.counters().toString());
        } finally {
            closeAll(sockets);
        }
    }

    @Test
    void anEndlessMessageIsAnInputBufferOverrunAndTheSessionGoesOn() throws Exception {
        List<Socket> sockets = new ArrayList<>();
        try (HislipServer server = HislipServer.builder("SMW200A").maxMessageSize(1 << 20).start()) {
            Socket s = initialize(server, sockets);
            RawPeer.readWhole(s);
            byte[] chunk = "x".repeat(64 * 1024).getBytes(StandardCharsets.ISO_8859_1);
            int id = 0xFFFFFF00;
            for (int i = 0; i < 64; i++) { // 4 MiB in Data messages without an END: twice the input buffer
                RawPeer.send(s, MessageType.DATA, 0, id, chunk);
                id += 2;
            }
            RawPeer.send(s, MessageType.DATA_END, 0, id, new byte[] {'\n'});
            id += 2;
            RawPeer.send(s, MessageType.DATA_END, 0, id, "SYST:ERR?\n".getBytes(StandardCharsets.ISO_8859_1));
            RawPeer.Message answer = RawPeer.readWhole(s);
            assertEquals("-363,\"Input buffer overrun\"\n", answer.text());
            id += 2;
            RawPeer.send(s, MessageType.DATA_END, 0, id, "*IDN?\n".getBytes(StandardCharsets.ISO_8859_1));
            assertEquals("LabHAL,SMW200A-SIM,100001,1.0\n", RawPeer.readWhole(s).text(), "still served");
        } finally {
            closeAll(sockets);
        }
    }

    @Test
    void aFramePastTheLimitIsAFatalErrorWithoutAllocatingItAndOthersAreServed() throws Exception {
        List<Socket> sockets = new ArrayList<>();
        try (HislipServer server = HislipServer.builder("SMW200A").maxMessageSize(4096).start()) {
            Socket s = initialize(server, sockets);
            RawPeer.readWhole(s);
            // A header announcing 2^62 bytes, and nothing after it
            RawPeer.sendRaw(s, new Header(MessageType.DATA_END, 0, 0xFFFFFF00, 1L << 62).encode().array());
            RawPeer.Message fatal = RawPeer.readWhole(s);
            assertEquals(MessageType.FATAL_ERROR, fatal.header().type());
            assertEquals(1, fatal.header().control(), "1: poorly formed message header");
            assertTrue(fatal.text().contains("4611686018427387904"), fatal.text());
            assertTrue(endOfStream(s), "the connection is closed");
            Socket other = initialize(server, sockets);
            assertEquals(MessageType.INITIALIZE_RESPONSE, RawPeer.readWhole(other).header().type());
        } finally {
            closeAll(sockets);
        }
    }

    @Test
    void closeEndsEverySessionAndLeavesNoThread() throws Exception {
        List<Socket> sockets = new ArrayList<>();
        HislipServer server = HislipServer.builder("SMW200A").start();
        String prefix = "labhal-hislip-sim-" + server.port() + "-";
        try {
            for (int i = 0; i < 3; i++) {
                Socket sync = initialize(server, sockets);
                int session = RawPeer.readWhole(sync).header().parameter() & 0xffff;
                asyncInitialize(server, session, sockets);
            }
            Socket idle = new Socket("127.0.0.1", server.port()); // connected, never initialised
            sockets.add(idle);
            idle.setSoTimeout(10_000);
            assertTrue(server.awaitOpenConnections(7, Duration.ofSeconds(10)));
            server.close();
            for (Socket s : sockets) {
                assertTrue(closedOrFatal(s), "every connection is closed");
            }
            assertEquals(0, Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.isAlive() && t.getName().startsWith(prefix)).count(), "no thread left");
        } finally {
            server.close();
            closeAll(sockets);
        }
    }

    /** The end of the stream, possibly after a FatalError the server said goodbye with. */
    private static boolean closedOrFatal(Socket s) throws IOException {
        try {
            while (true) {
                RawPeer.Message m = RawPeer.readWhole(s);
                if (m.header().type() != MessageType.FATAL_ERROR) {
                    return false;
                }
            }
        } catch (EOFException end) {
            return true;
        }
    }
}
