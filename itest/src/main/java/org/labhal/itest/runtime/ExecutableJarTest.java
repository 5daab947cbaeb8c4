package org.labhal.itest.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.itest.runtime.ChildRuntime.awaitLine;
import static org.labhal.itest.runtime.RuntimeTesting.row;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.zip.ZipEntry;
import java.util.stream.Stream;
import java.util.zip.ZipOutputStream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.labhal.api.Session;
import org.labhal.api.SessionFactory;
import org.labhal.itest.runtime.ChildRuntime.LogLines;
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
    void jarsInTheWatchedFolderThatAreNotBundlesAreReportedOnceByNameAndAGoodBundleStillInstalls() throws Exception {
        Process daemon = child.start(List.of("-Dgosh.args=--nointeractive", "-Dlabhal.log.level=info"), List.of());
        LogLines log = new LogLines(child.lines(daemon.getErrorStream()));
        child.read(daemon.getInputStream());
        log.await("sim-smw: online");
        Path deploy = Files.createDirectories(work.resolve("deploy"));

        // Dropped as a user drops them: written straight into the watched folder.
        byte[] good = bundle("org.labhal.itest.dropped");
        Files.write(deploy.resolve("random.jar"), random(3000, 1));
        Files.write(deploy.resolve("truncated.jar"), Arrays.copyOf(good, good.length / 2));
        Files.write(deploy.resolve("nomanifest.jar"), zipWithoutManifest());
        Files.write(deploy.resolve("plain.jar"), bundle(null));
        String notABundle = "ERROR org.labhal.runtime: deploy/%s is not a bundle: %s (ignored until the file changes)";
        for (String[] expected : new String[][] { { "random.jar", "zip END header not found" },
                { "truncated.jar", "zip END header not found" },
                { "nomanifest.jar", "it has no META-INF/MANIFEST.MF" },
                { "plain.jar", "its manifest has no Bundle-SymbolicName (a plain jar, not an OSGi bundle)" } }) {
            String line = log.await("deploy/" + expected[0] + " is not a bundle");
            assertTrue(line.endsWith(String.format(notABundle, expected[0], expected[1])), line);
        }

        // FileInstall goes on polling the broken files, and installs a good bundle beside them.
        Files.write(deploy.resolve("good.jar"), good);
        String started = log.await("Started bundle: ");
        assertTrue(started.endsWith("/deploy/good.jar"), started);
        // A later broken jar is reported after FileInstall has polled the first ones several more times
        // (its report waits a second for the file to settle): each of them was still said once only.
        Files.write(deploy.resolve("late.jar"), random(3000, 2));
        log.await("deploy/late.jar is not a bundle");
        for (String name : List.of("random.jar", "truncated.jar", "nomanifest.jar", "plain.jar")) {
            assertEquals(1, log.count("deploy/" + name + " is not a bundle"), name + " said once, not at every poll");
        }

        // A new content is said again; a bundle replaced by garbage is named with the bundle it cost.
        Files.write(deploy.resolve("random.jar"), random(4000, 3));
        log.await("deploy/random.jar is not a bundle", 2);
        Files.write(deploy.resolve("good.jar"), random(3000, 4));
        String replaced = log.await("deploy/good.jar is not a bundle");
        assertTrue(replaced.endsWith("ERROR org.labhal.runtime: deploy/good.jar is not a bundle: zip END header not"
                + " found (ignored until the file changes; FileInstall uninstalled org.labhal.itest.dropped 1.0.0,"
                + " which it had installed from it)"), replaced);
        assertTrue(daemon.isAlive());
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
        // the bundles start in no fixed order: collect the lines as they come (the jar's simulated USB
        // devices report themselves the same way)
        List<String> wanted = List.of("Serving the simulated SHARED over HiSLIP",
                "Serving the simulated SMW200A over HiSLIP", "Serving the simulated SHARED over VXI-11",
                "Serving the simulated SMW200A over raw TCP", "Serving the simulated SMW200A over USB");
        Map<String, String> served = new HashMap<>();
        while (!served.keySet().containsAll(wanted)) {
            String line = awaitLine(log, "Serving the simulated ");
            served.put(line.substring(line.indexOf("Serving"), line.lastIndexOf(" at ")), resourceIn(line));
        }
        String hislipShared = served.get(wanted.get(0));
        String hislipSmw = served.get(wanted.get(1));
        String vxi11 = served.get(wanted.get(2));
        String socket = served.get(wanted.get(3));
        assertEquals("USB0::0x0AAD::0x0001::SIM-SMW200A-0::INSTR", served.get(wanted.get(4)),
                "the jar's own simulated USB generator");

        // This framework, another process, is a client of the child's simulators.
        for (String[] expected : new String[][] { { hislipShared, "LabHAL,SHARED-SIM,100001,1.0" },
                { hislipSmw, "LabHAL,SMW200A-SIM,100001,1.0" }, { vxi11, "LabHAL,SHARED-SIM,100001,1.0" },
                { socket, "LabHAL,SMW200A-SIM,100001,1.0" } }) {
            try (Session session = sessions.open(expected[0])) {
                assertEquals(expected[1], session.query("*IDN?"), expected[0]);
            }
        }
    }

    @Test
    void aRestartOnKeptStateUpdatesNoBundleOfTheSameJar() throws Exception {
        assertEquals(0, child.run("instr:list").exit());
        assertEquals(0, child.run("instr:list").exit());

        // Felix keeps each revision of a bundle in its own folder: version0.0 is the install, 0.1 an update
        List<String> revisions;
        try (Stream<Path> files = Files.walk(work.resolve("labhal-state"), 2)) {
            revisions = files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("version")).toList();
        }
        assertFalse(revisions.isEmpty(), "no bundle revisions under labhal-state");
        assertTrue(revisions.stream().allMatch("version0.0"::equals), "bundles updated on restart: " + revisions);
    }

    @Test
    void theClassDataArchiveBuiltWithTheJarIsUsedByACommandLineRun() throws Exception {
        Path archive = child.jar().resolveSibling("labhal.jsa");
        assertTrue(Files.isRegularFile(archive),
                archive + " is made with the jar by mvn package (not with -Dlabhal.cds.skip)");
        Path classes = work.resolve("classes.log");

        // -Xshare:on: the JVM fails rather than start without the archive
        Run run = child.run(child.jar().toString(), List.of("-XX:SharedArchiveFile=" + archive, "-Xshare:on",
                "-Xlog:class+load:file=" + classes), "instr:list");

        assertEquals(0, run.exit(), run.err());
        assertTrue(row(run.out(), "sim-smw").contains("ONLINE"), run.out());
        String loaded = Files.readString(classes);
        // the launcher's framework, a bundle of Felix's and one of ours: all mapped from the archive
        for (String name : List.of("org.apache.felix.framework.Felix", "org.apache.felix.scr.impl.Activator",
                "org.labhal.runtime.internal.launch.CommandLine")) {
            assertTrue(loaded.contains(name + " source: shared objects file (top)"), name + " not from the archive");
        }
    }

    @Test
    void aClassDataArchiveThatNoLongerMatchesTheJarIsIgnoredAndTheResultStaysAlone() throws Exception {
        Path archive = child.jar().resolveSibling("labhal.jsa");
        assertTrue(Files.isRegularFile(archive), archive + " is made with the jar by mvn package");
        // Another jar (a copy, written now) than the one the archive was made from
        Path copy = Files.copy(child.jar(), work.resolve("labhal.jar"));

        Run run = child.run(copy.toString(), List.of("-XX:SharedArchiveFile=" + archive, "-Xlog:disable",
                "-Xlog:all=warning:stderr"), "instr:list");

        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().startsWith("ID "), "standard output is the result alone:\n" + run.out());
        assertTrue(row(run.out(), "sim-smw").contains("ONLINE"), run.out());
        assertTrue(run.err().contains("Unable to use shared archive"), run.err());
    }

    /** @param symbolicName {@code null} for a plain jar whose manifest names no bundle */
    private static byte[] bundle(String symbolicName) throws IOException {
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        if (symbolicName != null) {
            manifest.getMainAttributes().putValue("Bundle-ManifestVersion", "2");
            manifest.getMainAttributes().putValue("Bundle-SymbolicName", symbolicName);
            manifest.getMainAttributes().putValue("Bundle-Version", "1.0.0");
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarOutputStream jar = new JarOutputStream(bytes, manifest)) {
            jar.putNextEntry(new ZipEntry("data.bin"));
            jar.write(random(4000, 5)); // random: does not compress, so half the jar loses its directory
        }
        return bytes.toByteArray();
    }

    private static byte[] zipWithoutManifest() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.putNextEntry(new ZipEntry("readme.txt"));
            zip.write("a zip, but no manifest".getBytes(StandardCharsets.UTF_8));
        }
        return bytes.toByteArray();
    }

    private static byte[] random(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private static String resourceIn(String line) {
        return line.substring(line.lastIndexOf(" at ") + 4).strip();
    }
}
