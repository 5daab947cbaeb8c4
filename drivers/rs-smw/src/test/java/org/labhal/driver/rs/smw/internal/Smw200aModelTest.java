package org.labhal.driver.rs.smw.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.labhal.api.InstrumentErrorException;
import org.labhal.api.instrument.Identity;
import org.labhal.api.instrument.InstrumentModel;
import org.labhal.api.instrument.ScpiInstrument;
import org.labhal.api.instrument.SignalGenerator;
import org.labhal.api.lock.LockPolicy;
import org.labhal.driver.rs.smw.SmwSignalGenerator;

/**
 * The SMW200A model, and its driver against the simulated SMW200A, which speaks the same command set.
 */
class Smw200aModelTest {
    private final Smw200aModel model = new Smw200aModel();
    private final SimLab lab = new SimLab();

    @AfterEach
    void stop() {
        lab.close();
    }

    @ParameterizedTest
    @ValueSource(strings = { "Rohde&Schwarz,SMW200A,1412.0000K02/101234,5.30.047.28",
            "ROHDE&SCHWARZ,SMW200A,1412.0000K02/101234,4.80.002.54", "Rohde & Schwarz,smw200a,0,1" })
    void matchesTheSmw200aHoweverItSpellsItsMaker(String idn) {
        assertEquals(InstrumentModel.MODEL_MATCH, model.match(Identity.parse(idn)));
    }

    @ParameterizedTest
    @ValueSource(strings = { "Rohde&Schwarz,SMBV100A,1407.6004k02/123456,3.1.19.15",
            "LabHAL,SMW200A-SIM,100001,1.0", "Keysight Technologies,SMW200A,0,1", "Rohde&Schwarz,SMW200,0,1" })
    void leavesOtherInstrumentsAlone(String idn) {
        assertEquals(InstrumentModel.NO_MATCH, model.match(Identity.parse(idn)));
    }

    @Test
    void keepsSessionsIndependentAndChecksErrors() {
        assertEquals("rs-smw200a", model.name());
        assertEquals(LockPolicy.INDEPENDENT_SESSIONS, model.lockPolicy());
        assertTrue(model.quirks().errorChecking());
        assertTrue(model.quirks().opcPolling(), "per-session status registers allow polling");
        assertFalse(model.quirks().instrumentLock(), "separate sessions need no instrument-side lock per step");
        assertEquals(Set.of(SignalGenerator.class), model.driverTypes());
    }

    @Test
    void typedCallsRoundTrip() throws Exception {
        ScpiInstrument smw = lab.connect("SIM::SMW200A::1::INSTR", model);
        SignalGenerator generator = assertInstanceOf(SmwSignalGenerator.class, model.createDriver(smw));
        generator.setFrequency(2.5e9);
        assertEquals(2.5e9, generator.frequency());
        generator.setFrequency(123_456_789.123);
        assertEquals(123_456_789.123, generator.frequency(), "1 mHz resolution survives the trip");
        generator.setLevel(-10.5);
        assertEquals(-10.5, generator.level());
        assertFalse(generator.rfOutput());
        generator.setRfOutput(true);
        assertTrue(generator.rfOutput());
        generator.setRfOutput(false);
        assertFalse(generator.rfOutput());
        assertEquals(List.of(), smw.errors());
    }

    @Test
    void refusedValuesFailTheSetterAndChangeNothing() throws Exception {
        ScpiInstrument smw = lab.connect("SIM::SMW200A::1::INSTR", model);
        SignalGenerator generator = model.createDriver(smw);
        generator.setFrequency(1e9);
        InstrumentErrorException e = assertThrows(InstrumentErrorException.class, () -> generator.setFrequency(7e9));
        assertEquals(-222, e.errors().get(0).code(), e.getMessage());
        assertEquals("SOUR1:FREQ:CW 7000000000", e.command());
        assertEquals(1e9, generator.frequency());
        assertThrows(InstrumentErrorException.class, () -> generator.setLevel(31));
        assertThrows(IllegalArgumentException.class, () -> generator.setFrequency(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> generator.setLevel(Double.NEGATIVE_INFINITY));
        assertEquals(List.of(), smw.errors(), "errors were reported once, by the setter that caused them");
    }

    @Test
    void withoutErrorCheckingRefusedValuesWaitInTheQueue() throws Exception {
        ScpiInstrument smw = lab.connect("SIM::SMW200A::1::INSTR", model);
        smw.session().setErrorChecking(false);
        model.createDriver(smw).setFrequency(7e9);
        assertEquals(-222, smw.errors().get(0).code());
    }

    @Test
    void independentSessionsHaveTheirOwnLocksAndOneInstrument() throws Exception {
        ScpiInstrument first = lab.connect("SIM::SMW200A::1::INSTR", model);
        ScpiInstrument second = lab.connect("SIM::SMW200A::1::INSTR", model);
        assertNotSame(first.session().lock(), second.session().lock());
        model.createDriver(first).setFrequency(3e9);
        assertEquals(3e9, model.createDriver(second).frequency(), "the settings are the instrument's");
    }

    @Test
    void driversAreCheapAndStateless() throws Exception {
        ScpiInstrument smw = lab.connect("SIM::SMW200A::1::INSTR", model);
        model.createDriver(smw).setLevel(-20);
        assertEquals(-20, model.createDriver(smw).level(), "a new driver object sees what the old one set");
    }
}
