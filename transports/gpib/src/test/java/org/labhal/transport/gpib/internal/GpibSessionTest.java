package org.labhal.transport.gpib.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;

/** Whole sessions on two instruments of one board, from several threads each: every answer is its own. */
class GpibSessionTest {
    private static final int THREADS_PER_INSTRUMENT = 3;
    private static final int QUERIES = 30;
    private final Bench bench;
    private final DefaultSessionFactory sessions = new DefaultSessionFactory(new DefaultLockService());

    GpibSessionTest() throws Exception {
        bench = new Bench();
        sessions.addTransport(bench.transport);
    }

    @AfterEach
    void stop() {
        sessions.deactivate();
        bench.close();
    }

    private Session open(String resource) throws LabHalException {
        return sessions.open(ResourceAddress.parse(resource), SessionOptions.defaults()
                .withIoTimeout(Duration.ofSeconds(5)).withLockTimeout(Duration.ofSeconds(60)));
    }

    @Test
    void controlFunctionsThroughSessions() throws Exception {
        try (Session meter = open("GPIB0::22::INSTR"); Session generator = open("GPIB0::5::INSTR")) {
            meter.write("SIM:ECHO? waiting");
            generator.write("*CLS"); // a message makes it remote
            assertEquals(0x10, meter.readStatusByte() & 0x10, "MAV of the meter");
            assertEquals(0, generator.readStatusByte() & 0x10);
            generator.trigger();
            meter.remoteLocal(org.labhal.api.RemoteLocal.LOCAL);
            generator.readStatusByte(); // the controller does not confirm commands: an answered poll follows them
            assertEquals(1, bench.simulator.triggers(5, -1));
            assertEquals("LOCAL", bench.simulator.remoteState(22, -1));
            assertEquals("REMOTE", bench.simulator.remoteState(5, -1));
        }
    }

    @Test
    void manyThreadsOnTwoInstrumentsGetNoWrongAnswer() throws Exception {
        try (Session meter = open("GPIB0::22::INSTR"); Session generator = open("GPIB0::5::INSTR")) {
            assertTrue(generator.query("*IDN?").contains("SMW200A"));
            AtomicLong right = new AtomicLong();
            AtomicLong wrong = new AtomicLong();
            Map<String, Long> errors = new ConcurrentHashMap<>();
            List<CompletableFuture<?>> done = new ArrayList<>();
            for (int t = 0; t < 2 * THREADS_PER_INSTRUMENT; t++) {
                Session session = t % 2 == 0 ? meter : generator;
                int thread = t;
                done.add(CompletableFuture.runAsync(() -> {
                    for (int q = 0; q < QUERIES; q++) {
                        String token = "T" + thread + "Q" + q;
                        try {
                            if (session.query("SIM:ECHO? " + token).equals(token)) {
                                right.incrementAndGet();
                            } else {
                                wrong.incrementAndGet();
                            }
                        } catch (LabHalException e) {
                            errors.merge(e.getClass().getSimpleName() + ": " + e.getMessage(), 1L, Long::sum);
                        }
                    }
                }));
            }
            CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
            assertEquals(Map.of(), errors);
            assertEquals(0, wrong.get());
            assertEquals(2L * THREADS_PER_INSTRUMENT * QUERIES, right.get());
        }
    }
}
