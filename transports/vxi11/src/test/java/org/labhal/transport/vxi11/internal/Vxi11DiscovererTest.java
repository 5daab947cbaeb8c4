package org.labhal.transport.vxi11.internal;

import static org.junit.jupiter.api.Assertions.*;
import static org.labhal.transport.vxi11.internal.Steps.LONG;
import static org.labhal.transport.vxi11.internal.Steps.query;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.discovery.Discovered;
import org.labhal.api.discovery.DiscoveryRequest;
import org.labhal.api.transport.Connection;
import org.labhal.transport.vxi11.sim.Vxi11SimServer;

/** The VXI-11 broadcast search over real UDP on loopback: the simulator's portmapper, and a hostile responder. */
class Vxi11DiscovererTest {
    private static final Duration SEARCH = Duration.ofMillis(1500);
    /** Generous: bounds a hang, does not measure speed. */
    private static final Duration SLACK = Duration.ofSeconds(10);
    private final List<String> log = new CopyOnWriteArrayList<>();
    private final Vxi11Discoverer discoverer = new Vxi11Discoverer(log::add);

    private static DiscoveryRequest request(Duration timeout, int portmapper, String... interfaces) {
        return new DiscoveryRequest(timeout, List.of(interfaces),
                Map.of(Vxi11Discoverer.PORTMAPPER, String.valueOf(portmapper)));
    }

    @Test
    void findsTheSimulatorOverItsUdpPortmapperAndTheFindOpens() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SHARED").start()) {
            int portmapper = server.portmapperPort().getAsInt();
            List<Discovered> found = new CopyOnWriteArrayList<>();
            assertTimeoutPreemptively(SEARCH.plus(SLACK),
                    () -> discoverer.discover(request(SEARCH, portmapper, "127.0.0.1"), found::add));
            assertEquals(1, found.size(), () -> "one portmapper answered, found " + found + ", log " + log);
            Discovered sim = found.get(0);
            assertEquals(ResourceAddress.parse("TCPIP::127.0.0.1::inst0::INSTR?portmapper=" + portmapper),
                    sim.address());
            assertEquals(String.valueOf(server.corePort()), sim.details().get("corePort"));
            assertEquals("VXI-11 portmapper broadcast on 127.0.0.1", sim.source());
            assertTrue(sim.probeAllowed());
            assertTrue(server.udpPortmapperCalls() >= 1, "the call went over UDP");
            assertEquals(0, discoverer.ignoredReplies());

