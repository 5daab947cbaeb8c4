package org.labhal.itest.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.itest.runtime.RuntimeTesting.awaitLog;
import static org.labhal.itest.runtime.RuntimeTesting.awaitService;
import static org.labhal.itest.runtime.RuntimeTesting.awaitShell;
import static org.labhal.itest.runtime.RuntimeTesting.configure;
import static org.labhal.itest.runtime.RuntimeTesting.properties;

import java.util.Hashtable;
import java.util.Set;

import org.apache.felix.service.command.CommandProcessor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.labhal.api.instrument.Identity;
import org.labhal.api.instrument.Instrument;
import org.labhal.api.instrument.InstrumentModel;
import org.labhal.api.instrument.Multimeter;
import org.labhal.api.instrument.ScpiInstrument;
import org.labhal.api.instrument.SignalGenerator;
import org.labhal.api.lock.LockPolicy;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.log.LogLevel;
import org.osgi.service.log.LogReaderService;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * Model matching by {@code *IDN?} and the lock policy it brings: both simulators with their real models
 * (from the org.labhal.driver.sim bundle), the unknown-model default, a better match, and the
 * configuration's model and lockPolicy overrides.
 */
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
class ModelBindingTest {
    private static final String SIM_DRIVERS = "org.labhal.driver.sim";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    ConfigurationAdmin cm;

    @InjectService(timeout = 10_000)
    CommandProcessor gogo;

    @InjectService(timeout = 10_000)
    LogReaderService log;

    @AfterEach
    void deleteConfigurations() throws Exception {
        RuntimeTesting.deleteAll(cm, context);
        Bundle drivers = simDrivers();
        if (drivers.getState() != Bundle.ACTIVE) {
            drivers.start();
        }
    }

    @Test
    void theSmwSimulatorGetsItsModelIndependentSessionsAndAGeneratorDriver() throws Exception {
        configure(cm, "smw-a", properties("resource", RuntimeTesting.smw()));
        configure(cm, "smw-b", properties("resource", RuntimeTesting.smw()));
        Instrument a = awaitService(context, Instrument.class, "(" + Instrument.ID + "=smw-a)");
        Instrument b = awaitService(context, Instrument.class, "(" + Instrument.ID + "=smw-b)");

        assertEquals("labhal-smw200a-sim", a.model());
        assertEquals(LockPolicy.INDEPENDENT_SESSIONS, a.lockPolicy());
        SignalGenerator generator = awaitService(context, SignalGenerator.class, "(" + Instrument.ID + "=smw-a)");
        generator.setFrequency(2.5e9);
        assertEquals(2.5e9, generator.frequency());
        assertSame(a.scpi(), a.scpi(), "one SCPI access per connection");
        assertNotSame(a.session().lock(), b.session().lock(), "independent sessions keep their own locks");
    }

    @Test
    void theSharedSimulatorGetsSharedBufferAndTwoConfigurationsShareItsLock() throws Exception {
        String meter = RuntimeTesting.shared();
        configure(cm, "meter-a", properties("resource", meter));
        configure(cm, "meter-b", properties("resource", meter));
        Instrument a = awaitService(context, Instrument.class, "(" + Instrument.ID + "=meter-a)");
        Instrument b = awaitService(context, Instrument.class, "(" + Instrument.ID + "=meter-b)");

        assertEquals("labhal-shared-sim", a.model());
        assertEquals(LockPolicy.SHARED_BUFFER, a.lockPolicy());
        assertSame(a.session().lock(), b.session().lock(), "one lock domain for the one physical meter");
        Multimeter dmm = awaitService(context, Multimeter.class, "(" + Instrument.ID + "=meter-b)");
        assertEquals(0.101, dmm.measureVoltageDc(101), 1e-9, "channel 101 reads 101 mV");
    }

    @Test
    void theConfiguredLockPolicyOverridesTheModels() throws Exception {
        String smw = RuntimeTesting.smw();
        configure(cm, "smw-shared-a", properties("resource", smw, "lockPolicy", "shared_buffer"));
        configure(cm, "smw-shared-b", properties("resource", smw, "lockPolicy", "SHARED_BUFFER"));
        Instrument a = awaitService(context, Instrument.class, "(" + Instrument.ID + "=smw-shared-a)");
        Instrument b = awaitService(context, Instrument.class, "(" + Instrument.ID + "=smw-shared-b)");

        assertEquals("labhal-smw200a-sim", a.model(), "the model still matches");
        assertEquals(LockPolicy.SHARED_BUFFER, a.lockPolicy());
        assertSame(a.session().lock(), b.session().lock(), "shared policy: one lock for the instrument");
        assertTrue(RuntimeTesting.shell(gogo, "instr:info smw-shared-a").contains("configured (lockPolicy=SHARED_BUFFER)"));
    }

