package org.labhal.transport.socket.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.transport.Connection;
import org.labhal.transport.sim.SimServer;
import org.labhal.transport.sim.SimSettings;

/**
 * After a timeout the next query gets its own answer, never the late one, although a socket has no
 * device clear and the late answer comes after the drain has ended.
 */
class TimeoutRecoveryTest {
    private static final Duration SHORT = Duration.ofMillis(100);
    private static final Duration LONG = Duration.ofSeconds(5);
    private static final Duration LATE = Duration.ofSeconds(1);
    private final SocketTransportFactory transport = new SocketTransportFactory();

    @AfterEach
    void stopTransport() {
        transport.deactivate();
    }

    private Connection open(String resource) throws LabHalException {
        return transport.open(ResourceAddress.parse(resource), LONG);
    }

    /** Answers after {@link #LATE}: ten times SHORT, so a step descheduled on a loaded machine still times out. */
    private static SimServer lateServer() throws Exception {
        return SimServer.builder("SMW200A").settings(SimSettings.defaults().withProcessingDelay(LATE)).start();
    }

    @Test
    void theNextQueryGetsItsOwnAnswerNotTheLateOne() throws Exception {
        try (SimServer server = lateServer(); Connection c = open(server.resource())) {
            assertThrows(IoTimeoutException.class, () -> Steps.query(c, "SIM:ECHO? first", SHORT));
            assertEquals("second", Steps.query(c, "SIM:ECHO? second", LONG));
            assertEquals("third", Steps.query(c, "SIM:ECHO? third", LONG));
        }
    }

    @Test
    void twoTimeoutsInARowStillLeaveTheThirdQueryItsOwnAnswer() throws Exception {
        try (SimServer server = lateServer(); Connection c = open(server.resource())) {
            assertThrows(IoTimeoutException.class, () -> Steps.query(c, "SIM:ECHO? first", SHORT));
            assertThrows(IoTimeoutException.class, () -> Steps.query(c, "SIM:ECHO? second", SHORT));
            assertEquals("third", Steps.query(c, "SIM:ECHO? third", LONG));
        }
    }

    @Test
    void anExplicitReadAfterTheTimeoutGetsTheLateAnswer() throws Exception {
        try (SimServer server = lateServer(); Connection c = open(server.resource())) {
            assertThrows(IoTimeoutException.class, () -> Steps.query(c, "SIM:ECHO? slow", SHORT));
            assertEquals("slow", Steps.read(c, LONG), "Session.read(): nothing new was asked");
            assertEquals("next", Steps.query(c, "SIM:ECHO? next", LONG));
        }
    }

    @Test
    void aLateAnswerCaughtByTheDrainIsNotDiscardedTwice() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").settings(SimSettings.defaults()
                .withProcessingDelay(Duration.ofMillis(500))).start();
                Connection c = open(server.resource() + "?drain_ms=1500")) {
            Steps.write(c, "SIM:ECHO? first", LONG);
            assertThrows(IoTimeoutException.class, () -> c.read(ByteBuffer.allocate(64), SHORT));
            c.clear(Duration.ofSeconds(4)); // quiet for 1 s ends it: the answer at 500 ms comes inside
            assertEquals("second", Steps.query(c, "SIM:ECHO? second", LONG));
        }
    }

    @Test
    void anAnswerGivenUpOnHalfWayClosesTheLinkAtTheClear() throws Exception {
        try (RawPeer peer = new RawPeer(); Connection c = open(peer.resource(""))) {
            peer.accept();
            Steps.write(c, "LONG?", LONG);
            peer.send("PART");
            ByteBuffer into = ByteBuffer.allocate(4);
            assertFalse(c.read(into, LONG), "the start of the answer");
            // The caller gives up on it (e.g. because it is malformed). Whether the rest comes after the
            // drain or never, counting it would shift a later answer: the stream is out of step for good.
            ConnectionLostException e = assertThrows(ConnectionLostException.class, () -> c.clear(SHORT));
            assertTrue(e.getMessage().contains("an answer stopped after part of it"), e.getMessage());
            assertFalse(c.isOpen());
        }
    }

    @Test
    void aQueryThatIsNeverAnsweredIsForgottenAfterLateMs() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").start();
                Connection c = open(server.resource() + "?late_ms=200")) {
            // An unknown header: the instrument queues -113 and sends nothing
            assertThrows(IoTimeoutException.class, () -> Steps.query(c, "BOGUS:QUERY?", SHORT));
            // Within late_ms the next answer is taken for the late one: this query loses it, and
            // times out rather than returning another query's answer
            assertThrows(IoTimeoutException.class, () -> Steps.query(c, "SIM:ECHO? lost", Duration.ofMillis(300)));
            assertEquals("found", Steps.query(c, "SIM:ECHO? found", LONG), "forgotten after late_ms");
            assertEquals("-113", Steps.query(c, "SYST:ERR?", LONG).split(",")[0]);
        }
    }

    @Test
    void lateMsZeroDoesNotWaitForLateAnswers() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").start();
                Connection c = open(server.resource() + "?late_ms=0")) {
            assertThrows(IoTimeoutException.class, () -> Steps.query(c, "BOGUS:QUERY?", SHORT));
            assertEquals("at once", Steps.query(c, "SIM:ECHO? \"at once\"", LONG));
        }
    }
}
