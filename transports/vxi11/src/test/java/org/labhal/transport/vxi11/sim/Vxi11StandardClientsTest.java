package org.labhal.transport.vxi11.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Standard VXI-11 clients talk to the simulator, each run as a child process: PyVISA with its
 * pure-Python backend (Debian {@code python3-pyvisa-py}) and {@code lxi scpi} (Debian
 * {@code lxi-tools}); {@code ./lab test} installs both. They find the core channel through the
 * portmapper on the standard port 111, so the simulator's portmapper listens there (on loopback):
 * this needs root or CAP_NET_BIND_SERVICE, and no rpcbind on the machine. A missing tool or a taken
 * port fails the test, naming the cause; nothing is skipped.
 */
class Vxi11StandardClientsTest {
    private static final int PORTMAPPER = 111;
    private static final String IDN = "LabHAL,SMW200A-SIM,100001,1.0";
    /** Every child gets this long for each line and for its exit, then it is killed. */
    private static final long CHILD_SECONDS = 60;

    private static final String PYVISA_SCRIPT = String.join("\n",
            "import sys, pyvisa",
            "rm = pyvisa.ResourceManager('@py')",
            "i = rm.open_resource(sys.argv[1], read_termination='\\n', write_termination='\\n', timeout=10000)",
            "print(i.query('*IDN?'))",
            "i.write('FREQ 2.5 GHz')",
            "print(i.query('FREQ?'))",
            "i.lock_excl(10000)",
            "print('locked')",
            "sys.stdin.readline()", // the test looks at the simulator's lock meanwhile
            "i.unlock()",
            "print('unlocked')",
            "sys.stdin.readline()",
            "i.write('SIM:ECHO? ' + 'x' * 100)",
            "print(i.read_bytes(5).decode())",
            "print(i.read_stb())", // MAV: the rest of the answer waits
            "i.clear()",
            "print(i.read_stb())",
            "print(i.query('SIM:ECHO? cleared'))",
            "i.close()",
            "rm.close()",
            "print('closed')");

    private static Vxi11SimServer server;
    private static ExecutorService outputReaders;

    @BeforeAll
    static void start() {
        outputReaders = Executors.newCachedThreadPool();
        try {
            server = Vxi11SimServer.builder("SMW200A").portmapperPort(PORTMAPPER).start();
        } catch (IOException e) {
            fail("Cannot start the VXI-11 simulator with its portmapper on 127.0.0.1 port " + PORTMAPPER
                    + ", where standard clients look for it (" + e.getMessage() + "). Likely causes: rpcbind or "
                    + "portmap is running (ss -ltnp 'sport = :111' shows it; systemctl stop rpcbind.socket rpcbind), "
                    + "a LabHAL runtime started with ./lab run serves its VXI-11 simulator there (stop it, or start "
                    + "labhal.jar with -Dlabhal.simulators.vxi11= before -jar), or the tests do not run as root or "
                    + "with CAP_NET_BIND_SERVICE.", e);
        }
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        outputReaders.shutdownNow();
    }

    @Test
    void pyvisaQueriesLocksReadsTheStatusByteAndClears() throws Exception {
        try (Child python = new Child("python3-pyvisa-py", python(), "-u", "-c", PYVISA_SCRIPT,
                "TCPIP::127.0.0.1::INSTR")) {
            assertEquals(IDN, python.line());
            assertEquals("2500000000", python.line());
            assertEquals("locked", python.line());
            assertTrue(server.locked(), "lock_excl took the device lock");
            python.send("");
            assertEquals("unlocked", python.line());
            assertFalse(server.locked(), "unlock released it");
            python.send("");
            assertEquals("xxxxx", python.line());
            assertEquals("16", python.line(), "MAV while the rest of the answer waits");
            assertEquals("0", python.line(), "device clear dropped it");
            assertEquals("cleared", python.line(), "the next answer is its own");
            assertEquals("closed", python.line());
            assertEquals(0, python.exit(), python::output);
            assertEquals(0, server.openLinks(), "close sent destroy_link");
        }
    }

