package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A replay served over a loopback socket, as {@code labhal.simulators.socket=REPLAY:bench-a@PORT} does. */
class ReplayServedTest {

    @TempDir
    Path folder;

    @Test
    void aPlainSocketClientGetsTheRecordedAnswers() throws Exception {
        Files.writeString(folder.resolve("bench-a.jsonl"), ReplayTest.BENCH, StandardCharsets.UTF_8);
        try (SimServer server = SimServer.builder("REPLAY:bench-a").recordings(folder).start()) {
            assertEquals("REPLAY:bench-a", server.instrument().model());
            try (LineClient client = new LineClient(server)) {
                client.send("*IDN?\n");
                assertEquals("LabHAL,REPLAY-bench-a,0,1.0", client.readUntil('\n'));
                client.send("FREQ?\nFREQ?\n");
                assertEquals("1000000000", client.readUntil('\n'));
                assertEquals("2000000000", client.readUntil('\n'));
                client.send("FREQ 9e9\nSYST:ERR?\n");
                assertEquals("-222,\"Data out of range\"", client.readUntil('\n'));
            }
            try (LineClient other = new LineClient(server)) {
                other.send("FREQ?\n");
                assertEquals("1000000000", other.readUntil('\n'), "a new connection is a new session");
            }
        }
    }

    @Test
    void theLauncherServesAReplayAndReportsAMissingOne() throws Exception {
        Files.writeString(folder.resolve("bench-a.jsonl"), ReplayTest.BENCH, StandardCharsets.UTF_8);
        List<String> info = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        try (SimulatorLauncher launcher = SimulatorLauncher.launch("labhal.simulators.test", name -> "REPLAY:bench-a@0 "
                + "REPLAY:absent@0", "raw TCP", spec -> {
                    SimServer server = SimServer.builder(spec.model()).port(spec.port()).recordings(folder).start();
                    return new SimulatorLauncher.Started(server, server.resource(),
                            SimulatorLauncher.identify(server.instrument()));
                }, info::add, errors::add)) {
            assertEquals(1, launcher.resources().size(), () -> info + " " + errors);
            assertTrue(info.get(0).startsWith("Serving the simulated REPLAY:bench-a over raw TCP at TCPIP::127.0.0.1::"),
                    info::toString);
            assertEquals(1, errors.size(), errors::toString);
            assertTrue(errors.get(0).contains(folder.resolve("absent.jsonl").toAbsolutePath() + ": no such file"),
                    errors::toString);
        }
    }

    @Test
    void aServerOfAMissingRecordingDoesNotStart() {
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> SimServer.builder("REPLAY:absent").recordings(folder).start());
        assertTrue(e.getCause() instanceof RecordingException, e::toString);
    }

    @Test
    void specsNameRecordingsAsWritten() {
        assertEquals(List.of(new SimulatorLauncher.Spec("REPLAY:Bench-A", 5026), new SimulatorLauncher.Spec("SHARED", 0)),
                SimulatorLauncher.parse("p", "replay:Bench-A@5026 shared@0"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SimulatorLauncher.parse("p", "REPLAY:../etc@5026"));
        assertTrue(e.getMessage().contains("does not name a recording"), e::getMessage);
    }
}
