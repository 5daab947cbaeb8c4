package org.labhal.driver.sim.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.labhal.api.InstrumentErrorException;
import org.labhal.api.instrument.Identity;
import org.labhal.api.instrument.InstrumentModel;
import org.labhal.api.instrument.Multimeter;
import org.labhal.api.instrument.ScpiInstrument;
import org.labhal.api.instrument.SignalGenerator;
import org.labhal.api.lock.LockPolicy;
import org.labhal.driver.rs.smw.SmwSignalGenerator;
import org.labhal.driver.rs.smw.internal.Smw200aModel;
import org.labhal.driver.shared.ScpiMultimeter;
import org.labhal.driver.shared.internal.Meter34401aModel;
import org.labhal.driver.shared.internal.Meter34970aModel;

/** The simulated instruments as models, next to every other model the drivers register. */
class SimModelsTest {
    private final SimSmw200aModel smw = new SimSmw200aModel();
    private final SimSharedMeterModel meter = new SimSharedMeterModel();
    /** Every model of the three driver bundles, as the runtime would see them registered. */
    private final List<InstrumentModel> all = List.of(new Smw200aModel(), new Meter34401aModel(),
            new Meter34970aModel(), smw, meter);
    private final SimLab lab = new SimLab();

    @AfterEach
    void stop() {
        lab.close();
    }

    /** What the runtime does: the highest score above NO_MATCH wins. */
    private Optional<InstrumentModel> pick(Identity identity) {
        return all.stream().filter(model -> model.match(identity) > InstrumentModel.NO_MATCH)
                .max(Comparator.comparingInt(model -> model.match(identity)));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "LabHAL,SMW200A-SIM,100001,1.0                       | labhal-smw200a-sim",
            "LabHAL,SHARED-SIM,100001,1.0                        | labhal-shared-sim",
            "Rohde&Schwarz,SMW200A,1412.0000K02/101234,5.30.047.28 | rs-smw200a",
            "HEWLETT-PACKARD,34401A,0,11-5-2                     | keysight-34401a",
            "Agilent Technologies,34970A,0,13-2-2                | keysight-34970a" })
    void eachInstrumentHasExactlyOneBestModel(String idn, String expected) {
        Identity identity = Identity.parse(idn);
        assertEquals(expected, pick(identity).orElseThrow().name());
        assertEquals(1, all.stream().filter(model -> model.match(identity) > InstrumentModel.NO_MATCH).count(),
                "no other model claims " + idn);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = { "LabHAL,SMW200A,100001,1.0", "LabHAL,OTHER-SIM,1,1.0",
            "Tektronix,DPO4034,C010123,CF:91.1CT FV:v2.11" })
    void unknownInstrumentsMatchNothing(String idn) {
        assertEquals(Optional.empty(), pick(Identity.parse(idn)));
    }

    @Test
    void modelNamesAreUniqueKeys() {
        Set<String> names = all.stream().map(InstrumentModel::name).collect(Collectors.toSet());
        assertEquals(all.size(), names.size());
        for (String name : names) {
            assertTrue(name.matches("[a-z0-9-]+"), name);
        }
    }

    @Test
    void policiesAndDriversFollowTheRealModels() {
        assertEquals(LockPolicy.INDEPENDENT_SESSIONS, smw.lockPolicy());
        assertEquals(Set.of(SignalGenerator.class), smw.driverTypes());
        assertTrue(smw.quirks().opcPolling());
        assertEquals(LockPolicy.SHARED_BUFFER, meter.lockPolicy());
        assertEquals(Set.of(Multimeter.class), meter.driverTypes());
        assertTrue(!meter.quirks().opcPolling() && meter.quirks().errorChecking() && smw.quirks().errorChecking());
    }

    @Test
    void theSimulatedGeneratorIsDrivenByTheSmwDriver() throws Exception {
        ScpiInstrument first = lab.connect("SIM::SMW200A::1::INSTR", smw);
        ScpiInstrument second = lab.connect("SIM::SMW200A::1::INSTR", smw);
        assertEquals(smw, pick(first.identity()).orElseThrow());
        assertNotSame(first.session().lock(), second.session().lock(), "independent sessions");
        SignalGenerator generator = assertInstanceOf(SmwSignalGenerator.class, smw.createDriver(first));
        generator.setFrequency(5.9e9);
        generator.setLevel(-42.25);
        generator.setRfOutput(true);
        SignalGenerator other = smw.createDriver(second);
        assertEquals(5.9e9, other.frequency());
        assertEquals(-42.25, other.level());
        assertTrue(other.rfOutput());
        InstrumentErrorException e = assertThrows(InstrumentErrorException.class, () -> generator.setLevel(-200));
        assertEquals(-222, e.errors().get(0).code());
    }

    @Test
    void theSimulatedMeterIsDrivenByTheSharedBufferDriver() throws Exception {
        ScpiInstrument first = lab.connect("SIM::SHARED::1::INSTR", meter);
        ScpiInstrument second = lab.connect("SIM::SHARED::1::INSTR", meter);
        assertEquals(meter, pick(second.identity()).orElseThrow());
        assertSame(first.session().lock(), second.session().lock(), "one lock for the shared buffer");
        Multimeter dmm = assertInstanceOf(ScpiMultimeter.class, meter.createDriver(first));
        assertEquals(0.101, dmm.measureVoltageDc(101), 1e-12);
        assertEquals(0.001, dmm.measureVoltageDc(0), 1e-12);
        first.writeAndWait("INIT"); // blocking *OPC?, as the quirks say
        assertEquals(0.205, meter.createDriver(second).measureVoltageDc(205), 1e-12);
        assertEquals(List.of(), second.errors());
    }
}
