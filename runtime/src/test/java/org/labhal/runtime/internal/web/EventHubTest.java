package org.labhal.runtime.internal.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.labhal.runtime.internal.trace.Traces;

class EventHubTest {

    @Test
    void aClientThatNeverReadsLosesEventsAndBlocksNobody() throws Exception {
        AtomicInteger version = new AtomicInteger();
        ExecutorService pump = Executors.newSingleThreadExecutor();
        // every snapshot differs, so the pump offers one at every poll
        EventHub hub = new EventHub(() -> new DashboardApi.Snapshot("{\"v\":" + version.incrementAndGet() + "}",
                "v" + version.get()), new Traces(null), pump, 2, 3);
        try {
            EventHub.Client stalled = hub.join();
            EventHub.Client reader = hub.join();
            assertEquals(503, assertThrows(ApiException.class, hub::join).status(), "capped at 2");
            // the reader keeps getting fresh snapshots while the other never reads
            int seen = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (stalled.dropped() == 0 && System.nanoTime() < deadline) {
                if (reader.next(Duration.ofMillis(500)).isPresent()) {
                    seen++;
                }
            }
            assertTrue(stalled.dropped() > 0, "a full queue drops and counts");
            assertTrue(seen > 3, "the reading client got more than the stalled one's queue holds: " + seen);
            hub.leave(stalled);
            assertEquals(1, hub.clients());
            assertTrue(hub.dropped() >= stalled.dropped());
            hub.close();
            assertNull(reader.next(Duration.ofSeconds(5)), "closing ends the streams");
            assertEquals(503, assertThrows(ApiException.class, hub::join).status());
        } finally {
            hub.close();
            pump.shutdownNow();
        }
    }

    @Test
    void anEventIsOneServerSentEvent() {
        assertEquals("event: steps\ndata: [1]\n\n", EventHub.event("steps", "[1]"));
    }
}
