package org.labhal.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.nio.channels.Channels;
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

import org.junit.jupiter.api.Test;

/** The server base on loopback with a line echo handler. */
class TcpServerTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    /** Echoes each line with the connection's number in front. */
    private static final ConnectionHandler ECHO = connection -> {
        InputStream in = Channels.newInputStream(connection.channel());
        OutputStream out = Channels.newOutputStream(connection.channel());
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
            assertEquals(1 + 8, threads("t-close-"), "the acceptor, a thread per connection and its companion");
            assertEquals(9, server.counters().threads());
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