    @Test
    void theConfiguredModelIsUsedOnceItIsInstalled() throws Exception {
        configure(cm, "later", properties("resource", RuntimeTesting.smw(), "model", "labhal-later-test"));
        awaitShell(gogo, "instr:list", out -> out.lines()
                .anyMatch(l -> l.startsWith("later") && l.contains("WAITING") && l.contains("labhal-later-test")),
                "the instrument waits for its model");

        ServiceRegistration<InstrumentModel> model = register(new TestModel("labhal-later-test", 0,
                LockPolicy.SINGLE_CONNECTION));
        try {
            Instrument later = awaitService(context, Instrument.class, "(&(" + Instrument.ID + "=later)("
                    + Instrument.MODEL + "=labhal-later-test))");
            assertEquals(LockPolicy.SINGLE_CONNECTION, later.lockPolicy(), "the named model's policy, not a match");
        } finally {
            model.unregister();
        }
    }

    @Test
    void aBetterMatchWinsAndTheInstrumentFollowsWhenItGoes() throws Exception {
        ServiceRegistration<InstrumentModel> better = register(new TestModel("labhal-better-test", 50,
                LockPolicy.SHARED_BUFFER));
        try {
            configure(cm, "contested", properties("resource", RuntimeTesting.smw()));
            Instrument contested = awaitService(context, Instrument.class, "(&(" + Instrument.ID + "=contested)("
                    + Instrument.MODEL + "=labhal-better-test))");
            assertEquals(LockPolicy.SHARED_BUFFER, contested.lockPolicy());
        } finally {
            better.unregister();
        }
        Instrument back = awaitService(context, Instrument.class, "(&(" + Instrument.ID + "=contested)("
                + Instrument.MODEL + "=labhal-smw200a-sim))");
        assertEquals(LockPolicy.INDEPENDENT_SESSIONS, back.lockPolicy(), "reconnected with the model's policy");
    }

    @Test
    void anUnknownModelGetsSharedBufferAndTheLogSaysSoUntilItsDriverArrives() throws Exception {
        Bundle drivers = simDrivers();
        drivers.stop();
        configure(cm, "stranger", properties("resource", RuntimeTesting.smw()));
        Instrument stranger = awaitService(context, Instrument.class, "(&(" + Instrument.ID + "=stranger)("
                + Instrument.MODEL + "=unknown))");
        assertEquals(LockPolicy.SHARED_BUFFER, stranger.lockPolicy(), "the safe default");
        String line = awaitLog(log, e -> e.getLogLevel() == LogLevel.WARN && e.getMessage().startsWith("stranger:")
                && e.getMessage().contains("no installed model matches"), "the log names the default").getMessage();
        assertTrue(line.contains("SHARED_BUFFER"), line);

        drivers.start(); // the driver bundle arrives: the instrument is identified again
        Instrument known = awaitService(context, Instrument.class, "(&(" + Instrument.ID + "=stranger)("
                + Instrument.MODEL + "=labhal-smw200a-sim))");
        assertEquals(LockPolicy.INDEPENDENT_SESSIONS, known.lockPolicy());
    }

    private Bundle simDrivers() {
        for (Bundle bundle : context.getBundles()) {
            if (SIM_DRIVERS.equals(bundle.getSymbolicName())) {
                return bundle;
            }
        }
        throw new AssertionError(SIM_DRIVERS + " is not installed");
    }

    private ServiceRegistration<InstrumentModel> register(TestModel model) {
        Hashtable<String, Object> properties = new Hashtable<>();
        properties.put(InstrumentModel.NAME_PROPERTY, model.name());
        return context.registerService(InstrumentModel.class, model, properties);
    }

    /** A model registered by the test itself: matches the SMW simulator with the given score. */
    private static final class TestModel implements InstrumentModel {
        private final String name;
        private final int score;
        private final LockPolicy policy;

        TestModel(String name, int score, LockPolicy policy) {
            this.name = name;
            this.score = score;
            this.policy = policy;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public String description() {
            return "test model";
        }

        @Override
        public int match(Identity identity) {
            return identity.modelIs("SMW200A-SIM") ? score : NO_MATCH;
        }

        @Override
        public LockPolicy lockPolicy() {
            return policy;
        }

        @Override
        public Set<Class<?>> driverTypes() {
            return Set.of();
        }

        @Override
        public Object createDriver(ScpiInstrument instrument) {
            return new Object();
        }
    }
}
