package org.labhal.transport.gpib.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.InstrumentControlUnsupportedException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.RemoteLocal;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.InstrumentControl;

/** Serial poll, trigger, device clear and remote/local reach the instrument they were meant for. */
class GpibControlTest {
    private static final int MAV = 0x10;
    private Bench bench;
    private Connection meter;
    private Connection generator;

    @BeforeEach
    void start() throws Exception {
        bench = new Bench();
        meter = bench.open("GPIB0::22::INSTR");
        generator = bench.open("GPIB0::5::INSTR");
    }

    @AfterEach
    void stop() {
        bench.close();
    }

    /** The controller does not confirm commands; an answered serial poll behind them shows they were done. */
    private void settle() throws LabHalException {
        control(meter).readStatusByte(Bench.IO);
    }

    private static InstrumentControl control(Connection c) {
        return (InstrumentControl) c;
    }

    @Test
    void serialPollReadsTheAddressedInstrumentsStatusByte() throws Exception {
        Bench.send(meter, "SIM:ECHO? waiting"); // an answer waits in the meter only
        Bench.send(generator, "*CLS");
        assertEquals(MAV, control(meter).readStatusByte(Bench.IO) & MAV, "the meter has an answer waiting");
        assertEquals(0, control(generator).readStatusByte(Bench.IO) & MAV, "the generator has none");
        assertEquals("waiting", Bench.answer(meter, 64, Bench.IO), "the poll took nothing of the answer");
        assertEquals(0, control(meter).readStatusByte(Bench.IO) & MAV);
    }

    @Test
    void serialPollOfAnEmptyAddressTimesOutAndTheBusStaysUsable() throws Exception {
        try (Connection nobody = bench.open("GPIB0::7::INSTR")) {
            assertThrows(IoTimeoutException.class, () -> control(nobody).readStatusByte(Duration.ofMillis(300)));
        }
        assertEquals("ok", Bench.query(meter, "SIM:ECHO? ok"));
    }

    @Test
    void triggerReachesOnlyItsInstrument() throws Exception {
        control(generator).trigger(Bench.IO);
        control(generator).trigger(Bench.IO);
        // The controller acts on commands in order but does not confirm them: the spoll answer marks "done"
        control(generator).readStatusByte(Bench.IO);
        assertEquals(2, bench.simulator.triggers(5, -1));
        assertEquals(0, bench.simulator.triggers(22, -1));
    }

    @Test
    void clearEmptiesOnlyItsInstrumentsOutput() throws Exception {
        Bench.send(meter, "SIM:ECHO? stale");
        Bench.send(generator, "SIM:ECHO? kept");
        meter.clear(Bench.IO);
        assertEquals(0, control(meter).readStatusByte(Bench.IO) & MAV, "the stale answer is gone");
        assertEquals(1, bench.simulator.clears(22, -1));
        assertEquals(0, bench.simulator.clears(5, -1));
        assertEquals("kept", Bench.answer(generator, 64, Bench.IO));
        assertEquals("fresh", Bench.query(meter, "SIM:ECHO? fresh"));
    }

    @Test
    void remoteAndLocalReachTheRightInstrument() throws Exception {
        Bench.query(meter, "SIM:ECHO? a");
        Bench.query(generator, "SIM:ECHO? b");
        assertEquals("REMOTE", bench.simulator.remoteState(22, -1), "a message makes an instrument remote");
        control(meter).remoteLocal(RemoteLocal.LOCAL, Bench.IO);
        settle();
        assertEquals("LOCAL", bench.simulator.remoteState(22, -1));
        assertEquals("REMOTE", bench.simulator.remoteState(5, -1));
        control(generator).remoteLocal(RemoteLocal.LOCAL_LOCKOUT, Bench.IO);
        settle();
        assertEquals("LOCKOUT", bench.simulator.remoteState(5, -1));
        assertEquals("LOCAL", bench.simulator.remoteState(22, -1));
        control(meter).remoteLocal(RemoteLocal.REMOTE, Bench.IO);
        Bench.query(meter, "SIM:ECHO? c");
        assertEquals("REMOTE", bench.simulator.remoteState(22, -1));
    }

    @Test
    void releaseIsRefusedWithAReason() {
        InstrumentControlUnsupportedException e = assertThrows(InstrumentControlUnsupportedException.class,
                () -> control(meter).remoteLocal(RemoteLocal.RELEASE, Bench.IO));
        assertTrue(e.getMessage().contains("REN"), e.getMessage());
        assertTrue(e.getMessage().contains("GPIB0::22::INSTR"), e.getMessage());
        assertFalse(bench.simulator.commands("loc") > 0, "nothing was sent");
    }
}
