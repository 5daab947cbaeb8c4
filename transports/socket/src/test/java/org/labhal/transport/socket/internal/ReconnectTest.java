package org.labhal.transport.socket.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.transport.Connection;
import org.labhal.transport.sim.SimServer;

/** {@code reconnect=true}: the step that sees the loss fails, later steps get a fresh link. */
class ReconnectTest {
    private static final Duration IO = Duration.ofSeconds(5);
    private final SocketTransportFactory transport = new SocketTransportFactory();

    @AfterEach
    void stopTransport() {
        transport.deactivate();
    }

    private Connection open(String resource) throws LabHalException {
        return transport.open(ResourceAddress.parse(resource), IO);
    }

    @Test
    void aLostLinkIsReopenedByTheNextWrite() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").start();
                Connection c = open(server.resource() + "?reconnect=true")) {
            assertEquals("one", Steps.query(c, "SIM:ECHO? one", IO));
            server.dropConnections(true);
            assertTrue(server.awaitOpenConnections(0, Duration.ofSeconds(10)));
            ConnectionLostException lost = assertThrows(ConnectionLostException.class,
                    () -> Steps.query(c, "SIM:ECHO? two", IO), "the step that sees the loss fails");
            assertTrue(lost.getMessage().contains("the next write reconnects"), lost.getMessage());
            assertEquals("three", Steps.query(c, "SIM:ECHO? three", IO));
            assertEquals(2, server.acceptedConnections());
            assertEquals(1, server.openConnections());
        }
    }

    @Test
    void aFailedReconnectFailsThatStepAndTheNextOneTriesAgain() throws Exception {
        SimServer server = SimServer.builder("SMW200A").start();
        String resource = server.resource();
        int port = server.port();
        try (Connection c = open(resource + "?reconnect=true")) {
            assertEquals("one", Steps.query(c, "SIM:ECHO? one", IO));
            server.close(); // the instrument is switched off
            assertThrows(ConnectionLostException.class, () -> Steps.query(c, "SIM:ECHO? two", IO));
            ConnectionLostException refused = assertThrows(ConnectionLostException.class,
                    () -> Steps.query(c, "SIM:ECHO? three", IO));
            assertTrue(refused.getMessage().contains("refused"), refused.getMessage());
            try (SimServer again = SimServer.builder("SMW200A").port(port).start()) { // and on again
                assertEquals("four", Steps.query(c, "SIM:ECHO? four", IO));
            }
        }
    }

    @Test
    void withoutReconnectALostLinkStaysLost() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").start(); Connection c = open(server.resource())) {
            assertEquals("one", Steps.query(c, "SIM:ECHO? one", IO));
            server.dropConnections(false);
            assertTrue(server.awaitOpenConnections(0, Duration.ofSeconds(10)));
            assertThrows(ConnectionLostException.class, () -> Steps.query(c, "SIM:ECHO? two", IO));
            ConnectionLostException still = assertThrows(ConnectionLostException.class,
                    () -> Steps.query(c, "SIM:ECHO? three", IO));
            assertTrue(still.getMessage().contains("reconnect is off"), still.getMessage());
            assertEquals(1, server.acceptedConnections());
        }
    }
}
