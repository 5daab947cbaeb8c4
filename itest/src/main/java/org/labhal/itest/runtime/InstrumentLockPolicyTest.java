package org.labhal.itest.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.itest.runtime.RuntimeTesting.awaitService;
import static org.labhal.itest.runtime.RuntimeTesting.awaitShell;
import static org.labhal.itest.runtime.RuntimeTesting.configure;
import static org.labhal.itest.runtime.RuntimeTesting.properties;
import static org.labhal.itest.runtime.RuntimeTesting.row;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.felix.service.command.CommandProcessor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.labhal.api.LabHalException;
import org.labhal.api.Session;
import org.labhal.api.instrument.Instrument;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.InstrumentLocking;
import org.labhal.transport.sim.SimServer;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * The model's lock policy extended to the instrument: a model that asks for the instrument-side lock
 * gets it on every step where the transport has one (VXI-11, HiSLIP), a configuration can switch it on
 * or off, and a client outside this framework holding the instrument's lock ends a step in the
 * transport's specific exception within the lock timeout.
 */
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
class InstrumentLockPolicyTest {
    private static final Duration WAIT = Duration.ofSeconds(5);

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    ConfigurationAdmin cm;

    @InjectService(timeout = 10_000)
    CommandProcessor gogo;

    private final List<AutoCloseable> servers = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        RuntimeTesting.deleteAll(cm, context);
        for (AutoCloseable server : servers) {
            server.close();
        }
    }

    @ParameterizedTest
    @EnumSource(LanSimulator.class)
    void aSharedBufferModelHoldsTheInstrumentLockOnEveryStep(LanSimulator lan) throws Exception {
        String resource = serve(lan, "SHARED");
        configure(cm, "lan", properties("resource", resource, "lockTimeout", "400"));
        Session session = awaitService(context, Instrument.class, "(" + Instrument.ID + "=lan)").session();
        assertTrue(session.instrumentLock(), "the model asks for it and " + lan + " has it");
        String info = RuntimeTesting.shell(gogo, "instr:info lan");
        assertTrue(row(info, "instrument lock").contains("every step (model 'labhal-shared-sim')"), info);
        assertEquals("mine", session.query("SIM:ECHO? mine"));

        try (Connection other = lan.otherClient(context, resource)) {
            InstrumentLocking elsewhere = (InstrumentLocking) other;
            elsewhere.lockInstrument(WAIT, null);
            LabHalException refused = assertThrows(LabHalException.class, () -> session.query("SIM:ECHO? blocked"));
            assertInstanceOf(lan.lockHeldElsewhere(), refused, String.valueOf(refused));
            assertTrue(session.lock().info().holder().isEmpty(), "the session lock was given back");
            elsewhere.unlockInstrument(WAIT);
            assertEquals("after", session.query("SIM:ECHO? after"), "the step runs once the other client let go");
        }
    }

    @Test
    void aModelWithSeparateSessionsDoesNotLockTheInstrument() throws Exception {
        configure(cm, "gen", properties("resource", serve(LanSimulator.HISLIP, "SMW200A")));
        Session session = awaitService(context, Instrument.class, "(" + Instrument.ID + "=gen)").session();
        assertFalse(session.instrumentLock());
        assertTrue(session.instrumentLockSupported());
        String info = RuntimeTesting.shell(gogo, "instr:info gen");
        assertTrue(row(info, "instrument lock").contains("off (model 'labhal-smw200a-sim' does not ask for it)"), info);
    }

    @Test
    void theConfigurationCanSwitchItOff() throws Exception {
        configure(cm, "lan", properties("resource", serve(LanSimulator.VXI11, "SHARED"), "instrumentLock", "false"));
        Session session = awaitService(context, Instrument.class, "(" + Instrument.ID + "=lan)").session();
        assertFalse(session.instrumentLock());
        String info = RuntimeTesting.shell(gogo, "instr:info lan");
        assertTrue(row(info, "instrument lock").contains("off (configured (instrumentLock=false))"), info);
    }

    @Test
    void overATransportWithoutOneTheModelsWishIsNotedAndStepsGoOn() throws Exception {
        configure(cm, "dmm", properties("resource", RuntimeTesting.shared()));
        Session session = awaitService(context, Instrument.class, "(" + Instrument.ID + "=dmm)").session();
        assertFalse(session.instrumentLock());
        assertFalse(session.instrumentLockSupported());
        String info = RuntimeTesting.shell(gogo, "instr:info dmm");
        assertTrue(row(info, "instrument lock").contains("off (model 'labhal-shared-sim' asks for it, but the SIM "
                + "transport has no instrument-side lock)"), info);
    }

    @Test
    void requiredOverATransportWithoutOneTheInstrumentStaysOfflineAndSaysWhy() throws Exception {
        SimServer socket = SimServer.builder("SHARED").start();
        servers.add(socket);
        configure(cm, "sock", properties("resource", socket.resource(), "instrumentLock", "true"));
        String list = awaitShell(gogo, "instr:list", out -> out.contains("OFFLINE"), "sock is OFFLINE");
        assertTrue(row(list, "sock").contains("has no instrument-side lock"), list);
        assertTrue(socket.awaitOpenConnections(0, WAIT), "the connection opened for it was closed");
    }

    /**
     * While another client holds the instrument's lock, connecting waits for it (the {@code *IDN?} probe
     * takes it too). A shell command typed meanwhile waits for the connect to end instead of failing
     * with "lan is CONNECTING", and is carried out once the other client lets go.
     */
    @Test
    void aCommandTypedWhileTheInstrumentConnectsWaitsForTheConnect() throws Exception {
        String resource = serve(LanSimulator.HISLIP, "SHARED");
        try (Connection other = LanSimulator.HISLIP.otherClient(context, resource)) {
            InstrumentLocking elsewhere = (InstrumentLocking) other;
            elsewhere.lockInstrument(WAIT, null);
            configure(cm, "lan", properties("resource", resource, "lockTimeout", "10000"));
            awaitShell(gogo, "instr:list", out -> row(out, "lan").contains("CONNECTING"), "lan is connecting");
            CompletableFuture<String> typed = CompletableFuture.supplyAsync(() -> {
                try {
                    return RuntimeTesting.shell(gogo, "instr:query lan 'SIM:ECHO? typed'");
                } catch (Exception e) {
                    throw new CompletionException(e);
                }
            });
            assertThrows(TimeoutException.class, () -> typed.get(500, TimeUnit.MILLISECONDS),
                    "the command waits while the connect waits for the lock");
            elsewhere.unlockInstrument(WAIT);
            assertEquals("typed", typed.get(20, TimeUnit.SECONDS).strip());
        }
    }

    private String serve(LanSimulator lan, String model) throws Exception {
        LanSimulator.Served served = lan.serve(model);
        servers.add(served);
        return served.resource();
    }
}
