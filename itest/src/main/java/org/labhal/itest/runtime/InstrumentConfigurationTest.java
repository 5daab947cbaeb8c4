package org.labhal.itest.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.itest.runtime.RuntimeTesting.await;
import static org.labhal.itest.runtime.RuntimeTesting.awaitLog;
import static org.labhal.itest.runtime.RuntimeTesting.awaitService;
import static org.labhal.itest.runtime.RuntimeTesting.awaitShell;
import static org.labhal.itest.runtime.RuntimeTesting.configure;
import static org.labhal.itest.runtime.RuntimeTesting.properties;
import static org.labhal.itest.runtime.RuntimeTesting.references;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.felix.service.command.CommandProcessor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.labhal.api.Session;
import org.labhal.api.instrument.Instrument;
import org.labhal.api.lock.LockPolicy;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceListener;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.log.LogLevel;
import org.osgi.service.log.LogReaderService;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/** Instruments as ConfigAdmin factory configurations: create, update, delete, and bad values. */
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
class InstrumentConfigurationTest {

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
    }

    @Test
    void aNewConfigurationConnectsAndRegistersTheInstrument() throws Exception {
        String resource = RuntimeTesting.smw();
        configure(cm, "cfg-new", properties("resource", resource));

        Instrument instrument = awaitService(context, Instrument.class, "(" + Instrument.ID + "=cfg-new)");
        assertEquals("cfg-new", instrument.id(), "the id defaults to the configuration's name");
        assertEquals(resource, instrument.address().canonical());
        assertEquals("SMW200A-SIM", instrument.identity().model());
        assertTrue(instrument.session().query("*IDN?").contains("SMW200A-SIM"), "its session works");

        ServiceReference<Instrument> reference = references(context, "(" + Instrument.ID + "=cfg-new)").get(0);
        assertEquals(resource, reference.getProperty(Instrument.RESOURCE));
        assertEquals("labhal-smw200a-sim", reference.getProperty(Instrument.MODEL));
        assertEquals("INDEPENDENT_SESSIONS", reference.getProperty(Instrument.LOCK_POLICY));
    }

    @Test
    void anUpdatedConfigurationReconnectsWithTheNewSettings() throws Exception {
        configure(cm, "cfg-update", properties("resource", RuntimeTesting.smw()));
        Instrument before = awaitService(context, Instrument.class, "(" + Instrument.ID + "=cfg-update)");
        Session oldSession = before.session();

        String meter = RuntimeTesting.shared();
        configure(cm, "cfg-update", properties("resource", meter, "ioTimeout", "1234", "lockTimeout", 250L));
        Instrument after = awaitService(context, Instrument.class,
                "(&(" + Instrument.ID + "=cfg-update)(" + Instrument.RESOURCE + "=" + escape(meter) + "))");

        assertEquals("labhal-shared-sim", after.model());
        assertEquals(LockPolicy.SHARED_BUFFER, after.lockPolicy());
        assertEquals(Duration.ofMillis(1234), after.session().ioTimeout(), "the configured I/O timeout wins");
        assertEquals(Duration.ofMillis(250), after.session().lockTimeout());
        assertEquals(1, references(context, "(" + Instrument.ID + "=cfg-update)").size(), "one service per id");
        await(() -> !oldSession.isOpen(), "the old session is closed");
    }

    @Test
    void changingOneConfigurationLeavesEveryOtherInstrumentItsServiceAndSession() throws Exception {
        int count = 8;
        Map<String, Session> sessions = new HashMap<>();
        Map<String, Object> serviceIds = new HashMap<>();
        for (int i = 0; i < count; i++) {
            configure(cm, "cfg-many-" + i, properties("resource", i % 2 == 0 ? RuntimeTesting.smw()
                    : RuntimeTesting.shared()));
        }
        for (int i = 0; i < count; i++) {
            String id = "cfg-many-" + i;
            sessions.put(id, awaitService(context, Instrument.class, "(" + Instrument.ID + "=" + id + ")").session());
            serviceIds.put(id, references(context, "(" + Instrument.ID + "=" + id + ")").get(0)
                    .getProperty(Constants.SERVICE_ID));
        }
        List<String> events = new CopyOnWriteArrayList<>();
        ServiceListener listener = event -> events.add(event.getType() + " "
                + event.getServiceReference().getProperty(Instrument.ID));
        context.addServiceListener(listener, "(objectClass=" + Instrument.class.getName() + ")");
        try {
            String changed = "cfg-many-3";
            configure(cm, changed, properties("resource", sessions.get(changed).address().canonical(),
                    "lockTimeout", 2345L));
            Instrument after = awaitService(context, Instrument.class, "(&(" + Instrument.ID + "=" + changed + ")(!("
                    + Constants.SERVICE_ID + "=" + serviceIds.get(changed) + ")))");
            assertEquals(Duration.ofMillis(2345), after.session().lockTimeout(), "the changed one has its new setting");
            await(() -> !sessions.get(changed).isOpen(), "the changed one's old session is closed");
            for (int i = 0; i < count; i++) {
                String id = "cfg-many-" + i;
                if (id.equals(changed)) {
                    continue;
                }
                List<ServiceReference<Instrument>> now = references(context, "(" + Instrument.ID + "=" + id + ")");
                assertEquals(1, now.size(), id);
                assertEquals(serviceIds.get(id), now.get(0).getProperty(Constants.SERVICE_ID),
                        id + " kept its service registration");
                Instrument instrument = context.getService(now.get(0));
                try {
                    assertSame(sessions.get(id), instrument.session(), id + " kept its session");
                    assertTrue(instrument.session().isOpen(), id + "'s session is open");
                    assertTrue(instrument.session().query("*IDN?").contains("-SIM"), id + " still answers");
                } finally {
                    context.ungetService(now.get(0));
                }
            }
            assertTrue(events.stream().allMatch(e -> e.endsWith(" " + changed)),
                    "service events for the changed instrument only: " + events);
        } finally {
            context.removeServiceListener(listener);
        }
    }

    @Test
    void aDeletedConfigurationDisconnects() throws Exception {
        Configuration configuration = configure(cm, "cfg-delete", properties("resource", RuntimeTesting.shared()));
        Instrument instrument = awaitService(context, Instrument.class, "(" + Instrument.ID + "=cfg-delete)");
        Session session = instrument.session();

        configuration.delete();

        await(() -> references(context, "(" + Instrument.ID + "=cfg-delete)").isEmpty(), "the service is gone");
        await(() -> !session.isOpen(), "its session is closed");
    }

    @Test
    void badValuesFailThatInstrumentOnlyWithAClearMessageInTheLogAndTheShell() throws Exception {
        configure(cm, "cfg-good", properties("resource", RuntimeTesting.smw()));
        configure(cm, "cfg-bad", properties("resource", "SIM::", "ioTimeout", "fast", "lockPolicy", "NONE",
                "ioTimout", "5"));

        awaitService(context, Instrument.class, "(" + Instrument.ID + "=cfg-good)");
        String logged = awaitLog(log, e -> e.getLogLevel() == LogLevel.ERROR
                && e.getMessage().contains("org.labhal.instrument~cfg-bad"), "the bad configuration is logged")
                .getMessage();
        assertTrue(logged.contains("ioTimeout=fast is not a whole number of milliseconds"), logged);
        assertTrue(logged.contains("lockPolicy=NONE is not one of"), logged);
        assertTrue(logged.contains("unknown property 'ioTimout'"), logged);
        assertTrue(logged.contains("resource=SIM:: is not a valid resource string"), logged);

        String list = awaitShell(gogo, "instr:list", out -> out.contains("cfg-bad"), "the list shows cfg-bad");
        String row = list.lines().filter(l -> l.startsWith("cfg-bad")).findFirst().orElseThrow();
        assertTrue(row.contains("FAILED") && row.contains("ioTimeout=fast is not a whole number"), row);
        assertTrue(list.lines().anyMatch(l -> l.startsWith("cfg-good") && l.contains("ONLINE")), list);
        assertTrue(references(context, "(" + Instrument.ID + "=cfg-bad)").isEmpty(), "nothing registered");
    }

    @Test
    void aSecondConfigurationWithATakenIdIsRefused() throws Exception {
        configure(cm, "cfg-twin-1", properties("id", "twin", "resource", RuntimeTesting.smw()));
        awaitService(context, Instrument.class, "(" + Instrument.ID + "=twin)");
        configure(cm, "cfg-twin-2", properties("id", "twin", "resource", RuntimeTesting.shared()));

        String list = awaitShell(gogo, "instr:list", out -> out.contains("already used by"),
                "the list shows the refused twin");
        assertTrue(list.contains("FAILED"), list);
        assertEquals(1, references(context, "(" + Instrument.ID + "=twin)").size());
        assertFalse(references(context, "(" + Instrument.ID + "=twin)").get(0).getProperty(Instrument.MODEL)
                .toString().contains("shared"), "the first one keeps the id");
    }

    /** LDAP filters treat {@code * ( ) \} specially; resource strings have none but {@code ?} options may. */
    static String escape(String value) {
        return value.replace("\\", "\\\\").replace("*", "\\*").replace("(", "\\(").replace(")", "\\)");
    }
}
