package org.labhal.discovery.lxi.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.discovery.Discovered;
import org.labhal.api.discovery.DiscoveryRequest;
import org.labhal.discovery.lxi.Advertisement;

/**
 * Real JmDNS on loopback: services advertised by {@link JmdnsAdvertiser} on 127.0.0.1 are found by
 * {@link LxiDiscoverer} on 127.0.0.1. One set of advertisements serves the class, since every mDNS
 * search lasts its whole timeout.
 */
class LxiDiscoveryTest {
    /**
     * A browse that starts with the advertisements sees them after up to 4 s (JmDNS probes and announces them,
     * and re-asks at growing intervals): 8 s leave 6 s of browsing.
     */
    private static final Duration SEARCH = Duration.ofSeconds(8);
    /** For searches that end early (interrupt, errors) and never wait for it. */
    private static final Duration SHORT = Duration.ofSeconds(2);
    /** Generous: these bound a hang, they do not measure speed. */
    private static final Duration SLACK = Duration.ofSeconds(10);
    private static final String LOOPBACK = "127.0.0.1";
    private static final List<String> LOG = new CopyOnWriteArrayList<>();
    private static JmdnsAdvertiser advertiser;
    private static final List<Advertisement> ADVERTISED = new ArrayList<>();

    @BeforeAll
    static void advertise() throws Exception {
        advertiser = new JmdnsAdvertiser(Responders.JMDNS, LOG::add);
        Map<String, String> lxi = new LinkedHashMap<>();
        lxi.put("Manufacturer", "LabHAL");
        lxi.put("Model", "SHARED");
        lxi.put("SerialNumber", "0001");
        ADVERTISED.add(advertiser.advertise(LOOPBACK, "_lxi._tcp", "Test LXI", 80, lxi));
        ADVERTISED.add(advertiser.advertise(LOOPBACK, "_hislip._tcp.local.", "Test HiSLIP", 4880, Map.of()));
        ADVERTISED.add(advertiser.advertise(LOOPBACK, "_hislip._tcp", "Test HiSLIP 4999", 4999, Map.of()));
        ADVERTISED.add(advertiser.advertise(LOOPBACK, "_vxi-11._tcp", "Test VXI-11", 111, Map.of()));
        ADVERTISED.add(advertiser.advertise("lo", "_scpi-raw._tcp", "Test socket", 5025, Map.of("Model", "SMW200A")));
    }

    @AfterAll
    static void stop() {
        advertiser.deactivate();
    }

    /** Names of the threads of the discoverer's responders still alive. */
    private static List<String> discovererThreads() throws InterruptedException {
        return JmdnsThreads.survivors(LxiDiscoverer.HOST_NAME);
    }

    private static Discovered only(List<Discovered> found, String label) {
        List<Discovered> matching = found.stream().filter(d -> d.label().equals(label)).toList();
        assertEquals(1, matching.size(), () -> label + " should be reported once, found: " + found);
        return matching.get(0);
    }

    @Test
    void findsEachServiceTypeAsItsResourceWithTxtAndClosesEverything() throws Exception {
        assertEquals(1, advertiser.responders(), "127.0.0.1 and lo share one responder");
        LxiDiscoverer discoverer = new LxiDiscoverer(Responders.JMDNS, LOG::add);
        List<Discovered> found = new CopyOnWriteArrayList<>();
        try {
            assertTimeoutPreemptively(SEARCH.plus(LxiDiscoverer.CLOSE_MARGIN).plus(SLACK), () -> discoverer
                    .discover(new DiscoveryRequest(SEARCH, List.of(LOOPBACK), Map.of()), found::add));
        } finally {
            discoverer.deactivate();
        }
        assertEquals(List.of(), discovererThreads(), "every responder of the search is closed");

        Discovered lxi = only(found, "Test LXI");
        assertEquals(ResourceAddress.parse("TCPIP::127.0.0.1::inst0::INSTR"), lxi.address());
        assertEquals(Map.of("Manufacturer", "LabHAL", "Model", "SHARED", "SerialNumber", "0001"), lxi.details());
        assertEquals("mDNS _lxi._tcp on 127.0.0.1", lxi.source());
        assertTrue(lxi.probeAllowed());

        Discovered hislip = only(found, "Test HiSLIP");
        assertEquals(ResourceAddress.parse("TCPIP::127.0.0.1::hislip0::INSTR"), hislip.address());
        assertEquals("TCPIP0::127.0.0.1::hislip0::INSTR", hislip.address().canonical(), "4880 is left out");
        assertEquals(Map.of(), hislip.details(), "an empty TXT record is still reported, at the end");
        assertEquals("mDNS _hislip._tcp on 127.0.0.1", hislip.source());

        assertEquals(ResourceAddress.parse("TCPIP::127.0.0.1::hislip0,4999::INSTR"),
                only(found, "Test HiSLIP 4999").address());
        Discovered vxi11 = only(found, "Test VXI-11");
        assertEquals(ResourceAddress.parse("TCPIP::127.0.0.1::inst0::INSTR"), vxi11.address());
        assertEquals("mDNS _vxi-11._tcp on 127.0.0.1", vxi11.source());
        Discovered socket = only(found, "Test socket");
        assertEquals(ResourceAddress.parse("TCPIP::127.0.0.1::5025::SOCKET"), socket.address());
        assertEquals(Map.of("Model", "SMW200A"), socket.details());
        assertEquals("mDNS _scpi-raw._tcp on 127.0.0.1", socket.source());
    }

