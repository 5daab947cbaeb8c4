package org.labhal.driver.shared.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.instrument.Identity;
import org.labhal.api.instrument.InstrumentModel;
import org.labhal.api.instrument.ModelQuirks;
import org.labhal.api.instrument.Multimeter;
import org.labhal.api.instrument.ScpiInstrument;
import org.labhal.api.lock.LockPolicy;
import org.labhal.driver.shared.ScpiMultimeter;
import org.labhal.driver.shared.ScpiMultimeter.Inputs;

/**
 * The shared-buffer meter models, and their driver against the simulated shared-buffer meter (channel n
 * reads n mV; no channel reads channel 1).
 */
class SharedMeterModelsTest {
    private final Meter34401aModel dmm = new Meter34401aModel();
    private final Meter34970aModel daq = new Meter34970aModel();
    private final SimLab lab = new SimLab();

    @AfterEach
    void stop() {
        lab.close();
    }

    @ParameterizedTest
    @ValueSource(strings = { "HEWLETT-PACKARD,34401A,0,11-5-2", "Agilent Technologies,34401A,0,11-5-3",
            "Keysight Technologies,34401A,MY12345678,11-5-3" })
    void the34401aMatchesUnderEveryBrand(String idn) {
        assertEquals(InstrumentModel.MODEL_MATCH, dmm.match(Identity.parse(idn)));
        assertEquals(InstrumentModel.NO_MATCH, daq.match(Identity.parse(idn)));
    }

    @ParameterizedTest
    @ValueSource(strings = { "HEWLETT-PACKARD,34970A,0,13-2-2", "Agilent Technologies,34972A,MY49000000,1.16-1.12-02-02" })
    void the34970aAnd34972aMatchTheScannerModel(String idn) {
        assertEquals(InstrumentModel.MODEL_MATCH, daq.match(Identity.parse(idn)));
        assertEquals(InstrumentModel.NO_MATCH, dmm.match(Identity.parse(idn)));
    }

    @ParameterizedTest
    @ValueSource(strings = { "Keysight Technologies,34461A,MY1,A.02.14", "LabHAL,SHARED-SIM,100001,1.0",
            "FLUKE,34401A,0,1", "Rohde&Schwarz,SMW200A,1,2" })
    void leaveOtherInstrumentsAlone(String idn) {
        assertEquals(InstrumentModel.NO_MATCH, dmm.match(Identity.parse(idn)));
        assertEquals(InstrumentModel.NO_MATCH, daq.match(Identity.parse(idn)));
    }

    @Test
    void shareOneLockPerInstrumentAndNeverPoll() {
        for (InstrumentModel model : List.of(dmm, daq)) {
            assertEquals(LockPolicy.SHARED_BUFFER, model.lockPolicy());
            assertTrue(model.quirks().errorChecking());
            assertFalse(model.quirks().opcPolling(), "another session's *ESR? would steal the OPC bit");
            assertTrue(model.quirks().instrumentLock(), "other computers share the buffers too");
            assertEquals(Set.of(Multimeter.class), model.driverTypes());
        }
        assertEquals(Set.of("keysight-34401a", "keysight-34970a"), Set.of(dmm.name(), daq.name()));
    }

    @Test
    void readingsRoundTripOnTheSharedSimulator() throws Exception {
        ScpiInstrument meter = lab.connect("SIM::SHARED::1::INSTR", dmm);
        ScpiMultimeter both = new ScpiMultimeter(meter, Inputs.FRONT_AND_SCANNER);
        assertEquals(0.101, both.measureVoltageDc(101), 1e-12);
        assertEquals(0.999, both.measureVoltageDc(999), 1e-12);
        assertEquals(0.001, both.measureVoltageDc(0), 1e-12, "the front input is the simulator's channel 1");
        assertEquals(List.of(), meter.errors());
    }

    @Test
    void inputsTheMeterLacksFailBeforeAnythingIsSent() throws Exception {
        ScpiInstrument meter = lab.connect("SIM::SHARED::1::INSTR", dmm);
        Multimeter frontOnly = dmm.createDriver(meter);
        Multimeter scanner = daq.createDriver(meter);
        assertEquals(0.001, frontOnly.measureVoltageDc(0), 1e-12);
        assertEquals(0.102, scanner.measureVoltageDc(102), 1e-12);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> frontOnly.measureVoltageDc(101));
        assertTrue(e.getMessage().contains("channel 101 is a scan channel") && e.getMessage().contains("SIM::SHARED"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> scanner.measureVoltageDc(0));
        assertTrue(e.getMessage().contains("front input"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> frontOnly.measureVoltageDc(-1));
        assertEquals(List.of(), meter.errors());
    }

    @Test
    void channelsTheInstrumentRefusesAreItsErrors() throws Exception {
        ScpiInstrument meter = lab.connect("SIM::SHARED::1::INSTR", daq);
        // the simulator answers nothing to a refused query: the read times out, then the queue tells why
        meter.session().setIoTimeout(java.time.Duration.ofMillis(200));
        assertThrows(org.labhal.api.IoTimeoutException.class, () -> daq.createDriver(meter).measureVoltageDc(1000));
        assertEquals(-222, meter.errors().get(0).code());
    }

    @Test
    void sessionsToOneMeterShareOneLockAndEveryReadingIsTheirOwn() throws Exception {
        ScpiInstrument first = lab.connect("SIM::SHARED::2::INSTR", daq);
        ScpiInstrument second = lab.connect("SIM::SHARED::2::INSTR", daq);
        assertSame(first.session().lock(), second.session().lock());
        int threads = 8;
        int readings = 50;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Integer>> wrong = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Multimeter meter = daq.createDriver(t % 2 == 0 ? first : second);
                int channel = 101 + t;
                Callable<Integer> reader = () -> {
                    int mismatches = 0;
                    for (int i = 0; i < readings; i++) {
                        if (Math.abs(meter.measureVoltageDc(channel) - channel / 1000.0) > 1e-12) {
                            mismatches++;
                        }
                    }
                    return mismatches;
                };
                wrong.add(pool.submit(reader));
            }
            int total = 0;
            for (Future<Integer> result : wrong) {
                total += result.get(30, TimeUnit.SECONDS);
            }
            assertEquals(0, total, "readings that belonged to another thread's channel");
            assertEquals(List.of(), first.errors(), "no -410 Query INTERRUPTED: nobody talked over anybody");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void a34401aOnRs232IsPutInRemoteModeFirst() throws Exception {
        List<String> serial = new ArrayList<>();
        dmm.prepare(new ScpiInstrument(recording("ASRL/dev/ttyUSB0::INSTR?baud=9600", serial), ModelQuirks.defaults()));
        assertEquals(List.of("SYST:REM"), serial);
        List<String> gpib = new ArrayList<>();
        dmm.prepare(new ScpiInstrument(recording("TCPIP::gw.lab::gpib0,22::INSTR", gpib), ModelQuirks.defaults()));
        assertEquals(List.of(), gpib, "GPIB puts the meter in remote by itself");
    }

    /** A session at {@code resource} that records what is written and does nothing else. */
    private static Session recording(String resource, List<String> writes) {
        ResourceAddress address = ResourceAddress.parse(resource);
        return (Session) Proxy.newProxyInstance(Session.class.getClassLoader(), new Class<?>[] { Session.class },
                (proxy, method, args) -> switch (method.getName()) {
                    case "address" -> address;
                    case "write" -> {
                        writes.add((String) args[0]);
                        yield null;
                    }
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }
}
