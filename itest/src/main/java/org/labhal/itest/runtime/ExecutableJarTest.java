package org.labhal.itest.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.osgi.framework.BundleContext;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.junit5.context.BundleContextExtension;

/**
 * The built executable jar ({@code runtime/target/labhal.jar}) run as a child process in a fresh
 * working directory, as a user runs it: command-line mode, the watched folder, state kept across
 * restarts, and the console-less daemon.
 */
@ExtendWith(BundleContextExtension.class)
class ExecutableJarTest {
    private static final long RUN_SECONDS = 60;

    @InjectBundleContext
    BundleContext context;

    // Readers of the child's output block until it exits: own threads, not the (tiny) common pool
    private final ExecutorService readers = Executors.newCachedThreadPool();
    private Path work;
    private Process daemon;

    /** The outcome of one run. */
    private record Run(int exit, String out, String err) {
    }

    @BeforeEach
    void makeWorkingDirectory() throws IOException {
        work = Files.createTempDirectory("labhal-jar-test");
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (daemon != null && daemon.isAlive()) {
            daemon.destroy();
            if (!daemon.waitFor(20, TimeUnit.SECONDS)) {
                daemon.destroyForcibly();
            }
        }
        readers.shutdownNow();
        try (Stream<Path> files = Files.walk(work)) {
            files.sorted((a, b) -> b.compareTo(a)).map(Path::toFile).forEach(File::delete);
        }
    }

    @Test
    void commandLineModePrintsTheResultAndExitsZero() throws Exception {
        Run run = run("instr:query sim-smw '*IDN?'");
        assertEquals(0, run.exit(), run.err());
        assertEquals("LabHAL,SMW200A-SIM,100001,1.0", run.out().strip());
    }

    @Test
    void separateArgumentsAreOneCommandLineWithSpecialCharactersQuoted() throws Exception {
        Run run = run("instr:query", "sim-shared", "*IDN?");
        assertEquals(0, run.exit(), run.err());
        assertEquals("LabHAL,SHARED-SIM,100001,1.0", run.out().strip());
    }

    @Test
    void aFailingCommandExitsNonZeroWithItsMessage() throws Exception {
        Run run = run("instr:query nope '*IDN?'");
        assertEquals(1, run.exit(), run.out());
        assertTrue(run.err().contains("no instrument 'nope'; configured: sim-shared, sim-smw"), run.err());
        assertFalse(run.err().contains("\tat "), "no stack trace: " + run.err());
        assertEquals("", run.out().strip());
    }

    @Test
    void shellMadeConfigurationAndDeletedDefaultsSurviveARestart() throws Exception {
        Run connect = run("instr:connect bench 'SIM::SMW200A::3::INSTR'");
        assertEquals(0, connect.exit(), connect.err());
        Run disconnect = run("instr:disconnect sim-shared");
        assertEquals(0, disconnect.exit(), disconnect.err());

        Run list = run("instr:list");
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

        Run run = run("instr:list");
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
        daemon = start(List.of("-Dgosh.args=--nointeractive", "-Dlabhal.log.level=info"), List.of());
        BlockingQueue<String> log = lines(daemon.getErrorStream());
        drain(daemon.getInputStream());
        awaitLine(log, "sim-smw: online");

        // FileInstall creates the folder when it starts, which may come after the instruments are
        // online; a folder that already exists is scanned when it does start, so make sure of it.
        Path deploy = Files.createDirectories(work.resolve("deploy"));
        Files.writeString(deploy.resolve("org.labhal.instrument-late.cfg"), "resource=SIM::SMW200A::5::INSTR\n");
        awaitLine(log, "late: online");
        assertTrue(daemon.isAlive(), "still running long after stdin was closed");
    }

    private Run run(String... arguments) throws Exception {
        Process process = start(List.of(), List.of(arguments));
        CompletableFuture<String> out = read(process.getInputStream());
        CompletableFuture<String> err = read(process.getErrorStream());
        if (!process.waitFor(RUN_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("labhal.jar " + String.join(" ", arguments) + " did not exit within "
                    + RUN_SECONDS + " s");
        }
        return new Run(process.exitValue(), out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
    }

    private Process start(List<String> jvmOptions, List<String> arguments) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.add("-jar");
        command.add(context.getProperty("labhal.itest.executable.jar"));
        command.addAll(arguments);
        return new ProcessBuilder(command).directory(work.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    }

    private CompletableFuture<String> read(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return e.toString();
            }
        }, readers);
    }

    private void drain(InputStream in) {
        read(in);
    }

    private BlockingQueue<String> lines(InputStream in) {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        CompletableFuture.runAsync(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    lines.add(line);
                }
            } catch (IOException e) {
                lines.add(e.toString());
            }
        }, readers);
        return lines;
    }

    private static void awaitLine(BlockingQueue<String> lines, String text) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(RUN_SECONDS);
        List<String> seen = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            String line = lines.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (line == null) {
                break;
            }
            seen.add(line);
            if (line.contains(text)) {
                return;
            }
        }
        throw new AssertionError("no line with \"" + text + "\" in:\n" + String.join("\n", seen));
    }

    private static String row(String table, String first) {
        return table.lines().filter(l -> l.startsWith(first + " ")).findFirst()
                .orElseThrow(() -> new AssertionError("no row " + first + " in\n" + table));
    }
}