    @Test
    void noInterfacesMeansNoSearchAndNoSocket() throws Exception {
        AtomicInteger opened = new AtomicInteger();
        LxiDiscoverer discoverer = new LxiDiscoverer((address, name) -> {
            opened.incrementAndGet();
            return Responders.JMDNS.open(address, name);
        }, LOG::add);
        List<Discovered> found = new ArrayList<>();
        try {
            discoverer.discover(new DiscoveryRequest(SHORT, List.of(), Map.of()), found::add);
        } finally {
            discoverer.deactivate();
        }
        assertEquals(List.of(), found);
        assertEquals(0, opened.get(), "no mDNS responder (and so no socket) was opened");
        assertEquals(List.of(), discovererThreads());
    }

    @Test
    void anInterfaceThatDoesNotExistIsNamedAndNothingOpens() {
        AtomicInteger opened = new AtomicInteger();
        LxiDiscoverer discoverer = new LxiDiscoverer((address, name) -> {
            opened.incrementAndGet();
            return Responders.JMDNS.open(address, name);
        }, LOG::add);
        try {
            LabHalException byName = assertThrows(LabHalException.class, () -> discoverer.discover(
                    new DiscoveryRequest(SHORT, List.of(LOOPBACK, "nosuch0"), Map.of()), d -> { }));
            assertTrue(byName.getMessage().contains("'nosuch0'"), byName.getMessage());
            // 192.0.2.1 is TEST-NET-1 (RFC 5737): no machine has it
            LabHalException byAddress = assertThrows(LabHalException.class, () -> discoverer.discover(
                    new DiscoveryRequest(SHORT, List.of("192.0.2.1"), Map.of()), d -> { }));
            assertTrue(byAddress.getMessage().contains("192.0.2.1"), byAddress.getMessage());
        } finally {
            discoverer.deactivate();
        }
        assertEquals(0, opened.get(), "every interface is checked before anything opens");
    }

    @Test
    void anInterruptEndsTheSearchAtOnceKeepsTheFlagAndClosesTheResponder() throws Exception {
        CountDownLatch searching = new CountDownLatch(1);
        LxiDiscoverer discoverer = new LxiDiscoverer((address, name) -> {
            var mdns = Responders.JMDNS.open(address, name);
            searching.countDown();
            return mdns;
        }, LOG::add);
        Duration long_ = Duration.ofMinutes(5); // the interrupt, not the timeout, must end it
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicReference<Boolean> flagKept = new AtomicReference<>();
        Thread searcher = new Thread(() -> {
            try {
                discoverer.discover(new DiscoveryRequest(long_, List.of(LOOPBACK), Map.of()), d -> { });
            } catch (Throwable e) {
                thrown.set(e);
            }
            flagKept.set(Thread.currentThread().isInterrupted());
        }, "test-searcher");
        try {
            searcher.start();
            assertTrue(searching.await(SLACK.toSeconds(), TimeUnit.SECONDS), "the search started");
            searcher.interrupt();
            searcher.join(LxiDiscoverer.CLOSE_MARGIN.plus(SLACK).toMillis());
            assertFalse(searcher.isAlive(), "the interrupted search ended");
        } finally {
            discoverer.deactivate();
        }
        assertInstanceOf(StepInterruptedException.class, thrown.get());
        assertTrue(thrown.get().getMessage().contains("127.0.0.1"), thrown.get().getMessage());
        assertEquals(Boolean.TRUE, flagKept.get(), "the interrupt flag stays set");
        assertEquals(List.of(), discovererThreads(), "the responder was closed despite the interrupt");
    }
}
