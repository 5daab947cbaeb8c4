package org.labhal.runtime.internal.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.labhal.api.Session;
import org.labhal.api.lock.LockPolicy;

/**
 * The life of an instrument of unknown model against loopback SCPI servers that treat a second client
 * as real instruments do.
 */
class InstrumentConnectionTest {

    @Test
    void anUnknownModelOnAOneClientServerFallsBackToSingleConnectionAndASecondConfigurationJoinsIt()
            throws Exception {
        try (ScpiTestServer device = new ScpiTestServer(ScpiTestServer.Mode.ONE_AT_A_TIME, false);
                RuntimeFixture runtime = new RuntimeFixture()) {
            InstrumentConnection first = runtime.start("box", device.resource(), "ioTimeout", "500");
            assertEquals(InstrumentConnection.State.ONLINE, RuntimeFixture.settle(first), first.status().detail());
            InstrumentStatus status = first.status();
            assertEquals(LockPolicy.SINGLE_CONNECTION, status.policy().orElseThrow(), status.policySource());
            assertTrue(status.policySource().contains("serves one connection"), status.policySource());

            InstrumentConnection second = runtime.start("box-2", device.resource(), "ioTimeout", "500");
            assertEquals(InstrumentConnection.State.ONLINE, RuntimeFixture.settle(second), second.status().detail());
            Session session = second.instrument().orElseThrow().session();
            assertEquals(ScpiTestServer.IDN, session.query("*IDN?"));
            assertEquals(ScpiTestServer.IDN, first.instrument().orElseThrow().session().query("*IDN?"));
            assertEquals(0, device.orphanedQuestions(), "questions left for the device to answer into a closed socket");
        }
    }

    @Test
    void anUnknownModelOnATakeoverServerFallsBackToSingleConnection() throws Exception {
        try (ScpiTestServer device = new ScpiTestServer(ScpiTestServer.Mode.NEWEST_TAKES_OVER, false);
                RuntimeFixture runtime = new RuntimeFixture()) {
            InstrumentConnection first = runtime.start("box", device.resource(), "ioTimeout", "500");
            assertEquals(InstrumentConnection.State.ONLINE, RuntimeFixture.settle(first), first.status().detail());
            InstrumentStatus status = first.status();
            assertEquals(LockPolicy.SINGLE_CONNECTION, status.policy().orElseThrow(), status.policySource());
            assertTrue(status.policySource().contains("took over"), status.policySource());

            InstrumentConnection second = runtime.start("box-2", device.resource(), "ioTimeout", "500");
            assertEquals(InstrumentConnection.State.ONLINE, RuntimeFixture.settle(second), second.status().detail());
            assertEquals(ScpiTestServer.IDN, first.instrument().orElseThrow().session().query("*IDN?"));
            assertEquals(ScpiTestServer.IDN, second.instrument().orElseThrow().session().query("*IDN?"));
        }
    }

    @Test
    void anUnknownModelOnAServerOfManyClientsKeepsTheSafeDefault() throws Exception {
        try (ScpiTestServer device = new ScpiTestServer(ScpiTestServer.Mode.MANY, false);
                RuntimeFixture runtime = new RuntimeFixture()) {
            InstrumentConnection first = runtime.start("box", device.resource(), "ioTimeout", "500");
            assertEquals(InstrumentConnection.State.ONLINE, RuntimeFixture.settle(first), first.status().detail());
            assertEquals(LockPolicy.SHARED_BUFFER, first.status().policy().orElseThrow(), first.status().policySource());
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
            assertTrue(runtime.logged("warn", "*IDN?"), runtime.log.toString());
        }
    }
}
