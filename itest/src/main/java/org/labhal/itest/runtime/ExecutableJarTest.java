package org.labhal.itest.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.itest.runtime.ChildRuntime.awaitLine;
import static org.labhal.itest.runtime.RuntimeTesting.row;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.labhal.api.Session;
import org.labhal.api.SessionFactory;
import org.labhal.itest.runtime.ChildRuntime.Run;
import org.osgi.framework.BundleContext;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * The built executable jar ({@code runtime/target/labhal.jar}) run as a child process in a fresh
 * working directory, as a user runs it: command-line mode, the watched folder, state kept across
 * restarts, and the console-less daemon.
 */
class ExecutableJarTest {

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    SessionFactory sessions;

    private ChildRuntime child;
    private Path work;

    @BeforeEach
    void makeWorkingDirectory() throws Exception {
        child = new ChildRuntime(context);
        work = child.work();
    }

    @AfterEach
    void cleanUp() throws Exception {
        child.close();
    }

    @Test
    void commandLineModePrintsTheResultAndExitsZero() throws Exception {
        Run run = child.run("instr:query sim-smw '*IDN?'");
        assertEquals(0, run.exit(), run.err());
        assertEquals("LabHAL,SMW200A-SIM,100001,1.0", run.out().strip());
    }

    @Test
    void separateArgumentsAreOneCommandLineWithSpecialCharactersQuoted() throws Exception {
        Run run = child.run("instr:query", "sim-shared", "*IDN?");
        assertEquals(0, run.exit(), run.err());
        assertEquals("LabHAL,SHARED-SIM,100001,1.0", run.out().strip());
    }

    @Test
    void aFailingCommandExitsNonZeroWithItsMessage() throws Exception {
        Run run = child.run("instr:query nope '*IDN?'");
        assertEquals(1, run.exit(), run.out());
        assertTrue(run.err().contains("no instrument 'nope'; configured: sim-shared, sim-smw"), run.err());
        assertFalse(run.err().contains("\tat "), "no stack trace: " + run.err());
        assertEquals("", run.out().strip());
    }

    @Test
    void shellMadeConfigurationAndDeletedDefaultsSurviveARestart() throws Exception {
        Run connect = child.run("instr:connect bench 'SIM::SMW200A::3::INSTR'");
        assertEquals(0, connect.exit(), connect.err());
        Run disconnect = child.run("instr:disconnect sim-shared");
        assertEquals(0, disconnect.exit(), disconnect.err());

        Run list = child.run("instr:list");
        assertEquals(0, list.exit(), list.err());
        assertTrue(list.out().lines().anyMatch(l -> l.startsWith("bench ") && l.contains("ONLINE")
                && l.contains("shell")), list.out());
        assertTrue(list.out().lines().anyMatch(l -> l.startsWith("sim-smw ")), list.out());
        assertFalse(list.out().contains("sim-shared"), "a disconnected default stays gone:\n" + list.out());
        assertTrue(Files.isDirectory(work.resolve("labhal-state")), "the documented storage directory");
    }

    @Test
    void configurationFilesInTheWatchedFolderArePickedUpAndBadOnesFailAlone() throws Exception {
        Path deploy = Files.createDirectories(work.resolve("deploy"));
        Files.writeString(deploy.resolve("org.labhal.instrument-dropped.cfg"),
                "resource=SIM::SHARED::4::INSTR\nlockTimeout=2000\n");
        Files.writeString(deploy.resolve("org.labhal.instrument-broken.cfg"),
                "resource=SIM::SMW200A::4::INSTR\nioTimeout=soon\n");

        Run run = child.run("instr:list");
        assertEquals(0, run.exit(), run.err());
        String dropped = row(run.out(), "dropped");
        assertTrue(dropped.contains("ONLINE") && dropped.contains("SHARED_BUFFER") && dropped.contains("file "),
                run.out());
        String broken = row(run.out(), "broken");
        assertTrue(broken.contains("FAILED") && broken.contains("ioTimeout=soon is not a whole number"), run.out());
        assertTrue(run.err().contains("ioTimeout=soon"), "and the log says so: " + run.err());
    }

    @Test
    void theDaemonRunsOnWithClosedStdinAndFollowsTheWatchedFolder() throws Exception {
        Process daemon = child.start(List.of("-Dgosh.args=--nointeractive", "-Dlabhal.log.level=info"), List.of());
        BlockingQueue<String> log = child.lines(daemon.getErrorStream());
        child.read(daemon.getInputStream());
        awaitLine(log, "sim-smw: online");

        // FileInstall creates the folder when it starts, which may come after the instruments are
        // online; a folder that already exists is scanned when it does start, so make sure of it.
        Path deploy = Files.createDirectories(work.resolve("deploy"));
        Files.writeString(deploy.resolve("org.labhal.instrument-late.cfg"), "resource=SIM::SMW200A::5::INSTR\n");
        awaitLine(log, "late: online");
        assertTrue(daemon.isAlive(), "still running long after stdin was closed");
    }

    @Test
    void theJarServesSimulatedInstrumentsOverHislipVxi11AndSocketsToOtherProcesses() throws Exception {
        // Any free ports here (the jar's defaults are 4880 and the portmapper's 111); a -D wins over the
        // jar's own setting, the way a user moves them.
        Process daemon = child.start(List.of("-Dgosh.args=--nointeractive", "-Dlabhal.log.level=info",
                "-Dlabhal.simulators.hislip=SHARED@0 SMW200A@0", "-Dlabhal.simulators.vxi11=SHARED@0",
                "-Dlabhal.simulators.socket=SMW200A@0"), List.of());
        BlockingQueue<String> log = child.lines(daemon.getErrorStream());
        child.read(daemon.getInputStream());
        // the bundles start in no fixed order: collect the four lines as they come
        Map<String, String> served = new HashMap<>();
        while (served.size() < 4) {
            String line = awaitLine(log, "Serving the simulated ");
            served.put(line.substring(line.indexOf("Serving"), line.lastIndexOf(" at ")), resourceIn(line));
        }
        String hislipShared = served.get("Serving the simulated SHARED over HiSLIP");
        String hislipSmw = served.get("Serving the simulated SMW200A over HiSLIP");
        String vxi11 = served.get("Serving the simulated SHARED over VXI-11");
        String socket = served.get("Serving the simulated SMW200A over raw TCP");

        // This framework, another process, is a client of the child's simulators.
        for (String[] expected : new String[][] { { hislipShared, "LabHAL,SHARED-SIM,100001,1.0" },
                { hislipSmw, "LabHAL,SMW200A-SIM,100001,1.0" }, { vxi11, "LabHAL,SHARED-SIM,100001,1.0" },
                { socket, "LabHAL,SMW200A-SIM,100001,1.0" } }) {
            try (Session session = sessions.open(expected[0])) {
                assertEquals(expected[1], session.query("*IDN?"), expected[0]);
            }
        }
    }

    private static String resourceIn(String line) {
        return line.substring(line.lastIndexOf(" at ") + 4).strip();
    }
}
