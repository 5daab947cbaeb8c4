package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.labhal.server.ServerLog;

/**
 * The socket simulator under exhaustion (issue 10, defect 10): endless lines, more clients than it
 * takes, no file descriptors left, and a stop with clients connected.
 */
class SimServerExhaustionTest {

    @Test
    void anEndlessLineIsAnInputBufferOverrunAndTheServerGoesOnAnswering() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").start(); LineClient flooder = new LineClient(server);
                LineClient other = new LineClient(server)) {
            byte[] chunk = "x".repeat(64 * 1024).getBytes(StandardCharsets.ISO_8859_1);
            for (int i = 0; i < 8 * 16; i++) { // 8 MiB without a terminator, four times the input buffer
                flooder.send(new String(chunk, StandardCharsets.ISO_8859_1));
            }
            assertEquals("LabHAL,SMW200A-SIM,100001,1.0", other.query("*IDN?"), "another client is served meanwhile");
            flooder.send("\n"); // the terminator ends the overrun: the discarded message is not executed
            assertEquals("-363,\"Input buffer overrun\"", flooder.query("SYST:ERR?"));
            assertEquals("0,\"No error\"", flooder.query("SYST:ERR?"), "one error for one overrun, nothing else");
            assertEquals("after", flooder.query("SIM:ECHO? after"), "the flooding client is still served");
        }
    }

    @Test
    void clientsBeyondTheCapAreRefusedPolitelyAndAFreedSlotIsReused() throws Exception {
        int cap = SimServer.DEFAULT_MAX_CONNECTIONS;
        List<LineClient> clients = new ArrayList<>();
        // The cap alone: 128 clients may take longer to start than the idle time after which a newcomer
        // would take the slot of the first (that has a test of its own)
        try (SimServer server = SimServer.builder("SMW200A").evictIdleAfter(Duration.ZERO).start()) {
            try {
                for (int i = 0; i < cap; i++) {
                    LineClient client = new LineClient(server);
                    clients.add(client);
                    client.timeout(30_000); // 128 threads start on 2 shared cores: be generous
                    assertEquals("c" + i, client.query("SIM:ECHO? c" + i));
                }
                try (LineClient refused = new LineClient(server)) {
                    refused.timeout(10_000);
                    refused.send("*IDN?\n");
                    assertTrue(refused.closedByServer(), "client " + (cap + 1) + " is refused");
                }
                for (int i = 0; i < cap; i++) {
                    assertEquals("again" + i, clients.get(i).query("SIM:ECHO? again" + i), "the first " + cap
                            + " are still served");
                }
                clients.remove(0).close();
                assertTrue(server.awaitOpenConnections(cap - 1, java.time.Duration.ofSeconds(10)));
                try (LineClient next = new LineClient(server)) {
                    assertEquals("LabHAL,SMW200A-SIM,100001,1.0", next.query("*IDN?"), "the freed slot is reused");
                }
            } finally {
                for (LineClient client : clients) {
                    client.close();
                }
            }
        }
    }

    @Test
    void aNewcomerTakesTheSlotOfTheClientIdleLongestWhenEverySlotIsTaken() throws Exception {
        List<String> infos = new CopyOnWriteArrayList<>();
        try (SimServer server = SimServer.builder("SMW200A").maxConnections(2).evictIdleAfter(Duration.ofMillis(200))
                .log(ServerLog.of(message -> { }, infos::add)).start(); LineClient older = new LineClient(server);
                LineClient idlest = new LineClient(server)) {
            assertEquals("a", idlest.query("SIM:ECHO? a"));
            assertEquals("b", older.query("SIM:ECHO? b")); // busy last
            Thread.sleep(300); // both idle for more than the minimum from now on
            try (LineClient newcomer = new LineClient(server)) {
                assertEquals("LabHAL,SMW200A-SIM,100001,1.0", newcomer.query("*IDN?"), "served, not refused");
                assertTrue(idlest.closedByServer(), "the client idle longest lost its connection: " + infos);
                assertEquals("still", older.query("SIM:ECHO? still"), "the other one keeps its connection");
                assertEquals(1, server.counters().evicted(), server.counters().toString());
                assertEquals(0, server.counters().refused(), server.counters().toString());
            }
            assertEquals(1, infos.size(), infos.toString());
            assertTrue(infos.get(0).contains(":" + idlest.localPort() + ", idle for "), infos.get(0));
        }
    }

    @Test
    void aClientThatFloodsQueriesAndNeverReadsIsClosedWhenItsAnswersStall() throws Exception {
        List<String> warnings = new CopyOnWriteArrayList<>();
        try (SimServer server = SimServer.builder("SMW200A").writeStallTimeout(Duration.ofMillis(300))
                .log(ServerLog.of(warnings::add, message -> { })).start(); LineClient other = new LineClient(server);
                SocketChannel flood = SocketChannel.open()) {
            flood.setOption(StandardSocketOptions.SO_RCVBUF, 4096); // its unread answers soon fill the server's buffer
            flood.connect(server.address());
            flood.configureBlocking(false);
            ByteBuffer queries = ByteBuffer.wrap("*IDN?\n".repeat(1000).getBytes(StandardCharsets.ISO_8859_1));
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            try {
                while (server.counters().stalledWrites() == 0) { // queries as fast as the server takes them
                    assertTrue(System.nanoTime() < deadline, "not closed after 20 s: " + server.counters());
                    if (!queries.hasRemaining()) {
                        queries.rewind();
                    }
                    if (flood.write(queries) == 0) {
                        Thread.sleep(5); // the server stopped reading: its answers stall
                    }
                }
            } catch (IOException closedByServer) {
                // the close arrived: the server closes, then logs and counts
            }
            while (server.counters().stalledWrites() == 0) {
                assertTrue(System.nanoTime() < deadline, "closed but not counted: " + server.counters());
                Thread.sleep(5);
            }
            assertTrue(server.awaitOpenConnections(1, Duration.ofSeconds(10)), server.counters().toString());
            assertEquals(1, server.counters().stalledWrites(), server.counters().toString());
            assertEquals(1, warnings.size(), warnings.toString());
            assertTrue(warnings.get(0).contains(":" + ((InetSocketAddress) flood.getLocalAddress()).getPort()
                    + ": a write to it made no progress"), warnings.get(0));
            assertEquals("LabHAL,SMW200A-SIM,100001,1.0", other.query("*IDN?"), "the other client is served");
        }
    }

    @Test
    void closeEndsEveryConnectionAndLeavesNoThread() throws Exception {
        SimServer server = SimServer.builder("SMW200A").start();
        String prefix = "labhal-sim-smw200a-" + server.port() + "-";
        List<LineClient> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 5; i++) {
                LineClient client = new LineClient(server);
                clients.add(client);
                assertEquals("x", client.query("SIM:ECHO? x"));
            }
            clients.get(0).send("SIM:ECHO? unfinished"); // a message waiting for its terminator
            assertTrue(threads(prefix) >= 6, "an acceptor and one thread per client: " + threads(prefix));
            server.close();
            for (LineClient client : clients) {
                assertTrue(client.closedByServer(), "every connection is closed");
            }
            assertEquals(0, threads(prefix), "no thread of the server is left");
        } finally {
            server.close();
            for (LineClient client : clients) {
                client.close();
            }
        }
    }

    private static long threads(String prefix) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith(prefix)).count();
    }

    /**
     * A real EMFILE: a server in a child JVM allowed 64 file descriptors gets more clients than it can
     * accept, the clients go away, and a new client must be answered. Linux with {@code prlimit} only.
     */
    @Test
    void theAcceptLoopSurvivesRunningOutOfFileDescriptors(@TempDir Path dir) throws Exception {
        assumeTrue(new File("/usr/bin/prlimit").canExecute(), "needs prlimit (util-linux)");
        Path errors = dir.resolve("stderr.txt");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder("/usr/bin/prlimit", "--nofile=64:64", java, "-cp",
                System.getProperty("java.class.path"), SimServer.class.getName(), "--model", "SMW200A", "--port", "0")
                .redirectError(errors.toFile()).start();
        List<Socket> flood = new ArrayList<>();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.ISO_8859_1));
            String banner = out.readLine();
            Matcher m = Pattern.compile("::(\\d+)::SOCKET").matcher(String.valueOf(banner));
            assertTrue(m.find(), "child said: " + banner);
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", Integer.parseInt(m.group(1)));
            // More clients than the child has descriptors for: the rest wait in the backlog until that
            // is full too, and a connect then times out (the kernel drops the handshake).
            for (int i = 0; i < 200; i++) {
                Socket s = new Socket();
                try {
                    s.connect(address, 2000);
                } catch (SocketTimeoutException backlogFull) {
                    s.close();
                    break;
                }
                flood.add(s);
            }
            assertTrue(flood.size() < 200, "the child ran out of descriptors and its backlog filled up");
            for (Socket s : flood) {
                s.close();
            }
            flood.clear();
            // The backlog drains once descriptors are free; a connect whose handshake was dropped
            // meanwhile is retried by the kernel, so one connect with a long timeout is enough.
            try (Socket s = new Socket()) {
                s.connect(address, 30_000);
                s.setSoTimeout(30_000);
                s.getOutputStream().write("*IDN?\n".getBytes(StandardCharsets.ISO_8859_1));
                BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(),
                        StandardCharsets.ISO_8859_1));
                assertEquals("LabHAL,SMW200A-SIM,100001,1.0", in.readLine(),
                        "the port answers again once descriptors are free");
            }
            String log = Files.readString(errors, StandardCharsets.UTF_8);
            assertTrue(log.contains("Too many open files"), "the child logged its accept failure: " + log);
        } finally {
            for (Socket s : flood) {
                s.close();
            }
            child.destroy();
            if (!child.waitFor(20, TimeUnit.SECONDS)) {
                child.destroyForcibly();
            }
        }
    }

}
