package org.labhal.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.faults.ConnectionStorm.Role;
import org.labhal.faults.ConnectionStorm.Target;
import org.labhal.server.ServerCounters;
import org.labhal.transport.hislip.HislipErrorException;
import org.labhal.transport.hislip.internal.HislipTransportFactory;
import org.labhal.transport.hislip.server.HislipServer;
import org.labhal.transport.sim.SimServer;
import org.labhal.transport.socket.internal.SocketTransportFactory;
import org.labhal.transport.vxi11.internal.Vxi11TransportFactory;
import org.labhal.transport.vxi11.sim.Vxi11SimServer;

/**
 * The exhaustion run in small ({@code faults/exhaust.sh} runs it against the executable jar with 4,000
 * connections): the three simulator servers with a cap of 8, a storm of 120 idle, endless and flooding
 * connections, and what must hold meanwhile and after. A few seconds.
 */
class ConnectionStormTest {
    private static final int CAP = 8;
    private static final String SMW = "LabHAL,SMW200A-SIM,100001,1.0";
    private static final SessionOptions OPTIONS = SessionOptions.defaults().withIoTimeout(Duration.ofSeconds(3))
            .withOpenTimeout(Duration.ofSeconds(3)).withLockTimeout(Duration.ofSeconds(3));

    private final DefaultSessionFactory sessions = new DefaultSessionFactory(new DefaultLockService());
    private final SocketTransportFactory socket = new SocketTransportFactory();
    private final HislipTransportFactory hislip = new HislipTransportFactory();
    private final Vxi11TransportFactory vxi11 = new Vxi11TransportFactory();

    ConnectionStormTest() {
        sessions.addTransport(socket);
        sessions.addTransport(hislip);
        sessions.addTransport(vxi11);
    }

    @AfterEach
    void closeTransports() {
        sessions.deactivate();
        socket.deactivate();
        hislip.deactivate();
        vxi11.deactivate();
    }

    @Test
    @Timeout(60)
    void serversUnderAStormStayWithinTheirCapsAnswerTheirClientsTurnAwayTheRestInTheirWordsAndLetGoAfterIt()
            throws Exception {
        // The cap alone: on a slow machine the storm may outlast the 10 s after which a newcomer takes the slot
        // of the connection idle longest (the residents' among them); each server's tests cover that
        try (SimServer raw = SimServer.builder("SMW200A").maxConnections(CAP).evictIdleAfter(Duration.ZERO).start();
                HislipServer hislipServer = HislipServer.builder("SMW200A").maxConnections(CAP)
                        .evictIdleAfter(Duration.ZERO).start();
                Vxi11SimServer vxi11Server = Vxi11SimServer.builder("SMW200A").maxConnections(CAP)
                        .evictIdleAfter(Duration.ZERO).start()) {
            String[] resources = { raw.resource(), hislipServer.resource(), vxi11Server.resource() };
            List<Session> residents = new ArrayList<>();
            for (String resource : resources) {
                residents.add(sessions.open(ResourceAddress.parse(resource), OPTIONS));
            }
            List<Target> targets = List.of(Target.raw("raw", raw.port(), false),
                    Target.hislip("hislip", hislipServer.port(), false),
                    Target.rpc("portmapper", vxi11Server.portmapperPort().getAsInt(), 100000, 2),
                    Target.rpc("core", vxi11Server.corePort(), 0x0607AF, 1),
                    Target.rpc("abort", vxi11Server.abortPort().getAsInt(), 0x0607B0, 1));

            try (ConnectionStorm storm = new ConnectionStorm(targets, 120,
                    List.of(Role.IDLE, Role.IDLE, Role.IDLE, Role.ENDLESS, Role.FLOOD), 32 * 1024, 4096)) {
                assertTrue(storm.awaitConnected(Duration.ofSeconds(20)), "every storm connection tried");
                // connected means in the listen backlog: wait until each server has taken all of its own
                awaitAccepted(raw::counters, 1 + storm.count(targets.get(0)));
                awaitAccepted(hislipServer::counters, 2 + storm.count(targets.get(1)));
                awaitAccepted(vxi11Server::counters, 1 + storm.count(targets.get(3)));
                for (Session resident : residents) {
                    assertEquals(SMW, resident.query("*IDN?"), "a client from before the storm is still served");
                }
                for (ServerCounters c : List.of(raw.counters(), hislipServer.counters(), vxi11Server.counters())) {
                    assertTrue(c.openConnections() <= CAP, c.toString());
                    assertTrue(c.refused() > 0, "the storm went past the cap: " + c);
                }
                // one thread per raw or HiSLIP connection, two per VXI-11 core connection, plus the acceptor and
                // the write watchdog (not for HiSLIP, whose channels carry their own send deadline)
                assertTrue(raw.counters().threads() <= CAP + 2, raw.counters().toString());
                assertTrue(hislipServer.counters().threads() <= CAP + 1, hislipServer.counters().toString());
                assertTrue(vxi11Server.counters().threads() <= 2 * CAP + 2, vxi11Server.counters().toString());

                // A fresh client is turned away: HiSLIP says why; raw SCPI and VXI-11 have nothing to say it in.
                HislipErrorException refused = assertThrows(HislipErrorException.class,
                        () -> query(hislipServer.resource()));
                assertTrue(refused.getMessage().contains("maximum number of clients exceeded")
                        && refused.getMessage().contains("the server serves " + CAP + " connections"),
                        refused.getMessage());
                assertThrows(LabHalException.class, () -> query(raw.resource()));
                assertThrows(LabHalException.class, () -> query(vxi11Server.resource()));

                // A slot freed is a fresh client served.
                // A slot freed is a fresh client served, once the server's thread has seen the close.
                assertNotNull(storm.closeOne(targets.get(0), Role.IDLE));
                assertEquals(SMW, queryUntilServed(raw.resource()));
                assertNotNull(storm.closeOne(targets.get(1), Role.IDLE));
                assertNotNull(storm.closeOne(targets.get(1), Role.IDLE)); // a session takes two connections
                assertEquals(SMW, queryUntilServed(hislipServer.resource()));
                assertNotNull(storm.closeOne(targets.get(2), Role.IDLE));
                assertNotNull(storm.closeOne(targets.get(3), Role.IDLE));
                assertEquals(SMW, queryUntilServed(vxi11Server.resource()));
            }
            for (Session resident : residents) {
                resident.close();
            }
            // The storm and the residents gone: every connection and its threads are let go.
            assertTrue(raw.awaitOpenConnections(0, Duration.ofSeconds(10)), raw.counters().toString());
            assertTrue(hislipServer.awaitOpenConnections(0, Duration.ofSeconds(10)), hislipServer.counters().toString());
            assertTrue(vxi11Server.awaitOpenConnections(0, Duration.ofSeconds(10)), vxi11Server.counters().toString());
            for (String resource : resources) {
                assertEquals(SMW, query(resource), "served after the storm: " + resource);
            }
        }
    }

    private static void awaitAccepted(java.util.function.Supplier<ServerCounters> counters, long count)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (counters.get().accepted() < count) {
            assertTrue(System.nanoTime() < deadline, "not all accepted: " + counters.get());
            Thread.sleep(20); // the acceptor works through its backlog
        }
    }

    private String queryUntilServed(String resource) throws LabHalException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            try {
                return query(resource);
            } catch (LabHalException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(50); // the server frees the slot when its thread sees the close
            }
        }
    }

    private String query(String resource) throws LabHalException {
        try (Session session = sessions.open(ResourceAddress.parse(resource), OPTIONS)) {
            return session.query("*IDN?");
        }
    }
}
