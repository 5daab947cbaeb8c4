package org.labhal.transport.vxi11.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataOutputStream;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.labhal.server.ServerLog;
import org.labhal.transport.vxi11.internal.RecordStream;
import org.labhal.transport.vxi11.internal.Rpc;
import org.labhal.transport.vxi11.internal.Vxi11Protocol;
import org.labhal.transport.vxi11.internal.XdrDecoder;

/**
 * The VXI-11 simulator under exhaustion (issue 10, defect 10): more clients than it takes, records
 * past the limit, threads per connection, and a stop with connections open. Raw RPC over sockets.
 */
class Vxi11SimServerExhaustionTest {
    private int xid;

    private Socket open(int port, List<Socket> keep) throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        keep.add(s);
        s.setSoTimeout(10_000);
        return s;
    }

    /** The NULL procedure of a program: answered when the server serves the connection. */
    private boolean ping(Socket s, int program, int version) throws Exception {
        int id = ++xid;
        RecordStream.write(s.getOutputStream(), Rpc.call(id, program, version, 0, 0));
        byte[] reply;
        try {
            reply = new RecordStream(s.getInputStream(), 1024).read();
        } catch (IOException closed) {
            return false;
        }
        XdrDecoder in = new XdrDecoder(reply);
        assertEquals(id, in.getInt());
        Rpc.readReply(in);
        return true;
    }

    private static boolean endOfStream(Socket s) throws IOException {
        try {
            return s.getInputStream().read() < 0;
        } catch (java.net.SocketException reset) {
            return true; // a request sent before the close was seen may turn the close into a reset
        }
    }

    private static long threads(String prefix) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith(prefix)).count();
    }

    @Test
    void theConnectionBeyondTheCapIsClosedAndAFreedSlotIsReused() throws Exception {
        List<Socket> sockets = new ArrayList<>();
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").maxConnections(2).start()) {
            Socket a = open(server.corePort(), sockets);
            Socket b = open(server.corePort(), sockets);
            assertTrue(ping(a, Vxi11Protocol.CORE_PROGRAM, Vxi11Protocol.CORE_VERSION));
            assertTrue(ping(b, Vxi11Protocol.CORE_PROGRAM, Vxi11Protocol.CORE_VERSION));
            Socket refused = open(server.corePort(), sockets);
            assertTrue(endOfStream(refused), "the third connection is closed at once");
            assertTrue(ping(a, Vxi11Protocol.CORE_PROGRAM, Vxi11Protocol.CORE_VERSION), "the first two are served");
            assertTrue(ping(b, Vxi11Protocol.CORE_PROGRAM, Vxi11Protocol.CORE_VERSION));
            a.close();
            assertTrue(server.awaitOpenConnections(1, Duration.ofSeconds(10)));
            Socket c = open(server.corePort(), sockets);
            assertTrue(ping(c, Vxi11Protocol.CORE_PROGRAM, Vxi11Protocol.CORE_VERSION), "the freed slot is reused");
            assertEquals(1, server.counters().refused());
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    @Test
    void aRecordPastTheLimitClosesItsConnectionBeforeItsBytesAreRead() throws Exception {
        List<Socket> sockets = new ArrayList<>();
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start()) {
            for (int port : new int[] {server.corePort(), server.portmapperPort().orElseThrow(),
                    server.abortPort().orElseThrow()}) {
                Socket s = open(port, sockets);
                // One last fragment of 2 GiB - 1 announced, none of it sent
                new DataOutputStream(s.getOutputStream()).writeInt(0xFFFF_FFFF);
                assertTrue(endOfStream(s), "the connection to port " + port + " is closed");
            }
            Socket other = open(server.corePort(), sockets);
            assertTrue(ping(other, Vxi11Protocol.CORE_PROGRAM, Vxi11Protocol.CORE_VERSION), "others are served");
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    @Test
    void portmapperAndAbortConnectionsTakeOneThreadCoreConnectionsTwo() throws Exception {
        List<Socket> sockets = new ArrayList<>();
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start()) {
            int pm = server.portmapperPort().orElseThrow();
            for (int i = 0; i < 3; i++) {
                assertTrue(ping(open(pm, sockets), Rpc.PORTMAPPER_PROGRAM, Rpc.PORTMAPPER_VERSION));
                assertTrue(ping(open(server.corePort(), sockets), Vxi11Protocol.CORE_PROGRAM,
                        Vxi11Protocol.CORE_VERSION));
            }
            assertEquals(1 + 3 + 1, threads("labhal-vxi11-sim-portmapper-" + pm + "-"),
                    "acceptor + one per connection + the write watchdog");
            assertEquals(1 + 2 * 3 + 1, threads("labhal-vxi11-sim-core-" + server.corePort() + "-"),
                    "acceptor + two per connection + the write watchdog");
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    /**
     * A client that sends calls without reading their replies, then goes away: the thread answering
     * stalls on the full send buffer and the reading thread on the full queue of calls. The close must end
     * both and free the slot; before the fix the reading thread waited on the queue for ever, so each such
     * client cost a slot and a thread until the server stopped (the exhaustion run lost 29 of 128; this
     * test, before the fix, both of its two).
     */
    @Test
    void aClientThatFloodsCallsWithoutReadingThenLeavesFreesItsSlotAndThreads() throws Exception {
        List<Socket> sockets = new ArrayList<>();
        List<SocketChannel> floods = new ArrayList<>();
        // No write deadline: the client's leaving must free the slot by itself (the deadline has a test of its own)
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").maxConnections(2).writeStallTimeout(Duration.ZERO)
                .start()) {
            String prefix = "labhal-vxi11-sim-core-" + server.corePort() + "-";
            java.io.ByteArrayOutputStream record = new java.io.ByteArrayOutputStream();
            RecordStream.write(record, Rpc.call(1, Vxi11Protocol.CORE_PROGRAM, Vxi11Protocol.CORE_VERSION, 0, 0));
            byte[] call = record.toByteArray();
            for (int i = 0; i < 2; i++) {
                SocketChannel flood = SocketChannel.open();
                floods.add(flood);
                flood.setOption(StandardSocketOptions.SO_RCVBUF, 4096); // its unread replies soon stall the server
                flood.connect(new InetSocketAddress("127.0.0.1", server.corePort()));
                flood.configureBlocking(false);
            }
            assertTrue(server.awaitOpenConnections(2, Duration.ofSeconds(10)));
            // Calls as fast as the connections take them, never a reply read, until no connection takes any
            // more for half a second: then the answerer of each is stuck sending replies nobody reads, and
            // its reader on the full queue of calls (which is why the connection no longer takes calls).
            List<ByteBuffer> pending = new ArrayList<>(); // per connection, so no call is ever cut in two
            for (int i = 0; i < floods.size(); i++) {
                ByteBuffer calls = ByteBuffer.allocate(call.length * 256);
                while (calls.hasRemaining()) {
                    calls.put(call);
                }
                pending.add(calls.flip());
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            long lastTaken = System.nanoTime();
            while (System.nanoTime() - lastTaken < Duration.ofMillis(500).toNanos() || stalledReaders(prefix) < 2) {
                assertTrue(System.nanoTime() < deadline, "the connections still take calls after 30 s");
                boolean taken = false;
                for (int i = 0; i < floods.size(); i++) {
                    ByteBuffer calls = pending.get(i);
                    if (!calls.hasRemaining()) {
                        calls.rewind();
                    }
                    taken |= floods.get(i).write(calls) > 0;
                }
                if (taken) {
                    lastTaken = System.nanoTime();
                } else {
                    Thread.sleep(5); // full: see whether the server takes more
                }
            }
            for (SocketChannel flood : floods) {
                flood.close();
            }
            assertTrue(server.awaitOpenConnections(0, Duration.ofSeconds(10)),
                    "every slot freed: " + server.counters());
            // (the threads themselves go back to the pool, which ends them after 10 s idle)
            assertEquals(0, stalledReaders(prefix), "no reader left waiting on a queue nobody takes from");
            Socket after = open(server.corePort(), sockets);
            assertTrue(ping(after, Vxi11Protocol.CORE_PROGRAM, Vxi11Protocol.CORE_VERSION), "and it serves again");
        } finally {
            for (SocketChannel flood : floods) {
                flood.close();
            }
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    @Test
    void aNewcomerTakesTheSlotOfTheConnectionIdleLongestWhenEverySlotIsTaken() throws Exception {
        List<Socket> sockets = new ArrayList<>();
        List<String> infos = new CopyOnWriteArrayList<>();
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").maxConnections(2)
                .evictIdleAfter(Duration.ofMillis(200)).log(ServerLog.of(message -> { }, infos::add)).start()) {
            Socket older = open(server.corePort(), sockets);
            Socket idlest = open(server.corePort(), sockets);
            assertTrue(ping(idlest, Vxi11Protocol.CORE_PROGRAM, Vxi11Protocol.CORE_VERSION));
            assertTrue(ping(older, Vxi11Protocol.CORE_PROGRAM, Vxi11Protocol.CORE_VERSION)); // busy last
            Thread.sleep(300); // both idle for more than the minimum from now on
            Socket newcomer = open(server.corePort(), sockets);
            assertTrue(ping(newcomer, Vxi11Protocol.CORE_PROGRAM, Vxi11Protocol.CORE_VERSION), "served, not refused");
            assertTrue(endOfStream(idlest), "the connection idle longest was closed");
            assertTrue(ping(older, Vxi11Protocol.CORE_PROGRAM, Vxi11Protocol.CORE_VERSION), "the other one is kept");
            assertEquals(1, server.counters().evicted(), server.counters().toString());
            assertEquals(0, server.counters().refused(), server.counters().toString());
            assertEquals(1, infos.size(), infos.toString());
            assertTrue(infos.get(0).contains(":" + idlest.getLocalPort() + ", idle for "), infos.get(0));
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    @Test
    void aClientThatFloodsCallsAndNeverReadsIsClosedWhenItsRepliesStall() throws Exception {
        List<Socket> sockets = new ArrayList<>();
        List<String> warnings = new CopyOnWriteArrayList<>();
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").writeStallTimeout(Duration.ofMillis(300))
                .log(ServerLog.of(warnings::add, message -> { })).start();
                SocketChannel flood = SocketChannel.open()) {
            java.io.ByteArrayOutputStream record = new java.io.ByteArrayOutputStream();
            RecordStream.write(record, Rpc.call(1, Vxi11Protocol.CORE_PROGRAM, Vxi11Protocol.CORE_VERSION, 0, 0));
            ByteBuffer calls = ByteBuffer.allocate(record.size() * 256);
            while (calls.hasRemaining()) {
                calls.put(record.toByteArray());
            }
            calls.flip();
            flood.setOption(StandardSocketOptions.SO_RCVBUF, 4096); // its unread replies soon stall the server
            flood.connect(new InetSocketAddress("127.0.0.1", server.corePort()));
            flood.configureBlocking(false);
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            try {
                while (server.counters().stalledWrites() == 0) { // calls as fast as the server takes them
                    assertTrue(System.nanoTime() < deadline, "not closed after 20 s: " + server.counters());
                    if (!calls.hasRemaining()) {
                        calls.rewind(); // whole calls only: the buffer holds 256 of them
                    }
                    if (flood.write(calls) == 0) {
                        Thread.sleep(5); // the server stopped reading: its replies stall
                    }
                }
            } catch (IOException closedByServer) {
                // the close arrived: the server closes, then logs and counts
            }
            while (server.counters().stalledWrites() == 0) {
                assertTrue(System.nanoTime() < deadline, "closed but not counted: " + server.counters());
                Thread.sleep(5);
            }
            assertTrue(server.awaitOpenConnections(0, Duration.ofSeconds(10)), server.counters().toString());
            assertEquals(1, server.counters().stalledWrites(), server.counters().toString());
            assertEquals(1, warnings.size(), warnings.toString());
            assertTrue(warnings.get(0).contains(":" + ((InetSocketAddress) flood.getLocalAddress()).getPort()
                    + ": a write to it made no progress"), warnings.get(0));
            Socket after = open(server.corePort(), sockets);
            assertTrue(ping(after, Vxi11Protocol.CORE_PROGRAM, Vxi11Protocol.CORE_VERSION), "others are served");
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    /** Threads of the server blocked putting a call into the answerer's queue. */
    private static long stalledReaders(String prefix) {
        return Thread.getAllStackTraces().entrySet().stream()
                .filter(e -> e.getKey().getName().startsWith(prefix) && java.util.Arrays.stream(e.getValue())
                        .anyMatch(f -> f.getMethodName().equals("put") && f.getClassName().endsWith("BlockingQueue")))
                .count();
    }

    @Test
    void closeEndsEveryConnectionAndLeavesNoThread() throws Exception {
        List<Socket> sockets = new ArrayList<>();
        Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start();
        try {
            assertTrue(ping(open(server.corePort(), sockets), Vxi11Protocol.CORE_PROGRAM, Vxi11Protocol.CORE_VERSION));
            assertTrue(ping(open(server.portmapperPort().orElseThrow(), sockets), Rpc.PORTMAPPER_PROGRAM,
                    Rpc.PORTMAPPER_VERSION));
            assertTrue(ping(open(server.abortPort().orElseThrow(), sockets), Vxi11Protocol.ASYNC_PROGRAM,
                    Vxi11Protocol.ASYNC_VERSION));
            open(server.corePort(), sockets); // connected, silent
            assertTrue(server.awaitOpenConnections(2, Duration.ofSeconds(10)));
            server.close();
            for (Socket s : sockets) {
                assertTrue(endOfStream(s), "every connection is closed");
            }
            assertEquals(0, threads("labhal-vxi11-sim-core-" + server.corePort() + "-")
                    + threads("labhal-vxi11-sim-portmapper-" + server.portmapperPort().orElseThrow() + "-")
                    + threads("labhal-vxi11-sim-abort-" + server.abortPort().orElseThrow() + "-"), "no thread left");
        } finally {
            server.close();
            for (Socket s : sockets) {
                s.close();
            }
        }
    }
}
