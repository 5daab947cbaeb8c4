package org.labhal.transport.vxi11.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.transport.vxi11.internal.Steps.LONG;
import static org.labhal.transport.vxi11.internal.Steps.query;
import static org.labhal.transport.vxi11.internal.Steps.read;
import static org.labhal.transport.vxi11.internal.Steps.write;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.transport.Connection;
import org.labhal.transport.vxi11.Vxi11Error;
import org.labhal.transport.vxi11.Vxi11Exception;
import org.labhal.transport.vxi11.Vxi11Link;
import org.labhal.transport.vxi11.sim.Vxi11SimServer;

/** The VXI-11 transport against the VXI-11 simulator over real loopback sockets. */
class Vxi11TransportTest {
    private final Vxi11TransportFactory transport = new Vxi11TransportFactory();
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        transport.deactivate();
        threads.shutdownNow();
    }

    private Vxi11Link open(String resource) throws LabHalException {
        return (Vxi11Link) transport.open(ResourceAddress.parse(resource), LONG);
    }

    @Test
    void queriesThroughThePortmapperAndThroughTheCorePort() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start();
                Connection viaPortmapper = open(server.resource());
                Connection direct = open("TCPIP::127.0.0.1::inst0::INSTR?port=" + server.corePort())) {
            assertTrue(query(viaPortmapper, "*IDN?").contains("SMW200A"), "identity");
            write(direct, "FREQ 2.5 GHz");
            assertEquals(2.5e9, Double.parseDouble(query(viaPortmapper, "FREQ?")), "one instrument behind both links");
            assertEquals(2, server.openLinks());
            assertTrue(viaPortmapper.describe().contains("inst0"), viaPortmapper.describe());
        }
    }

    @Test
    void gatewayDeviceNamesReachTheInstrument() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start();
                Vxi11Link link = open(server.resource("gpib0,5"))) {
            assertEquals("gpib0,5", link.device());
            assertEquals("x", query(link, "SIM:ECHO? x"));
        }
    }

    @Test
    void aMissingPortmapperOrRegistrationIsNamed() throws Exception {
        int unused;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            unused = s.getLocalPort();
        }
        LabHalException none = assertThrows(LabHalException.class,
                () -> open("TCPIP::127.0.0.1::INSTR?portmapper=" + unused));
        assertTrue(none.getMessage().contains("no portmapper at") && none.getMessage().contains("port=<port>"),
                none.getMessage());
        LabHalException option = assertThrows(LabHalException.class, () -> open("TCPIP::127.0.0.1::INSTR?prot=1"));
        assertTrue(option.getMessage().contains("Unknown option 'prot'"), option.getMessage());
        assertEquals(0, transport.openConnections());
    }

    @Test
    void longWritesAreSplitAtMaxRecvSizeWithEndOnlyOnTheLast() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").maxReceiveSize(16).start();
                Vxi11Link link = open(server.resource())) {
            assertEquals(16, link.maxReceiveSize());
            String token = "a".repeat(100);
            assertEquals(token, query(link, "SIM:ECHO? " + token), "sent in 7 device_writes, executed once");
            assertEquals("ok", query(link, "SIM:ECHO? ok"));
        }
    }

    @Test
    void partialReadsStopAtEndAndNeverTakeTheNextMessage() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start();
                Connection c = open(server.resource())) {
            write(c, "SIM:ECHO? abcdefghij;:SIM:ECHO? second");
            ByteBuffer four = ByteBuffer.allocate(4);
            StringBuilder got = new StringBuilder();
            int reads = 0;
            boolean end;
            do {
                four.clear();
                end = c.read(four, LONG);
                reads++;
                got.append(new String(four.array(), 0, four.position(), StandardCharsets.US_ASCII));
            } while (!end);
            assertEquals("abcdefghij;second\n", got.toString(), "one response message");
            assertEquals(5, reads, "18 bytes in reads of 4, END on the last");
            assertEquals("third", query(c, "SIM:ECHO? third"));
        }
    }

    @Test
    void aTermCharEndsTheReadAndTheRestFollows() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start();
                Connection c = open(server.resource() + "&termchar=44")) {
            write(c, "SIM:ECHO? a;:SIM:ECHO? b");
            assertEquals("a;b", read(c, 100, LONG), "no comma: read to END");
            write(c, "SIM:ECHO? 'x,y'");
            assertEquals("x,", read(c, 100, LONG), "stopped after the term char");
            assertEquals("y", read(c, 100, LONG));
        }
    }

    @Test
    void deviceClearMidReadDropsTheRestOfTheAnswer() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start();
                Connection c = open(server.resource())) {
            write(c, "SIM:ECHO? " + "z".repeat(1000));
            ByteBuffer some = ByteBuffer.allocate(10);
            assertFalse(c.read(some, LONG), "the answer goes on");
            c.clear(LONG);
            assertEquals("mine", query(c, "SIM:ECHO? mine"), "its own answer, not the rest of the old one");
        }
    }

    @Test
    void aReadWithNoAnswerTimesOutInTimeAndTheLinkGoesOn() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start();
                Connection c = open(server.resource())) {
            long start = System.nanoTime();
            IoTimeoutException e = assertThrows(IoTimeoutException.class,
                    () -> c.read(ByteBuffer.allocate(10), Duration.ofMillis(200)));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(e.getMessage().contains("VXI-11 error 15 (I/O timeout)"), e.getMessage());
            assertTrue(ms >= 190 && ms < 2000, ms + " ms");
            assertEquals("after", query(c, "SIM:ECHO? after"));
        }
    }

    @Test
    void smwLinksAreIndependentAndSharedLinksShareBuffers() throws Exception {
        try (Vxi11SimServer smw = Vxi11SimServer.builder("SMW200A").start();
                Connection a = open(smw.resource());
                Connection b = open(smw.resource())) {
            write(a, "SIM:ECHO? fromA");
            assertThrows(IoTimeoutException.class, () -> b.read(ByteBuffer.allocate(10), Duration.ofMillis(100)));
            assertEquals("fromA", read(a, 100, LONG));
        }
        try (Vxi11SimServer shared = Vxi11SimServer.builder("SHARED").start();
                Connection a = open(shared.resource());
                Connection b = open(shared.resource())) {
            write(a, "SIM:ECHO? fromA");
            assertEquals("fromA", read(b, 100, LONG), "one output queue for every link");
        }
    }

    @Test
    void aLockHeldByAnotherLinkFailsWithErrorElevenWithinTheWait() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start();
                Vxi11Link a = open(server.resource());
                Vxi11Link b = open(server.resource())) {
            a.lock(Duration.ZERO);
            a.lock(Duration.ZERO); // again while holding it
            assertTrue(server.locked());
            long start = System.nanoTime();
            Vxi11Exception waited = assertThrows(Vxi11Exception.class, () -> b.lock(Duration.ofMillis(300)));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertEquals(Vxi11Error.DEVICE_LOCKED_BY_ANOTHER_LINK, waited.error());
            assertEquals(11, waited.code());
            assertEquals("device_lock", waited.operation());
            assertTrue(waited.getMessage().contains("VXI-11 error 11 (device locked by another link) after waiting 300 ms"),
                    waited.getMessage());
            assertTrue(ms >= 290 && ms < 2000, ms + " ms");
            Vxi11Exception io = assertThrows(Vxi11Exception.class, () -> write(b, "*RST"));
            assertEquals(Vxi11Error.DEVICE_LOCKED_BY_ANOTHER_LINK, io.error(), "I/O of other links is refused too");
            assertEquals("ok", query(a, "SIM:ECHO? ok"), "the holder works");
            Vxi11Exception notHeld = assertThrows(Vxi11Exception.class, b::unlock);
            assertEquals(Vxi11Error.NO_LOCK_HELD_BY_THIS_LINK, notHeld.error());
            assertTrue(notHeld.getMessage().contains("error 12 (no lock held by this link)"), notHeld.getMessage());

            Future<?> waiting = threads.submit(() -> {
                b.lock(Duration.ofSeconds(10));
                return null;
            });
            a.unlock();
            waiting.get(10, TimeUnit.SECONDS); // b got it when a released it
            assertEquals("b", query(b, "SIM:ECHO? b"));
            b.unlock();
            assertFalse(server.locked());
        }
    }

    @Test
    void otherLinksWaitForTheLockWithLockWait() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start();
                Vxi11Link a = open(server.resource());
                Vxi11Link b = open(server.resource() + "&lock_wait_ms=10000")) {
            a.lock(Duration.ZERO);
            CompletableFuture<String> query = CompletableFuture.supplyAsync(() -> {
                try {
                    return query(b, "SIM:ECHO? waited");
                } catch (LabHalException e) {
                    throw new IllegalStateException(e);
                }
            }, threads);
            a.unlock();
            assertEquals("waited", query.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void destroyingALinkOrDroppingItsConnectionReleasesItsLock() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start()) {
            Vxi11Link a = open(server.resource());
            a.lock(Duration.ZERO);
            a.close();
            try (Vxi11Link b = open(server.resource())) {
                b.lock(Duration.ofSeconds(5));
                b.unlock();
            }
        }
    }

    @Test
    void statusByteTriggerRemoteAndLocalAnswer() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start();
                Vxi11Link link = open(server.resource())) {
            assertEquals(0, link.readStatusByte(LONG));
            write(link, "SIM:ECHO? " + "q".repeat(50));
            assertEquals(0x10, link.readStatusByte(LONG), "MAV: the answer waits in the instrument");
            assertFalse(link.read(ByteBuffer.allocate(5), LONG));
            assertEquals(0x10, link.readStatusByte(LONG), "MAV while the rest waits");
            link.clear(LONG);
            assertEquals(0, link.readStatusByte(LONG), "device_clear dropped it");
            write(link, "NO:SUCH:COMMAND");
            assertEquals(0x04, link.readStatusByte(LONG), "EAV: the error queue holds the -113");
            link.trigger(LONG);
            link.remote(LONG);
            link.local(LONG);
        }
    }

    @Test
    void theInstrumentClosingTheConnectionMidReadIsConnectionLost() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start();
                Connection c = open(server.resource())) {
            Future<Boolean> blocked = threads.submit(() -> c.read(ByteBuffer.allocate(10), LONG));
            while (server.openLinks() != 1) {
                Thread.onSpinWait();
            }
            server.dropConnections();
            Exception e = assertThrows(Exception.class, () -> blocked.get(5, TimeUnit.SECONDS));
            ConnectionLostException lost = assertInstanceOf(ConnectionLostException.class, e.getCause());
            // A close with the reply unread may reach us as a FIN or, with data in flight, as a reset
            assertTrue(lost.getMessage().contains("the peer closed the connection")
                    || lost.getMessage().contains("Connection reset"), lost.getMessage());
            assertThrows(ConnectionLostException.class, () -> query(c, "*IDN?"), "the link stays closed");
        }
    }

    @Test
    void closeFromAnotherThreadWakesABlockedRead() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start()) {
            Connection c = open(server.resource());
            CompletableFuture<Void> started = new CompletableFuture<>();
            Future<Boolean> blocked = threads.submit(() -> {
                started.complete(null);
                return c.read(ByteBuffer.allocate(10), LONG);
            });
            started.get();
            c.close();
            Exception e = assertThrows(Exception.class, () -> blocked.get(5, TimeUnit.SECONDS));
            assertInstanceOf(ConnectionLostException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("closed by its owner"), e.getCause().getMessage());
        }
    }

    @Test
    void stoppingTheTransportDestroysEveryLink() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start()) {
            Connection a = open(server.resource());
            Connection b = open(server.resource());
            assertEquals(2, server.openLinks());
            assertEquals(2, transport.openConnections());
            transport.deactivate();
            assertEquals(0, transport.openConnections());
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (server.openLinks() != 0 && System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            assertEquals(0, server.openLinks(), "destroy_link sent, or the connection closed");
            ConnectionLostException e = assertThrows(ConnectionLostException.class, () -> query(a, "*IDN?"));
            assertTrue(e.getMessage().contains("the VXI-11 transport stopped"), e.getMessage());
            assertThrows(ConnectionLostException.class, () -> query(b, "*IDN?"));
            assertThrows(LabHalException.class, () -> open(server.resource()));
        }
    }
}
