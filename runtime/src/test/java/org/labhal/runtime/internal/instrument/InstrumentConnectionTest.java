package org.labhal.runtime.internal.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.labhal.api.Session;
import org.labhal.api.lock.LockPolicy;

/**
 * The life of an instrument of unknown model against loopback SCPI servers that treat a second client
 * as real instruments do.
 */
class InstrumentConnectionTest {

    /** A device that serves one client at a time, or on which the newest connection takes over. */
    @ParameterizedTest
    @CsvSource({ "ONE_AT_A_TIME, answered only once the first closed", "NEWEST_TAKES_OVER, took over" })
    void anUnknownModelOnAOneConnectionDeviceFallsBackToSingleConnectionAndASecondConfigurationJoinsIt(
            ScpiTestServer.Mode mode, String why) throws Exception {
        try (ScpiTestServer device = new ScpiTestServer(mode, false);
                RuntimeFixture runtime = new RuntimeFixture()) {
            InstrumentConnection first = runtime.start("box", device.resource(), "ioTimeout", "500");
            assertEquals(InstrumentConnection.State.ONLINE, RuntimeFixture.settle(first), first.status().detail());
            InstrumentStatus status = first.status();
            assertEquals(LockPolicy.SINGLE_CONNECTION, status.policy().orElseThrow(), status.policySource());
            assertTrue(status.policySource().contains("serves one connection at a time"), status.policySource());
            assertTrue(status.policySource().contains(why), status.policySource());

            InstrumentConnection second = runtime.start("box-2", device.resource(), "ioTimeout", "500");
            assertEquals(InstrumentConnection.State.ONLINE, RuntimeFixture.settle(second), second.status().detail());
            Session session = second.instrument().orElseThrow().session();
            assertEquals(ScpiTestServer.IDN, session.query("*IDN?"));
            assertEquals(ScpiTestServer.IDN, first.instrument().orElseThrow().session().query("*IDN?"));
            assertEquals(0, device.orphanedQuestions(), "questions left for the device to answer into a closed socket");
        }
    }

    @Test
    void anUnknownModelOnAServerOfManyClientsKeepsTheSafeDefault() throws Exception {
        try (ScpiTestServer device = new ScpiTestServer(ScpiTestServer.Mode.MANY, false);
                RuntimeFixture runtime = new RuntimeFixture()) {
            InstrumentConnection first = runtime.start("box", device.resource(), "ioTimeout", "500",
                    "maxAnswerSize", "4096");
            assertEquals(InstrumentConnection.State.ONLINE, RuntimeFixture.settle(first), first.status().detail());
            assertEquals(LockPolicy.SHARED_BUFFER, first.status().policy().orElseThrow(), first.status().policySource());
            assertEquals(4096, first.instrument().orElseThrow().session().maxAnswerSize(), "the configured limit");
            assertEquals(ScpiTestServer.IDN, first.instrument().orElseThrow().session().query("*IDN?"));
        }
    }

    @Test
    void anInstrumentThatStreamsWithoutEndFailsItsProbeWithinItsBoundAndSaysWhy() throws Exception {
        try (ScpiTestServer device = new ScpiTestServer(ScpiTestServer.Mode.MANY, true);
                RuntimeFixture runtime = new RuntimeFixture()) {
            long start = System.nanoTime();
            InstrumentConnection box = runtime.start("box", device.resource(), "ioTimeout", "500");
            assertEquals(InstrumentConnection.State.OFFLINE, RuntimeFixture.settle(box), box.status().detail());
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            // the probe's bound: the open, the lock wait (none here) and the I/O timeout, plus a 2 s grace
            assertTrue(took.compareTo(Duration.ofMillis(500 + 2000 + 5000)) < 0, "took " + took);
            // Why, in either words: the session's whole-answer deadline ends the read first, or the
            // runtime's guard of the probe does
            assertTrue(runtime.logged("warn", "*IDN?") || runtime.logged("warn", "part of an answer but not its end"),
                    runtime.log.toString());
        }
    }

    @Test
    void servicesAreRegisteredAndWithdrawnOutsideTheConnectionsMonitor() throws Exception {
        try (ScpiTestServer device = new ScpiTestServer(ScpiTestServer.Mode.MANY, false);
                RuntimeFixture runtime = new RuntimeFixture()) {
            InstrumentConnection box = runtime.start("box", device.resource(), "ioTimeout", "500");
            assertEquals(InstrumentConnection.State.ONLINE, RuntimeFixture.settle(box), box.status().detail());
            box.close();
            assertEquals(1, runtime.registrations.size());
            RuntimeFixture.Registration registration = runtime.registrations.get(0);
            assertFalse(registration.registered);
            assertFalse(registration.monitorHeld, "registered while holding the connection's monitor");
            assertFalse(registration.monitorHeldOnUnregister, "unregistered while holding the connection's monitor");
        }
    }

    @Test
    void aCloseThatGaveUpWaitingForTheInstrumentThreadLeavesNoServiceBehind() throws Exception {
        try (ScpiTestServer device = new ScpiTestServer(ScpiTestServer.Mode.MANY, false);
                RuntimeFixture runtime = new RuntimeFixture()) {
            CountDownLatch registering = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            runtime.onRegister = () -> {
                registering.countDown();
                awaitUninterruptibly(release); // a service listener that takes its time
            };
            InstrumentConnection box = runtime.start("box", device.resource(), "ioTimeout", "500");
            assertTrue(registering.await(20, TimeUnit.SECONDS), "the instrument registers its service");

            // close() waits 10 s for the instrument thread, then goes on without it
            CompletableFuture<Void> closing = CompletableFuture.runAsync(box::close);
            try {
                closing.get(10 + 5, TimeUnit.SECONDS);
            } finally {
                release.countDown();
            }
            assertEquals(InstrumentConnection.State.CLOSED, box.status().state());
            assertTrue(runtime.unregistered.await(10, TimeUnit.SECONDS), "the late registration is withdrawn");
            assertTrue(runtime.registrations.stream().noneMatch(r -> r.registered), "no service left registered");
        }
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        boolean interrupted = false;
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
