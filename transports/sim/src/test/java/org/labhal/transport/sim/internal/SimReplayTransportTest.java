package org.labhal.transport.sim.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.api.lock.LockPolicy;

/** {@code SIM::REPLAY::<recording>::INSTR} through the SIM transport and a real session. */
class SimReplayTransportTest {

    private static String query(String command, String answer) {
        return "{\"kind\":\"QUERY\",\"command\":\"" + command + "\",\"answer\":\"" + answer + "\",\"outcome\":\"ok\",\"errors\":[]}\n";
    }

    @TempDir
    Path folder;

    private SimTransportFactory transport;
    private DefaultSessionFactory sessions;

    @BeforeEach
    void start() {
        transport = new SimTransportFactory(folder);
        sessions = new DefaultSessionFactory(new DefaultLockService());
        sessions.addTransport(transport);
    }

    @AfterEach
    void stop() {
        sessions.deactivate();
        transport.deactivate();
    }

    private Session open(String resource) throws LabHalException {
        return sessions.open(ResourceAddress.parse(resource), SessionOptions.defaults()
                .withLockPolicy(LockPolicy.INDEPENDENT_SESSIONS).withIoTimeout(Duration.ofMillis(300)));
    }

    @Test
    void aSessionReplaysTheRecordingTheResourceNames() throws Exception {
        Files.writeString(folder.resolve("bench-a.jsonl"), query("FREQ?", "1") + query("FREQ?", "2"), StandardCharsets.UTF_8);
        try (Session session = open("SIM::REPLAY::bench-a::INSTR")) {
            assertEquals("LabHAL,REPLAY-bench-a,0,1.0", session.query("*IDN?"));
            assertEquals("1", session.query("FREQ?"));
            assertEquals("2", session.query("FREQ?"));
            assertEquals("2", session.query("FREQ?"));
            assertThrows(IoTimeoutException.class, () -> session.query("POW?"), "never recorded: no answer");
            assertEquals(-113, session.errors().get(0).code());
        }
    }

    @Test
    void aMissingOrBadRecordingFailsTheOpenNamingTheFile() throws Exception {
        LabHalException missing = assertThrows(LabHalException.class, () -> open("SIM::REPLAY::absent::INSTR"));
        assertTrue(missing.getMessage().contains(folder.resolve("absent.jsonl").toAbsolutePath() + ": no such file"),
                missing::getMessage);
        Files.writeString(folder.resolve("bad.jsonl"), query("A?", "1") + "{\"command\":\"B?\"}\n", StandardCharsets.UTF_8);
        LabHalException bad = assertThrows(LabHalException.class, () -> open("SIM::REPLAY::bad::INSTR"));
        assertTrue(bad.getMessage().contains(folder.resolve("bad.jsonl").toAbsolutePath() + " line 2: the record has no \"kind\""),
                bad::getMessage);
    }

    @Test
    void aChangedRecordingIsReadAgainOnceNoSessionIsOpen() throws Exception {
        Path file = folder.resolve("bench-b.jsonl");
        Files.writeString(file, query("FREQ?", "old"), StandardCharsets.UTF_8);
        try (Session first = open("SIM::REPLAY::bench-b::INSTR")) {
            assertEquals("old", first.query("FREQ?"));
            Files.writeString(file, query("FREQ?", "new!"), StandardCharsets.UTF_8);
            Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(10)));
            try (Session second = open("SIM::REPLAY::bench-b::INSTR")) {
                assertEquals("old", second.query("FREQ?"), "joins the instance still open");
            }
        }
        try (Session later = open("SIM::REPLAY::bench-b::INSTR")) {
            assertEquals("new!", later.query("FREQ?"), "no session was open: the file was read again");
        }
    }
}
