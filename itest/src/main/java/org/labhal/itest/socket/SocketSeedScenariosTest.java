package org.labhal.itest.socket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionFactory;
import org.labhal.api.SessionOptions;
import org.labhal.api.lock.LockPolicy;
import org.labhal.transport.sim.SimServer;
import org.labhal.transport.sim.SimSettings;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * The seed multithreading scenarios again, now over real sockets: simulators served on loopback
 * ({@link SimServer}), reached as {@code TCPIP::127.0.0.1::<port>::SOCKET} through the
 * {@link SessionFactory} service and the socket transport bundle. Every answer is checked against
 * its own question.
 */
@ExtendWith(ServiceExtension.class)
class SocketSeedScenariosTest {
    private static final int THREADS = 12;
    private static final int QUERIES = 40;

    @InjectService(timeout = 10_000)
    SessionFactory sessions;

    private Session open(String resource, LockPolicy policy, Duration io) throws LabHalException {
        return sessions.open(ResourceAddress.parse(resource), SessionOptions.defaults().withLockPolicy(policy)
                .withIoTimeout(io).withLockTimeout(Duration.ofSeconds(60)));
    }

    private static void closeAll(List<Session> list) {
        list.forEach(Session::close);
    }

    @Test
    void sharedBufferSessionsOverSeveralConnectionsGetNoWrongAnswer() throws Exception {
        try (SimServer meter = SimServer.builder("SHARED")
                .settings(SimSettings.defaults().withProcessingDelay(Duration.ofMillis(1))).start()) {
            List<Session> list = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    list.add(open(meter.resource(), LockPolicy.SHARED_BUFFER, Duration.ofSeconds(10)));
                }
                assertTrue(meter.awaitOpenConnections(3, Duration.ofSeconds(10)), "three TCP connections");
                assertSame(list.get(0).lock(), list.get(2).lock(), "one lock for the physical instrument");
                EchoTalkers.Outcome outcome = EchoTalkers.run(list, THREADS, QUERIES);
                assertEquals(Map.of(), outcome.errors(), outcome::toString);
                assertEquals(0, outcome.wrong(), outcome::toString);
                assertEquals(THREADS * QUERIES, outcome.right(), outcome::toString);
            } finally {
                closeAll(list);
            }
            assertTrue(meter.awaitOpenConnections(0, Duration.ofSeconds(10)), "closing the sessions closed the sockets");
        }
    }

    @Test
    void independentSessionsOnASharedBufferInstrumentCrossTalkOverTwoConnections() throws Exception {
        try (SimServer meter = SimServer.builder("SHARED")
                .settings(SimSettings.defaults().withProcessingDelay(Duration.ofMillis(1))).start()) {
            List<Session> list = new ArrayList<>();
            try {
                list.add(open(meter.resource(), LockPolicy.INDEPENDENT_SESSIONS, Duration.ofMillis(200)));
                list.add(open(meter.resource(), LockPolicy.INDEPENDENT_SESSIONS, Duration.ofMillis(200)));
                assertNotSame(list.get(0).lock(), list.get(1).lock());
                assertTrue(meter.awaitOpenConnections(2, Duration.ofSeconds(10)));
                EchoTalkers.Outcome outcome = EchoTalkers.run(list, THREADS, QUERIES / 2);
                // Over sockets an answer goes back on the connection whose message made it, so the
                // collisions show as answers the instrument threw away (-410) and their queries timing out
                assertTrue(outcome.wrong() + outcome.errorCount() > 0, "crosstalk must be seen: " + outcome);
            } finally {
                closeAll(list);
            }
            try (Session witness = open(meter.resource(), LockPolicy.SHARED_BUFFER, Duration.ofSeconds(5))) {
                List<Integer> codes = witness.errors().stream().map(e -> e.code()).toList();
                assertTrue(codes.contains(-410), "the instrument saw queries interrupted: " + codes);
            }
        }
    }

    @Test
    void independentSessionsOnTheGeneratorTalkInParallelWithoutWrongAnswers() throws Exception {
        try (SimServer generator = SimServer.builder("SMW200A")
                .settings(SimSettings.defaults().withProcessingDelay(Duration.ofMillis(1))).start()) {
            List<Session> list = new ArrayList<>();
            try {
                list.add(open(generator.resource(), LockPolicy.INDEPENDENT_SESSIONS, Duration.ofSeconds(10)));
                list.add(open(generator.resource(), LockPolicy.INDEPENDENT_SESSIONS, Duration.ofSeconds(10)));
                EchoTalkers.Outcome outcome = EchoTalkers.run(list, THREADS, QUERIES);
                assertEquals(Map.of(), outcome.errors(), outcome::toString);
                assertEquals(THREADS * QUERIES, outcome.right(), outcome::toString);
            } finally {
                closeAll(list);
            }
        }
    }

    @Test
    void singleConnectionSessionsShareTheOneConnectionASingleClientInstrumentAccepts() throws Exception {
        try (SimServer generator = SimServer.builder("SMW200A").singleConnection(true)
                .settings(SimSettings.defaults().withProcessingDelay(Duration.ofMillis(1))).start()) {
            List<Session> list = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    list.add(open(generator.resource(), LockPolicy.SINGLE_CONNECTION, Duration.ofSeconds(10)));
                }
                EchoTalkers.Outcome outcome = EchoTalkers.run(list, THREADS, QUERIES);
                assertEquals(Map.of(), outcome.errors(), outcome::toString);
                assertEquals(THREADS * QUERIES, outcome.right(), outcome::toString);
                assertEquals(1, generator.acceptedConnections(), "all sessions multiplexed over one connection");
            } catch (Throwable t) {
                closeAll(list);
                throw t;
            }
            // A second physical connection gets no further than the listen backlog
            try (Socket waiting = new Socket("127.0.0.1", generator.port())) {
                waiting.getOutputStream().write("SIM:ECHO? waited\n".getBytes(StandardCharsets.US_ASCII));
                waiting.setSoTimeout(300);
                assertThrows(SocketTimeoutException.class, () -> waiting.getInputStream().read(),
                        "not served while the sessions hold the instrument");
                closeAll(list);
                waiting.setSoTimeout(10_000);
                assertEquals("waited\n", readLine(waiting.getInputStream()), "served once the sessions are gone");
            } finally {
                closeAll(list);
            }
        }
    }

    @Test
    void withoutMultiplexingASecondConnectionToASingleClientInstrumentGetsNoAnswer() throws Exception {
        try (SimServer generator = SimServer.builder("SMW200A").singleConnection(true).start();
                Session first = open(generator.resource(), LockPolicy.INDEPENDENT_SESSIONS, Duration.ofSeconds(5));
                Session second = open(generator.resource(), LockPolicy.INDEPENDENT_SESSIONS, Duration.ofMillis(300))) {
            assertEquals("first", first.query("SIM:ECHO? first"));
            assertThrows(IoTimeoutException.class, () -> second.query("SIM:ECHO? second"),
                    "its connect completed in the backlog, but nobody reads it");
        }
    }

    @Test
    void afterATimeoutTheNextQueryGetsItsOwnAnswerNeverTheLateOne() throws Exception {
        try (SimServer late = SimServer.builder("SMW200A")
                .settings(SimSettings.defaults().withProcessingDelay(Duration.ofMillis(300))).start();
                Session session = open(late.resource(), LockPolicy.INDEPENDENT_SESSIONS, Duration.ofMillis(100))) {
            assertThrows(IoTimeoutException.class, () -> session.query("SIM:ECHO? first"));
            session.setIoTimeout(Duration.ofSeconds(5));
            assertEquals("second", session.query("SIM:ECHO? second"));
            assertEquals("third", session.query("SIM:ECHO? third"));
        }
    }

    @Test
    void aPeerResetMidStepIsALostConnectionAndReconnectServesTheNextStep() throws Exception {
        CountDownLatch executing = new CountDownLatch(1);
        try (SimServer generator = SimServer.builder("SMW200A").onMessage(m -> {
            if (m.contains("slow")) {
                executing.countDown();
            }
        }).settings(SimSettings.defaults().withProcessingDelay(Duration.ofMillis(500))).start();
                Session session = open(generator.resource() + "?reconnect=true", LockPolicy.INDEPENDENT_SESSIONS,
                        Duration.ofSeconds(30))) {
            assertEquals("before", session.query("SIM:ECHO? before"));
            CompletableFuture<Throwable> step = CompletableFuture.supplyAsync(() -> {
                try {
                    return new AssertionError("answered: " + session.query("SIM:ECHO? slow"));
                } catch (Throwable t) {
                    return t;
                }
            });
            assertTrue(executing.await(10, TimeUnit.SECONDS));
            generator.dropConnections(true);
            Throwable failure = step.get(10, TimeUnit.SECONDS);
            assertInstanceOf(ConnectionLostException.class, failure, String.valueOf(failure));
            assertTrue(failure.getMessage().contains("reset"), failure.getMessage());
            assertEquals("after", session.query("SIM:ECHO? after"), "the next step reconnected");
            assertEquals(2, generator.acceptedConnections());
        }
    }

    private static String readLine(InputStream in) throws Exception {
        StringBuilder line = new StringBuilder();
        int b;
        do {
            b = in.read();
            if (b < 0) {
                throw new AssertionError("closed after '" + line + "'");
            }
            line.append((char) b);
        } while (b != '\n');
        return line.toString();
    }
}
