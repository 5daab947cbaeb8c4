package org.labhal.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketOption;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.spi.SelectorProvider;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/** The server base on loopback with a line echo handler. */
class TcpServerTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    /** Echoes each line with the connection's number in front. */
    private static final ConnectionHandler ECHO = connection -> {
        InputStream in = connection.input();
        OutputStream out = connection.output();
        LineReader lines = new LineReader(in, 1024, (byte) '\n');
        LineReader.Line line;
        while ((line = lines.next()) != null) {
            String text = line.overrun() ? "overrun " + line.discarded() : new String(line.bytes(), StandardCharsets.UTF_8);
            out.write((connection.id() + ":" + text + "\n").getBytes(StandardCharsets.UTF_8));
        }
    };

    /** A log that keeps what it is told. */
    private static final class Recorded {
        final List<String> warnings = new CopyOnWriteArrayList<>();
        final List<String> infos = new CopyOnWriteArrayList<>();
        final ServerLog log = ServerLog.of(warnings::add, infos::add);
    }

    private static final class Client implements AutoCloseable {
        final Socket socket = new Socket();
        final BufferedReader in;

        Client(TcpServer server) throws IOException {
            this(server, 0);
        }

        /** @param receiveBuffer the socket's receive buffer in bytes, 0 for the system's */
        Client(TcpServer server, int receiveBuffer) throws IOException {
            if (receiveBuffer > 0) {
                socket.setReceiveBufferSize(receiveBuffer); // before connecting, so that the window is small
            }
            socket.connect(server.address(), 5000);
            socket.setSoTimeout(10_000);
            in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        }

        String ask(String text) throws IOException {
            socket.getOutputStream().write((text + "\n").getBytes(StandardCharsets.UTF_8));
            String answer = in.readLine();
            if (answer == null) {
                throw new IOException("closed by the server");
            }
            return answer.substring(answer.indexOf(':') + 1);
        }

        /** @return the first line the server sent, null when it closed the connection */
        String firstLine() throws IOException {
            return in.readLine();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Test
    void listensOnLoopbackOnAFreePortByDefault() throws Exception {
        try (TcpServer server = TcpServer.builder("t-default").start(ECHO); Client c = new Client(server)) {
            assertTrue(server.address().getAddress().isLoopbackAddress(), server.address().toString());
            assertTrue(server.port() > 0);
            assertEquals("hello", c.ask("hello"));
            assertEquals(TcpServer.DEFAULT_MAX_CONNECTIONS, server.counters().maxConnections());
        }
    }

    @Test
    void theClientBeyondTheCapIsRefusedPolitelyTheOthersAreServedAndAFreedSlotIsReused() throws Exception {
        ConnectionHandler echoWithRefusal = new ConnectionHandler() {
            @Override
            public void serve(ServerConnection connection) throws Exception {
                ECHO.serve(connection);
            }

            @Override
            public void refuse(SocketChannel channel) throws IOException {
                channel.write(StandardCharsets.UTF_8.encode("busy: 3 clients at most\n"));
            }
        };
        try (TcpServer server = TcpServer.builder("t-cap").maxConnections(3).start(echoWithRefusal)) {
            List<Client> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    clients.add(new Client(server));
                    assertEquals("c" + i, clients.get(i).ask("c" + i));
                }
                try (Client fourth = new Client(server)) {
                    assertEquals("busy: 3 clients at most", fourth.firstLine(), "told why");
                    assertEquals(null, fourth.firstLine(), "then closed with FIN, not reset");
                }
                for (int i = 0; i < 3; i++) {
                    assertEquals("again" + i, clients.get(i).ask("again" + i), "the first three are still served");
                }
                clients.remove(0).close();
                assertTrue(server.awaitOpenConnections(2, WAIT));
                try (Client next = new Client(server)) {
                    assertEquals("reused", next.ask("reused"), "the freed slot serves a new client");
                }
                ServerCounters counters = server.counters();
                assertEquals(1, counters.refused());
                assertEquals(5, counters.accepted());
                assertEquals(3, counters.peakConnections());
            } finally {
                for (Client c : clients) {
                    c.close();
                }
            }
        }
    }

    @Test
    void waitingAtCapacityLeavesTheNextClientInTheBacklogUntilASlotFrees() throws Exception {
        try (TcpServer server = TcpServer.builder("t-wait").maxConnections(1).atCapacity(AtCapacity.WAIT)
                .start(ECHO); Client first = new Client(server); Client second = new Client(server)) {
            assertEquals("one", first.ask("one"));
            second.socket.setSoTimeout(300);
            second.socket.getOutputStream().write("two\n".getBytes(StandardCharsets.UTF_8));
            assertThrows(SocketTimeoutException.class, second::firstLine, "not served while the first is");
            first.close();
            second.socket.setSoTimeout(10_000);
            assertEquals("2:two", second.firstLine(), "served once the first has gone");
            assertEquals(0, server.counters().refused());
        }
    }

    @Test
    void theAcceptLoopBacksOffOnFailuresLogsOnceAndGoesOn() throws Exception {
        Recorded log = new Recorded();
        FailingListener listener = new FailingListener(5);
        try (TcpServer server = TcpServer.builder("t-emfile").listener(listener)
                .acceptBackoff(Duration.ofMillis(10), Duration.ofMillis(40)).log(log.log).start(ECHO);
                Client c = new Client(server)) {
            assertEquals("served", c.ask("served"), "the client waiting in the backlog is served after the failures");
            assertEquals(5, server.counters().acceptFailures());
            assertEquals(1, log.warnings.size(), "one warning for the streak: " + log.warnings);
            assertTrue(log.warnings.get(0).contains("Too many open files"), log.warnings.get(0));
            assertEquals(1, log.infos.size(), "one note when accepting works again: " + log.infos);
            // The acceptor already waits inside accept: the next client is taken there, and the two
            // failures hit the accept after it, a second streak, which is logged again.
            listener.failures.set(2);
            try (Client d = new Client(server); Client e = new Client(server)) {
                assertEquals("taken by the waiting accept", d.ask("taken by the waiting accept"));
                assertEquals("after the second streak", e.ask("after the second streak"));
            }
            assertEquals(7, server.counters().acceptFailures());
            assertEquals(2, log.warnings.size(), log.warnings.toString());
            assertFalse(server.counters().backingOff());
        }
    }

    @Test
    void aStopDuringTheBackOffEndsAtOnce() throws Exception {
        FailingListener listener = new FailingListener(Integer.MAX_VALUE);
        TcpServer server = TcpServer.builder("t-stop-backoff").listener(listener)
                .acceptBackoff(Duration.ofMinutes(1), Duration.ofMinutes(1)).log(new Recorded().log).start(ECHO);
        while (!server.counters().backingOff()) {
            Thread.onSpinWait(); // the acceptor is in its first pause of a minute
        }
        long start = System.nanoTime();
        server.close();
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertTrue(ms < 4000, "close took " + ms + " ms");
        assertEquals(0, threads("t-stop-backoff-"));
    }

    @Test
    void closeEndsEveryConnectionAndJoinsEveryThread() throws Exception {
        CountDownLatch companions = new CountDownLatch(4);
        ConnectionHandler withCompanion = connection -> {
            connection.startCompanion(() -> {
                companions.countDown();
                try {
                    Thread.sleep(Long.MAX_VALUE); // a companion that only an interrupt ends
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            ECHO.serve(connection);
        };
        TcpServer server = TcpServer.builder("t-close").start(withCompanion);
        List<Client> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                clients.add(new Client(server));
                assertEquals("x", clients.get(i).ask("x"));
            }
            assertTrue(companions.await(10, TimeUnit.SECONDS), "every companion runs");
            assertEquals(1 + 8 + 1, threads("t-close-"),
                    "the acceptor, a thread per connection and its companion, the write watchdog");
            assertEquals(10, server.counters().threads());
            assertEquals(1, threads("t-close-" + server.port() + "-watch"));
            server.close();
            for (Client c : clients) {
                assertEquals(null, c.firstLine(), "closed by the server");
            }
            assertEquals(0, threads("t-close-"), "no thread left");
            assertEquals(0, server.counters().openConnections());
            assertThrows(IOException.class, () -> new Client(server), "no longer listening");
        } finally {
            server.close();
            for (Client c : clients) {
                c.close();
            }
        }
    }

    @Test
    void badSettingsAreRefusedWithTheirValues() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TcpServer.builder("t").maxConnections(0));
        assertTrue(e.getMessage().contains("maxConnections must be at least 1, was 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TcpServer.builder("t").acceptBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)));
        assertTrue(e.getMessage().contains("PT2S to PT1S"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TcpServer.builder("t").port(70000));
        assertTrue(e.getMessage().contains("70000"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TcpServer.builder("t").evictIdleAfter(Duration.ofSeconds(-1)));
        assertTrue(e.getMessage().contains("evictIdleAfter must be zero (never) or more, was PT-1S"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TcpServer.builder("t").writeStallTimeout(Duration.ofMillis(-5)));
        assertTrue(e.getMessage().contains("writeStallTimeout must be zero (never) or more, was PT-0.005S"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TcpServer.builder("t").sendBufferSize(-1));
        assertTrue(e.getMessage().contains("sendBufferSize must be 0 (the system's) or more, was -1"), e.getMessage());
    }

    @Test
    void aNewcomerAtCapacityTakesTheSlotOfTheConnectionIdleLongest() throws Exception {
        Recorded log = new Recorded();
        List<ServerConnection> closeActionsRun = new CopyOnWriteArrayList<>();
        ConnectionHandler echo = connection -> {
            connection.onClose(() -> closeActionsRun.add(connection));
            ECHO.serve(connection);
        };
        try (TcpServer server = TcpServer.builder("t-evict").maxConnections(2).evictIdleAfter(Duration.ofMillis(200))
                .log(log.log).start(echo); Client older = new Client(server); Client idlest = new Client(server)) {
            assertEquals("a", idlest.ask("a"));
            assertEquals("b", older.ask("b")); // the older connection was busy last
            awaitIdle(server, Duration.ofMillis(200));
            try (Client newcomer = new Client(server)) {
                assertEquals("served", newcomer.ask("served"), "the newcomer is served, not refused");
                assertNull(idlest.firstLine(), "the connection idle longest was closed (FIN)");
                assertEquals("still served", older.ask("still served"), "the other one keeps its connection");
                ServerCounters counters = server.counters();
                assertEquals(1, counters.evicted(), counters.toString());
                assertEquals(0, counters.refused(), counters.toString());
                assertEquals(2, counters.openConnections(), counters.toString());
            }
            int port = idlest.socket.getLocalPort();
            assertEquals(1, log.infos.size(), log.infos.toString());
            assertTrue(log.infos.get(0).contains("127.0.0.1:" + port + ", idle for "), log.infos.get(0));
            assertTrue(closeActionsRun.stream().anyMatch(c -> c.remoteAddress().getPort() == port),
                    "the evicted connection's close actions ran: " + closeActionsRun);
        }
    }

    @Test
    void aNewcomerIsRefusedWhileTheIdlestConnectionHasNotBeenIdleTheMinimum() throws Exception {
        try (TcpServer server = TcpServer.builder("t-evict-early").maxConnections(1)
                .evictIdleAfter(Duration.ofMinutes(1)).start(ECHO); Client first = new Client(server)) {
            assertEquals("one", first.ask("one"));
            try (Client refused = new Client(server)) {
                assertNull(refused.firstLine(), "refused");
            }
            assertEquals("still", first.ask("still"));
            assertEquals(0, server.counters().evicted());
            assertEquals(1, server.counters().refused());
        }
    }

    @Test
    void noConnectionIsEvictedWhenEvictionIsOff() throws Exception {
        try (TcpServer server = TcpServer.builder("t-evict-off").maxConnections(1).evictIdleAfter(Duration.ZERO)
                .start(ECHO); Client first = new Client(server)) {
            assertEquals("one", first.ask("one"));
            awaitIdle(server, Duration.ofMillis(200));
            try (Client refused = new Client(server)) {
                assertNull(refused.firstLine(), "refused");
            }
            assertEquals("still", first.ask("still"));
            assertEquals(0, server.counters().evicted());
        }
    }

    @Test
    void waitingAtCapacityNeverEvictsTheOneClient() throws Exception {
        try (TcpServer server = TcpServer.builder("t-wait-idle").maxConnections(1).atCapacity(AtCapacity.WAIT)
                .evictIdleAfter(Duration.ofMillis(100)).start(ECHO); Client first = new Client(server);
                Client second = new Client(server)) {
            assertEquals("one", first.ask("one"));
            awaitIdle(server, Duration.ofMillis(100));
            second.socket.setSoTimeout(500);
            second.socket.getOutputStream().write("two\n".getBytes(StandardCharsets.UTF_8));
            assertThrows(SocketTimeoutException.class, second::firstLine, "waits in the backlog");
            assertEquals("still", first.ask("still"), "the idle client keeps its connection");
            assertEquals(0, server.counters().evicted());
        }
    }

    @Test
    void aWriteThatMakesNoProgressClosesItsConnection() throws Exception {
        Recorded log = new Recorded();
        AtomicLong written = new AtomicLong();
        AtomicInteger sendBuffer = new AtomicInteger();
        ConnectionHandler flood = connection -> {
            sendBuffer.set(connection.channel().getOption(StandardSocketOptions.SO_SNDBUF));
            OutputStream out = connection.output();
            byte[] chunk = new byte[4096];
            while (true) {
                out.write(chunk); // answers nobody reads
                written.addAndGet(chunk.length);
            }
        };
        try (TcpServer server = TcpServer.builder("t-stall").writeStallTimeout(Duration.ofMillis(300)).log(log.log)
                .start(flood); Client client = new Client(server, 4096)) {
            assertTrue(server.awaitOpenConnections(1, WAIT));
            assertTrue(server.awaitOpenConnections(0, WAIT), "closed: " + server.counters());
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (server.counters().stalledWrites() == 0) { // the watchdog closes, then logs and counts
                assertTrue(System.nanoTime() < deadline, "closed but not counted: " + server.counters());
                Thread.sleep(5);
            }
            assertEquals(1, server.counters().stalledWrites(), server.counters().toString());
            assertEquals(1, log.warnings.size(), log.warnings.toString());
            assertTrue(log.warnings.get(0).contains("127.0.0.1:" + client.socket.getLocalPort()
                    + ": a write to it made no progress for "), log.warnings.get(0));
            // A fixed send buffer: the flood stalls after some 100 KiB, not after megabytes
            assertTrue(sendBuffer.get() <= 2 * TcpServer.DEFAULT_SEND_BUFFER_SIZE, "SO_SNDBUF " + sendBuffer);
            assertTrue(written.get() < 1 << 20, written.get() + " bytes written before the stall");
        }
    }

    @Test
    void aSlowReaderThatKeepsTakingItsAnswerIsNotCut() throws Exception {
        byte[] answer = new byte[2 << 20];
        ConnectionHandler big = connection -> {
            connection.channel().setOption(StandardSocketOptions.TCP_NODELAY, true);
            if (connection.input().read() >= 0) {
                connection.output().write(answer); // one write, many times longer than the stall timeout
            }
            connection.input().read(); // until the client goes
        };
        // A fixed receive buffer well above loopback's MSS (64 KiB): the window opens as the client reads
        // (a smaller one stays shut until probes with backing-off pauses find it open). With the server's
        // send buffer some 640 KiB are in flight; the rest goes out only as the client reads.
        try (TcpServer server = TcpServer.builder("t-slow").writeStallTimeout(Duration.ofSeconds(1)).start(big);
                Client client = new Client(server, 256 * 1024)) {
            client.socket.getOutputStream().write('?');
            InputStream in = client.socket.getInputStream();
            byte[] part = new byte[16 * 1024];
            long received = 0;
            while (received < answer.length) {
                int n = in.read(part);
                assertTrue(n > 0, "the answer was cut after " + received + " bytes");
                received += n;
                Thread.sleep(20); // a slow client: at most 800 KiB/s, so the one write takes about two seconds
            }
            assertEquals(answer.length, received);
            assertEquals(0, server.counters().stalledWrites(), server.counters().toString());
            assertEquals(1, server.counters().openConnections());
        }
    }

    /** Waits until every connection of the server has been idle for at least {@code minimum}. */
    private static void awaitIdle(TcpServer server, Duration minimum) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!server.connections().stream().allMatch(c -> c.idleTime().compareTo(minimum) >= 0)) {
            assertTrue(System.nanoTime() < deadline, "connections never idle for " + minimum);
            Thread.sleep(10);
        }
    }

    private static long threads(String prefix) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith(prefix)).count();
    }

    /**
     * A bound listening channel whose accept fails with "Too many open files" a given number of times
     * before it accepts, as one does while every descriptor of the process is taken: the connection
     * stays in the backlog meanwhile.
     */
    private static final class FailingListener extends ServerSocketChannel {
        final AtomicInteger failures;
        private final ServerSocketChannel real;

        FailingListener(int failures) throws IOException {
            super(SelectorProvider.provider());
            this.failures = new AtomicInteger(failures);
            this.real = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
        }

        @Override
        public SocketChannel accept() throws IOException {
            if (!real.isOpen()) {
                throw new java.nio.channels.ClosedChannelException();
            }
            if (failures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                throw new IOException("Too many open files");
            }
            return real.accept();
        }

        @Override
        public ServerSocketChannel bind(SocketAddress local, int backlog) throws IOException {
            real.bind(local, backlog);
            return this;
        }

        @Override
        public <T> ServerSocketChannel setOption(SocketOption<T> name, T value) throws IOException {
            real.setOption(name, value);
            return this;
        }

        @Override
        public <T> T getOption(SocketOption<T> name) throws IOException {
            return real.getOption(name);
        }

        @Override
        public Set<SocketOption<?>> supportedOptions() {
            return real.supportedOptions();
        }

        @Override
        public java.net.ServerSocket socket() {
            return real.socket();
        }

        @Override
        public SocketAddress getLocalAddress() throws IOException {
            return real.getLocalAddress();
        }

        @Override
        protected void implCloseSelectableChannel() throws IOException {
            real.close();
        }

        @Override
        protected void implConfigureBlocking(boolean block) throws IOException {
            real.configureBlocking(block);
        }
    }
}
