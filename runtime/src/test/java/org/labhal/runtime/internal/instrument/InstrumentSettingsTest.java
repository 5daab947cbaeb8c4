package org.labhal.runtime.internal.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.labhal.api.lock.LockPolicy;

class InstrumentSettingsTest {

    private static Map<String, Object> config(Object... keysAndValues) {
        Map<String, Object> map = new HashMap<>();
        map.put("service.pid", "org.labhal.instrument~bench-1");
        map.put("service.factoryPid", "org.labhal.instrument");
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }

    @Test
    void aResourceAloneIsEnoughAndTheIdIsTheConfigurationsName() {
        InstrumentSettings settings = InstrumentSettings.from(config("resource", "sim::smw200a::2::instr"));
        assertEquals("bench-1", settings.id());
        assertEquals("SIM::SMW200A::2::INSTR", settings.address().canonical());
        assertEquals(Optional.empty(), settings.model());
        assertEquals(Optional.empty(), settings.lockPolicy());
        assertEquals(Optional.empty(), settings.ioTimeout(), "the model's I/O timeout applies");
        assertEquals(InstrumentSettings.DEFAULT_LOCK_TIMEOUT, settings.lockTimeout());
        assertEquals(InstrumentSettings.DEFAULT_DRIVER_WAIT, settings.driverWait());
        assertEquals(Optional.empty(), settings.instrumentLock(), "the model decides");
        assertEquals("configuration", settings.origin());
    }

    @Test
    void valuesMayBeTypedOrText() {
        InstrumentSettings typed = InstrumentSettings.from(config("id", "gen", "resource", "SIM::SMW200A::INSTR",
                "lockPolicy", "single_connection", "ioTimeout", 1500L, "lockTimeout", 0, "errorChecking", Boolean.TRUE,
                "driverWait", "250", "model", " rs-smw200a "));
        assertEquals("gen", typed.id());
        assertEquals(Optional.of(LockPolicy.SINGLE_CONNECTION), typed.lockPolicy());
        assertEquals(Optional.of(Duration.ofMillis(1500)), typed.ioTimeout());
        assertEquals(Duration.ZERO, typed.lockTimeout(), "zero: try the lock once");
        assertEquals(Optional.of(true), typed.errorChecking());
        assertEquals(Duration.ofMillis(250), typed.driverWait());
        assertEquals(Optional.of("rs-smw200a"), typed.model());

        InstrumentSettings text = InstrumentSettings.from(config("resource", "SIM::SHARED::INSTR", "errorChecking",
                "FALSE", "ioTimeout", " 20 "));
        assertEquals(Optional.of(false), text.errorChecking());
        assertEquals(Optional.of(Duration.ofMillis(20)), text.ioTimeout());
    }