            // what was found is a working resource
            try (Connection link = new Vxi11TransportFactory().open(sim.address(), LONG)) {
                assertTrue(query(link, "*IDN?").contains("SHARED"));
            }
        }
    }

    @Test
    void garbageAndForeignRepliesAreIgnoredAndTheRealOneStillCounts() throws Exception {
        try (DatagramSocket fake = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            CountDownLatch called = new CountDownLatch(1);
            Thread responder = new Thread(() -> answerWithGarbage(fake, called), "test-fake-portmapper");
            responder.start();
            List<Discovered> found = new CopyOnWriteArrayList<>();
            discoverer.discover(request(SEARCH, fake.getLocalPort(), "lo"), found::add);
            responder.join(SLACK.toMillis());
            assertEquals(0, called.getCount(), "the fake portmapper was asked");
            assertEquals(List.of(ResourceAddress.parse("TCPIP::127.0.0.1::inst0::INSTR?portmapper="
                    + fake.getLocalPort())), found.stream().map(Discovered::address).toList(), log::toString);
            assertEquals(5, discoverer.ignoredReplies(), log::toString); // port 0 is an answer, not garbage
        }
    }

    /** Answers the first call with five kinds of garbage, a "not registered" and then one real answer. */
    private static void answerWithGarbage(DatagramSocket socket, CountDownLatch called) {
        try {
            byte[] buffer = new byte[1024];
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            socket.receive(packet);
            called.countDown();
            XdrDecoder in = new XdrDecoder(buffer, 0, packet.getLength());
            Rpc.Call call = Rpc.readCall(in);
            assertEquals(Rpc.PORTMAPPER_PROGRAM, call.program());
            assertEquals(Rpc.PORTMAPPER_GETPORT, call.procedure());
            assertEquals(Vxi11Protocol.CORE_PROGRAM, in.getInt());
            int xid = call.xid();
            List<byte[]> replies = List.of(
                    new byte[] {1, 2, 3}, // not even an xid
                    Rpc.accepted(xid + 1, Rpc.SUCCESS, 4).putInt(1234).toByteArray(), // another call's answer
                    Rpc.accepted(xid, Rpc.SUCCESS, 0).toByteArray(), // truncated: no port
                    Rpc.rpcMismatch(xid).toByteArray(), // rejected
                    Rpc.accepted(xid, Rpc.SUCCESS, 4).putInt(-1).toByteArray(), // port 4294967295
                    Rpc.accepted(xid, Rpc.SUCCESS, 4).putInt(0).toByteArray(), // not registered here
                    Rpc.accepted(xid, Rpc.SUCCESS, 4).putInt(4321).toByteArray()); // the answer
            for (byte[] reply : replies) {
                socket.send(new DatagramPacket(reply, reply.length, packet.getSocketAddress()));
            }
        } catch (Exception e) {
            // the test's assertions on what was found tell
        }
    }

    @Test
    void noInterfacesMeansNoSocket() throws Exception {
        List<Discovered> found = new CopyOnWriteArrayList<>();
        discoverer.discover(new DiscoveryRequest(SEARCH, List.of(), Map.of()), found::add);
        assertEquals(List.of(), found);
        assertEquals(0, discoverer.socketsOpened());
    }

    @Test
    void unknownInterfacesAndBadSettingsAreNamed() {
        LabHalException byName = assertThrows(LabHalException.class,
                () -> discoverer.discover(request(SEARCH, 111, "nosuch0"), d -> { }));
        assertTrue(byName.getMessage().contains("'nosuch0'"), byName.getMessage());
        LabHalException byAddress = assertThrows(LabHalException.class,
                () -> discoverer.discover(request(SEARCH, 111, "192.0.2.1"), d -> { })); // TEST-NET-1
        assertTrue(byAddress.getMessage().contains("192.0.2.1"), byAddress.getMessage());
        LabHalException setting = assertThrows(LabHalException.class, () -> discoverer.discover(
                new DiscoveryRequest(SEARCH, List.of("127.0.0.1"), Map.of(Vxi11Discoverer.PORTMAPPER, "x")), d -> { }));
        assertTrue(setting.getMessage().contains(Vxi11Discoverer.PORTMAPPER), setting.getMessage());
        assertEquals(0, discoverer.socketsOpened(), "everything is checked before a socket opens");
    }

    @Test
    void anInterruptEndsTheSearchAtOnceAndKeepsTheFlag() throws Exception {
        try (DatagramSocket silent = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            AtomicReference<Boolean> flagKept = new AtomicReference<>();
            Thread searcher = new Thread(() -> {
                try {
                    discoverer.discover(request(Duration.ofMinutes(5), silent.getLocalPort(), "127.0.0.1"), d -> { });
                } catch (Throwable e) {
                    thrown.set(e);
                }
                flagKept.set(Thread.currentThread().isInterrupted());
            }, "test-searcher");
            searcher.start();
            silent.receive(new DatagramPacket(new byte[1024], 1024)); // the search has sent its call: it waits now
            searcher.interrupt();
            searcher.join(SLACK.toMillis());
            assertFalse(searcher.isAlive(), "the interrupted search ended");
            assertInstanceOf(StepInterruptedException.class, thrown.get());
            assertEquals(Boolean.TRUE, flagKept.get());
        }
    }

    @Test
    void theSimulatorsUdpPortmapperIgnoresWhatIsNotACall() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SHARED").start();
                DatagramSocket client = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            InetSocketAddress portmapper = new InetSocketAddress(InetAddress.getLoopbackAddress(),
                    server.portmapperPort().getAsInt());
            byte[] garbage = {0, 0, 0, 1, 0, 0, 0, 9};
            client.send(new DatagramPacket(garbage, garbage.length, portmapper));
            byte[] call = Rpc.call(77, Rpc.PORTMAPPER_PROGRAM, Rpc.PORTMAPPER_VERSION, Rpc.PORTMAPPER_GETPORT, 16)
                    .putInt(Vxi11Protocol.CORE_PROGRAM).putInt(1).putInt(Rpc.IPPROTO_TCP).putInt(0).toByteArray();
            client.send(new DatagramPacket(call, call.length, portmapper));
            client.setSoTimeout((int) SLACK.toMillis());
            DatagramPacket reply = new DatagramPacket(new byte[1024], 1024);
            client.receive(reply); // the first datagram back answers the call: the garbage got none
            XdrDecoder in = new XdrDecoder(reply.getData(), 0, reply.getLength());
            assertEquals(77, in.getInt());
            Rpc.readReply(in);
            assertEquals(server.corePort(), in.getInt());
            assertEquals(1, server.udpPortmapperCalls());
        }
    }
}
