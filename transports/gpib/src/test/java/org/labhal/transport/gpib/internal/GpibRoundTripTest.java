package org.labhal.transport.gpib.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.transport.Connection;

/** Round trips to several instruments on one board over loopback TCP (GPIB-ETHERNET). */
class GpibRoundTripTest {
    private Bench bench;

    @AfterEach
    void stop() {
        if (bench != null) {
            bench.close();
        }
    }

    @Test
    void twoInstrumentsOnOneBoardAnswerTheirOwnQuestions() throws Exception {
        bench = new Bench();
        try (Connection meter = bench.open("GPIB0::22::INSTR"); Connection generator = bench.open("GPIB::5::INSTR")) {
            assertTrue(Bench.query(meter, "*IDN?").contains("SHARED") || !Bench.query(meter, "*IDN?").isEmpty());
            for (int i = 0; i < 20; i++) {
                assertEquals("m" + i, Bench.query(meter, "SIM:ECHO? m" + i));
                assertEquals("g" + i, Bench.query(generator, "SIM:ECHO? g" + i));
            }
            assertEquals(1, bench.transport.openBoards(), "one controller link for the whole board");
            assertEquals(1, bench.simulator.clients());
        }
    }
}
