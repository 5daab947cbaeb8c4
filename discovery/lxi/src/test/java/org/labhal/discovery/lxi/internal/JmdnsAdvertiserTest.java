package org.labhal.discovery.lxi.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.labhal.api.LabHalException;
import org.labhal.discovery.lxi.Advertisement;

/** The advertiser's responders: shared per interface, stopped with their last advertisement. */
class JmdnsAdvertiserTest {
    private final List<String> log = new CopyOnWriteArrayList<>();

    private static List<String> advertiserThreads() throws InterruptedException {
        return JmdnsThreads.survivors(JmdnsAdvertiser.HOST_NAME);
    }

    @Test
    void oneResponderPerInterfaceStopsWithItsLastAdvertisement() throws Exception {
        AtomicInteger opened = new AtomicInteger();
        JmdnsAdvertiser advertiser = new JmdnsAdvertiser((address, name) -> {
            opened.incrementAndGet();
            return Responders.JMDNS.open(address, name);
        }, log::add);
        try {
            Advertisement first = advertiser.advertise("127.0.0.1", "_scpi-raw._tcp", "First", 5025, Map.of());
            Advertisement second = advertiser.advertise("lo", "_hislip._tcp", "Second", 4880, Map.of("Model", "X"));
            assertEquals(1, opened.get(), "the second advertisement shares the responder");
            assertEquals("First", first.instanceName());
            assertEquals("_scpi-raw._tcp.local.", first.serviceType());
            assertEquals(5025, first.port());

            first.close();
            first.close(); // idempotent: must not count twice
            assertEquals(1, advertiser.responders(), "the responder stays while it carries an advertisement");
            second.close();
            assertEquals(0, advertiser.responders(), "the last withdrawal stops the responder");
            assertTrue(advertiser.awaitWithdrawals(Duration.ofSeconds(15)), "the goodbyes went out");
            assertEquals(List.of(), advertiserThreads(), "the responder's threads ended");
        } finally {
            advertiser.deactivate();
        }
    }

    @Test
    void stoppingClosesEveryResponderAndRefusesMore() throws Exception {
        JmdnsAdvertiser advertiser = new JmdnsAdvertiser(Responders.JMDNS, log::add);
        Advertisement one = advertiser.advertise("127.0.0.1", "_vxi-11._tcp", "Stopping", 111, Map.of());
        advertiser.deactivate();
        assertEquals(List.of(), advertiserThreads(), "deactivate waits for the responder to close");
        one.close(); // after stop: nothing to do, no failure
        LabHalException refused = assertThrows(LabHalException.class,
                () -> advertiser.advertise("127.0.0.1", "_vxi-11._tcp", "Late", 111, Map.of()));
        assertTrue(refused.getMessage().contains("stopped"), refused.getMessage());
    }

    @Test
    void badInputIsRefusedBeforeAnythingOpens() {
        AtomicInteger opened = new AtomicInteger();
        JmdnsAdvertiser advertiser = new JmdnsAdvertiser((address, name) -> {
            opened.incrementAndGet();
            return Responders.JMDNS.open(address, name);
        }, log::add);
        try {
            assertThrows(IllegalArgumentException.class,
                    () -> advertiser.advertise("127.0.0.1", "hislip", "A", 4880, Map.of()));
            assertThrows(IllegalArgumentException.class,
                    () -> advertiser.advertise("127.0.0.1", "_hislip._tcp", "A", 0, Map.of()));
            assertThrows(IllegalArgumentException.class,
                    () -> advertiser.advertise("127.0.0.1", "_hislip._tcp", "x".repeat(64), 4880, Map.of()));
            assertThrows(IllegalArgumentException.class,
                    () -> advertiser.advertise("127.0.0.1", "_hislip._tcp", "A", 4880, Map.of("a=b", "c")));
            LabHalException unknown = assertThrows(LabHalException.class,
                    () -> advertiser.advertise("nosuch0", "_hislip._tcp", "A", 4880, Map.of()));
            assertTrue(unknown.getMessage().contains("nosuch0"), unknown.getMessage());
        } finally {
            advertiser.deactivate();
        }
        assertEquals(0, opened.get());
    }

    @Test
    void serviceTypesAreNormalised() {
        assertEquals("_hislip._tcp.local.", JmdnsAdvertiser.serviceType("_HiSLIP._tcp"));
        assertEquals("_vxi-11._tcp.local.", JmdnsAdvertiser.serviceType("_vxi-11._tcp.local."));
        assertEquals("_lxi._tcp.local.", JmdnsAdvertiser.serviceType("_lxi._tcp."));
    }
}
