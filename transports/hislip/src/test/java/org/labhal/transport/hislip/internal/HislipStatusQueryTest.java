package org.labhal.transport.hislip.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.transport.hislip.internal.Links.query;
import static org.labhal.transport.hislip.internal.Links.receive;
import static org.labhal.transport.hislip.internal.Links.send;

import java.nio.ByteBuffer;
import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.LabHalException;
import org.labhal.api.RemoteLocal;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.transport.hislip.HislipLink;
import org.labhal.transport.hislip.server.HislipServer;

/** AsyncStatusQuery returns the simulated instrument's status byte, with MAV for undelivered answers. */
class HislipStatusQueryTest {
    private static final Duration IO = Duration.ofSeconds(10);
    private static final int EAV = 0x04;
    private static final int MAV = 0x10;
    private static final int ESB = 0x20;
    private static final int MSS = 0x40;

    private final HislipTransportFactory factory = new HislipTransportFactory();
    private HislipServer server;

    @AfterEach
    void stop() {
        factory.deactivate();
        server.close();
    }

    private HislipLink open(boolean overlapped) throws Exception {
        server = HislipServer.builder("SMW200A").overlapped(overlapped).start();
        return (HislipLink) factory.open(ResourceAddress.parse(server.resource()), IO);
    }

    private static String bits(int stb) {
        return "status byte 0x" + Integer.toHexString(stb);
    }

    @Test
    void anErrorSetsEsbAndMssOnceEnabledAndClsClearsThem() throws Exception {
        HislipLink link = open(false);
        assertEquals(0, link.statusQuery(IO), "a fresh instrument");
        send(link, "*ESE 32;*SRE 32", IO); // ESR bit 5 (command error) -> ESB; ESB -> MSS
        send(link, "BOGUS:COMMAND 1", IO);
        assertEquals("1\n", query(link, "*OPC?", IO)); // both messages have run
        int stb = link.statusQuery(IO);
        assertEquals(EAV | ESB | MSS, stb, bits(stb) + ": error queued, event summary, master summary, no MAV");

        send(link, "*CLS", IO);
        assertEquals("1\n", query(link, "*OPC?", IO));
        stb = link.statusQuery(IO);
        assertEquals(0, stb, bits(stb));
    }

    @Test
    void aSessionReadsTheStatusByteTriggersAndSwitchesRemoteLocalThroughTheLink() throws Exception {
        server = HislipServer.builder("SMW200A").start();
        DefaultSessionFactory sessions = new DefaultSessionFactory(new DefaultLockService());
        sessions.addTransport(factory);
        try (Session session = sessions.open(server.resource())) {
            session.setErrorChecking(false);
            assertTrue(session.instrumentControlSupported());
            session.write("BOGUS:COMMAND 1");
            assertEquals("1", session.query("*OPC?"));

            int stb = session.readStatusByte();

            assertEquals(EAV, stb, bits(stb) + ": the error waits in the queue, no answer is pending");
            session.trigger();
            for (RemoteLocal mode : RemoteLocal.values()) {
                session.remoteLocal(mode); // the server refuses a control code outside 0-6
            }
            assertEquals("1", session.query("*OPC?"), "the session is still in step after every control");
        }
    }

    @Test
    void withoutEseTheErrorShowsOnlyInTheErrorQueueBit() throws Exception {
        HislipLink link = open(false);
        send(link, "BOGUS:COMMAND 1", IO);
        assertEquals("1\n", query(link, "*OPC?", IO));
        int stb = link.statusQuery(IO);
        assertEquals(EAV, stb, bits(stb));
    }

    @Test
    void mavIsSetWhileAnAnswerIsPendingInSynchronizedMode() throws Exception {
        mavIsSetWhileAnAnswerIsPending(open(false));
    }

    @Test
    void mavIsSetWhileAnAnswerIsPendingInOverlappedMode() throws Exception {
        mavIsSetWhileAnAnswerIsPending(open(true));
    }

    private void mavIsSetWhileAnAnswerIsPending(HislipLink link) throws LabHalException {
        send(link, "*SRE 16", IO); // MAV -> MSS
        assertEquals("warmup\n", query(link, "SIM:ECHO? warmup", IO));
        assertEquals(0, link.statusQuery(IO), "the answer was taken whole");

        send(link, "SIM:ECHO? pending", IO);
        ByteBuffer first = ByteBuffer.allocate(1);
        assertFalse(link.read(first, IO)); // the answer has arrived; one byte of it is taken
        int stb = link.statusQuery(IO);
        assertEquals(MAV | MSS, stb, bits(stb) + " while the rest of the answer waits");
        assertEquals("ending\n", receive(link, IO));
        stb = link.statusQuery(IO);
        assertEquals(0, stb, bits(stb) + " once the whole answer was delivered");
    }
}
