package org.labhal.transport.usbtmc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.labhal.api.InstrumentControlUnsupportedException;
import org.labhal.api.RemoteLocal;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.InstrumentControl;
import org.labhal.transport.sim.SimSettings;

/** USB488: status byte, trigger, remote/local; and two threads taking turns on one link. */
class UsbtmcControlTest {
    private static final int MAV = 0x10;

    @ParameterizedTest(name = "interrupt-IN endpoint: {0}")
    @ValueSource(booleans = {true, false})
    void theStatusByteShowsAnAnswerWaiting(boolean interruptIn) throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A", SimSettings.defaults(), b -> b.interruptIn(interruptIn));
                Connection c = sim.open()) {
            InstrumentControl control = (InstrumentControl) c;
            assertEquals(0, control.readStatusByte(UsbSim.IO) & MAV);
            UsbSim.write(c, "SIM:ECHO? waiting", UsbSim.IO);
            assertTrue(sim.device.awaitIdle(UsbSim.IO)); // the device executed the query
            assertEquals(MAV, control.readStatusByte(UsbSim.IO) & MAV, "MAV while the answer waits");
            assertEquals("waiting", UsbSim.read(c, UsbSim.IO));
            assertEquals(0, control.readStatusByte(UsbSim.IO) & MAV);
            for (int i = 0; i < 300; i++) { // bTag runs through 2..127 and wraps
                control.readStatusByte(UsbSim.IO);
            }
        }
    }

    @Test
    void triggerReachesTheDevice() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A"); Connection c = sim.open()) {
            ((InstrumentControl) c).trigger(UsbSim.IO);
            ((InstrumentControl) c).trigger(UsbSim.IO);
            assertEquals("t", UsbSim.query(c, "SIM:ECHO? t")); // handled in order, so both arrived before this
            assertEquals(2, sim.device.triggers());
        }
    }

    @Test
    void remoteAndLocalReachTheDevice() throws Exception {
        try (UsbSim sim = new UsbSim("SHARED"); Connection c = sim.open()) {
            InstrumentControl control = (InstrumentControl) c;
            control.remoteLocal(RemoteLocal.REMOTE, UsbSim.IO);
            assertTrue(sim.device.renAsserted() && sim.device.remote() && !sim.device.localLockout());
            control.remoteLocal(RemoteLocal.LOCAL, UsbSim.IO);
            assertTrue(sim.device.renAsserted() && !sim.device.remote());
            control.remoteLocal(RemoteLocal.LOCAL_LOCKOUT, UsbSim.IO);
            assertTrue(sim.device.renAsserted() && sim.device.remote() && sim.device.localLockout());
            control.remoteLocal(RemoteLocal.RELEASE, UsbSim.IO);
            assertFalse(sim.device.renAsserted() || sim.device.remote() || sim.device.localLockout());
        }
    }

    @Test
    void functionsTheDeviceLacksAreRefusedBeforeAnythingIsSent() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A", SimSettings.defaults(), b -> b.trigger(false).renControl(false));
                Connection c = sim.open()) {
            InstrumentControl control = (InstrumentControl) c;
            InstrumentControlUnsupportedException t = assertThrows(InstrumentControlUnsupportedException.class,
                    () -> control.trigger(UsbSim.IO));
            assertTrue(t.getMessage().contains("TRIGGER") && t.getMessage().contains(sim.resource()), t.getMessage());
            InstrumentControlUnsupportedException r = assertThrows(InstrumentControlUnsupportedException.class,
                    () -> control.remoteLocal(RemoteLocal.REMOTE, UsbSim.IO));
            assertTrue(r.getMessage().contains("REN_CONTROL"), r.getMessage());
            assertEquals(0, sim.device.stalls(), "nothing the device refuses was sent");
            assertFalse(sim.device.renAsserted());
            assertEquals("still", UsbSim.query(c, "SIM:ECHO? still"));
        }
    }

    @Test
    void twoThreadsTakingTurnsGetTheirOwnAnswers() throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(2);
        ReentrantLock turn = new ReentrantLock(); // what a session's lock does
        try (UsbSim sim = new UsbSim("SHARED"); Connection c = sim.open()) {
            List<Future<Integer>> results = new ArrayList<>();
            for (String who : List.of("alpha", "beta")) {
                results.add(threads.submit(() -> {
                    int ok = 0;
                    for (int i = 0; i < 200; i++) {
                        String token = who + i;
                        turn.lock();
                        try {
                            if (UsbSim.query(c, "SIM:ECHO? " + token, Duration.ofSeconds(10)).equals(token)) {
                                ok++;
                            }
                        } finally {
                            turn.unlock();
                        }
                    }
                    return ok;
                }));
            }
            for (Future<Integer> result : results) {
                assertEquals(200, result.get(60, TimeUnit.SECONDS));
            }
        } finally {
            threads.shutdownNow();
        }
    }
}