    @Test
    void lxiScpiSendsACommandAndReadsAnswers() throws Exception {
        assertEquals(List.of(), lxiScpi("FREQ 3 GHz"), "a command has no answer");
        assertEquals(List.of("3000000000"), lxiScpi("FREQ?"), "the command arrived");
        assertEquals(List.of(IDN), lxiScpi("*IDN?"));
    }

    /** Runs {@code lxi scpi} (VXI-11 is its default protocol) against the simulator; returns its output lines. */
    private static List<String> lxiScpi(String command) throws Exception {
        try (Child lxi = new Child("lxi-tools", "lxi", "scpi", "-a", "127.0.0.1", "-t", "10", command)) {
            int exit = lxi.exit();
            assertEquals(0, exit, () -> "lxi scpi '" + command + "' failed:\n" + lxi.output());
            return lxi.lines();
        }
    }

    /** Debian's interpreter, where python3-pyvisa-py installs, before whatever python3 is on the path. */
    private static String python() {
        Path debian = Path.of("/usr/bin/python3");
        return Files.isExecutable(debian) ? debian.toString() : "python3";
    }

    /**
     * A child process with stderr merged into stdout, read line by line on another thread, so that
     * every wait for it is bounded; closing kills it if it is still running.
     */
    private static final class Child implements AutoCloseable {
        private static final String EOF = new String("end of output"); // compared by identity
        private final String name;
        private final Process process;
        private final BlockingQueue<String> pending = new LinkedBlockingQueue<>();
        private final List<String> seen = new ArrayList<>();

        Child(String debianPackage, String... command) throws IOException {
            this.name = command[0];
            try {
                process = new ProcessBuilder(command).redirectErrorStream(true).start();
            } catch (IOException e) {
                throw new IOException("cannot run " + name + " (is the Debian package " + debianPackage
                        + " installed? ./lab test installs it): " + e.getMessage(), e);
            }
            outputReaders.execute(() -> {
                try (BufferedReader out = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line = out.readLine(); line != null; line = out.readLine()) {
                        pending.add(line);
                    }
                } catch (IOException e) {
                    pending.add("(output unreadable: " + e + ")");
                } finally {
                    pending.add(EOF);
                }
            });
        }

        /** The next output line. */
        String line() throws InterruptedException {
            String line = pending.poll(CHILD_SECONDS, TimeUnit.SECONDS);
            if (line == null) {
                fail(name + " printed nothing more within " + CHILD_SECONDS + " s; so far:\n" + output());
            }
            if (line == EOF) {
                pending.add(EOF);
                fail(name + " ended its output early; it printed:\n" + output());
            }
            seen.add(line);
            return line;
        }

        /** Writes a line to the child's standard input. */
        void send(String line) throws IOException {
            OutputStream in = process.getOutputStream();
            in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        }

        /** Waits for the child to end; returns its exit code. */
        int exit() throws InterruptedException {
            if (!process.waitFor(CHILD_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                fail(name + " did not end within " + CHILD_SECONDS + " s and was killed; it printed:\n" + output());
            }
            return process.exitValue();
        }

        /** Every line not yet taken, once the output ended. */
        List<String> lines() throws InterruptedException {
            List<String> lines = new ArrayList<>();
            for (String line = pending.poll(CHILD_SECONDS, TimeUnit.SECONDS); line != EOF;
                    line = pending.poll(CHILD_SECONDS, TimeUnit.SECONDS)) {
                if (line == null) {
                    fail(name + " did not close its output within " + CHILD_SECONDS + " s");
                }
                lines.add(line);
            }
            pending.add(EOF);
            seen.addAll(lines);
            return lines;
        }

        /** What the child printed so far, for failure messages. */
        String output() {
            List<String> all = new ArrayList<>(seen);
            pending.stream().filter(line -> line != EOF).forEach(all::add);
            return String.join("\n", all);
        }

        @Override
        public void close() {
            process.destroyForcibly(); // nothing when it already ended
        }
    }
}