    @Test
    void theInstrumentLockIsTrueFalseOrAuto() {
        assertEquals(Optional.of(true), InstrumentSettings.from(config("resource", "TCPIP::10.0.0.5::INSTR",
                "instrumentLock", Boolean.TRUE)).instrumentLock());
        assertEquals(Optional.of(false), InstrumentSettings.from(config("resource", "TCPIP::10.0.0.5::INSTR",
                "instrumentLock", "False")).instrumentLock());
        assertEquals(Optional.empty(), InstrumentSettings.from(config("resource", "TCPIP::10.0.0.5::INSTR",
                "instrumentLock", " AUTO ")).instrumentLock());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> InstrumentSettings.from(
                config("resource", "TCPIP::10.0.0.5::INSTR", "instrumentLock", "exclusive")));
        assertTrue(e.getMessage().contains("instrumentLock=exclusive is not true, false or auto"), e.getMessage());
    }

    @Test
    void everyBadValueIsNamedInOneMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> InstrumentSettings.from(
                config("id", "no spaces", "resource", "TCPIP::10.0.0.5::99999::SOCKET", "lockPolicy", "LOOSE",
                        "ioTimeout", "2s", "lockTimeout", -1, "errorChecking", "yes", "driverWait", 0, "timeout", 5)));
        String message = e.getMessage();
        assertTrue(message.startsWith("Instrument configuration org.labhal.instrument~bench-1 (no spaces) is invalid: "),
                message);
        for (String expected : new String[] { "id=no spaces is not a valid id",
                "resource=TCPIP::10.0.0.5::99999::SOCKET is not a valid resource string",
                "lockPolicy=LOOSE is not one of INDEPENDENT_SESSIONS, SHARED_BUFFER, SINGLE_CONNECTION",
                "ioTimeout=2s is not a whole number of milliseconds", "lockTimeout=-1 is out of range",
                "errorChecking=yes is not true or false", "driverWait=0 is out of range",
                "unknown property 'timeout'" }) {
            assertTrue(message.contains(expected), expected + " in " + message);
        }
        assertFalse(message.contains("\n"), "one line: " + message);
    }

    @Test
    void aMissingResourceAndAnUnnamedConfigurationWithoutIdAreErrors() {
        Map<String, Object> unnamed = new HashMap<>();
        unnamed.put("service.pid", "org.labhal.instrument.1234-5678");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> InstrumentSettings.from(unnamed));
        assertTrue(e.getMessage().contains("id is missing"), e.getMessage());
        assertTrue(e.getMessage().contains("resource is missing"), e.getMessage());
    }

    @Test
    void theOriginSaysWhichFileOrWhoMadeIt() {
        InstrumentSettings file = InstrumentSettings.from(config("resource", "SIM::SMW200A::INSTR",
                "felix.fileinstall.filename", "file:/srv/labhal/deploy/org.labhal.instrument-bench-1.cfg"));
        assertEquals("file /srv/labhal/deploy/org.labhal.instrument-bench-1.cfg", file.origin());
        assertTrue(file.fromFile());

        InstrumentSettings shell = InstrumentSettings.from(config("resource", "SIM::SMW200A::INSTR", "labhal.origin",
                "shell"));
        assertEquals("shell", shell.origin());
        assertFalse(shell.fromFile());
    }

    @Test
    void shellPropertiesMakeAValidConfiguration() {
        Map<String, Object> properties = new HashMap<>(InstrumentSettings.shellProperties("dmm", "SIM::SHARED::INSTR"));
        properties.put("service.pid", "org.labhal.instrument~dmm");
        assertEquals("shell", InstrumentSettings.from(properties).origin());
    }

    @Test
    void maxAnswerSizeIsABoundedNumberOfBytes() {
        assertEquals(1_048_576L, InstrumentSettings.from(config("resource", "SIM::SMW200A::INSTR", "maxAnswerSize",
                "1048576")).applyTo(org.labhal.api.SessionOptions.defaults()).maxAnswerSize());
        assertEquals(4096L, InstrumentSettings.from(config("resource", "SIM::SMW200A::INSTR", "maxAnswerSize", 4096L))
                .applyTo(org.labhal.api.SessionOptions.defaults()).maxAnswerSize());
        assertEquals(org.labhal.api.SessionOptions.defaults().maxAnswerSize(),
                InstrumentSettings.from(config("resource", "SIM::SMW200A::INSTR"))
                        .applyTo(org.labhal.api.SessionOptions.defaults()).maxAnswerSize(), "the session's default");

        IllegalArgumentException words = assertThrows(IllegalArgumentException.class, () -> InstrumentSettings
                .from(config("resource", "SIM::SMW200A::INSTR", "maxAnswerSize", "16MiB")));
        assertTrue(words.getMessage().contains("maxAnswerSize=16MiB is not a whole number of bytes"),
                words.getMessage());
        IllegalArgumentException zero = assertThrows(IllegalArgumentException.class, () -> InstrumentSettings
                .from(config("resource", "SIM::SMW200A::INSTR", "maxAnswerSize", "0")));
        assertTrue(zero.getMessage().contains("maxAnswerSize=0 is out of range: expected 1 to "
                + org.labhal.api.SessionOptions.MAX_ANSWER_LIMIT + " bytes"), zero.getMessage());
    }

    @Test
    void aConfiguredLockDomainReplacesTheResourcesForEverySession() {
        InstrumentSettings own = InstrumentSettings.from(config("resource", "TCPIP::ds.lab::4001::SOCKET"));
        InstrumentSettings configured = InstrumentSettings.from(config("resource", "TCPIP::ds.lab::4001::SOCKET",
                "lockDomain", "TCPIP::ds.lab::4001"));

        assertEquals("TCPIP::ds.lab", own.effectiveLockDomain(), "the safe default: the host");
        assertEquals(java.util.Optional.empty(), own.applyTo(org.labhal.api.SessionOptions.defaults()).lockDomain());
        assertEquals("TCPIP::ds.lab::4001", configured.effectiveLockDomain());
        assertEquals(java.util.Optional.of("TCPIP::ds.lab::4001"),
                configured.applyTo(org.labhal.api.SessionOptions.defaults()).lockDomain());

        IllegalArgumentException spaced = assertThrows(IllegalArgumentException.class, () -> InstrumentSettings
                .from(config("resource", "TCPIP::ds.lab::4001::SOCKET", "lockDomain", "bench psu")));
        assertTrue(spaced.getMessage().contains("lockDomain=bench psu is not a valid lock domain"),
                spaced.getMessage());
    }
}
