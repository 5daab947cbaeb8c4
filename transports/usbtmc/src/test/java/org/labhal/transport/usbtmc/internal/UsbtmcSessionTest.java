package org.labhal.transport.usbtmc.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.RemoteLocal;
import org.labhal.api.Session;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.transport.sim.SimSettings;

/** Through the lead's session layer: what an application sees of a USB488 instrument. */
class UsbtmcSessionTest {

    @Test
    void aSessionQueriesPollsTriggersAndSwitchesRemoteLocal() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A")) {
            DefaultSessionFactory sessions = new DefaultSessionFactory(new DefaultLockService());
            sessions.addTransport(sim.factory);
            try (Session session = sessions.open(sim.resource())) {
                assertTrue(session.query("*IDN?").contains("SMW200A"));
                assertArrayEquals(UsbtmcRoundTripTest.block(5000), session.queryBytes("SIM:BLOCK? 5000"));
                assertTrue(session.instrumentControlSupported());
                assertEquals(0, session.readStatusByte() & 0x10, "no answer pending");
                session.trigger();
                session.remoteLocal(RemoteLocal.LOCAL_LOCKOUT);
                assertTrue(sim.device.localLockout());
                session.remoteLocal(RemoteLocal.RELEASE);
                assertTrue(!sim.device.renAsserted());
                assertEquals("still", session.query("SIM:ECHO? still"));
                assertEquals(1, sim.device.triggers());
            } finally {
                sessions.deactivate();
            }
        }
    }

    @Test
    void aSessionThatTimedOutGetsTheNextAnswerRight() throws Exception {
        SimSettings slow = SimSettings.defaults().withProcessingDelay(Duration.ofMillis(300));
        try (UsbSim sim = new UsbSim("SHARED", slow, b -> b)) {
            DefaultSessionFactory sessions = new DefaultSessionFactory(new DefaultLockService());
            sessions.addTransport(sim.factory);
            try (Session a = sessions.open(sim.resource()); Session b = sessions.open(sim.resource())) {
                assertEquals(1, sim.factory.openConnections(), "sessions to one USB device share its connection");
                a.setErrorChecking(false);
                a.setIoTimeout(Duration.ofMillis(100));
                assertThrows(IoTimeoutException.class, () -> a.query("MEAS:VOLT? (@201)"));
                a.setIoTimeout(Duration.ofSeconds(10));
                assertEquals("+2.02000000E-01", b.query("MEAS:VOLT? (@202)"));
                assertEquals("+2.03000000E-01", a.query("MEAS:VOLT? (@203)"));
            } finally {
                sessions.deactivate();
            }
        }
    }
}
