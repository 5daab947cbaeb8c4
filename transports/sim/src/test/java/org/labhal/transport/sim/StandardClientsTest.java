package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * Standard clients talk to the simulator server: PyVISA with its pure-Python backend (the Debian
 * package {@code python3-pyvisa-py}, which {@code ./lab test} installs when missing), and the
 * documented standalone command in its own JVM.
 */
class StandardClientsTest {
    private static final String PYVISA_SCRIPT = String.join("\n",
            "import sys, pyvisa",
            "rm = pyvisa.ResourceManager('@py')",
            "i = rm.open_resource(sys.argv[1], read_termination='\\n', write_termination='\\n', timeout=5000)",
            "print(i.query('*IDN?'))",
            "i.write('FREQ 2.5 GHz')",
            "print(i.query('FREQ?'))",
            "print(i.query('SIM:ECHO? pyvisa;:SYST:ERR?'))",
            "i.close()",
            "rm.close()");

    @Test
    void pyvisaTalksToTheServer() throws Exception {
        try (SimServer server = SimServer.builder("SMW200A").start()) {
            Process python = new ProcessBuilder(python(), "-c", PYVISA_SCRIPT, server.resource())
                    .redirectErrorStream(true).start();
            List<String> output;
            try (BufferedReader out = new BufferedReader(
                    new InputStreamReader(python.getInputStream(), StandardCharsets.UTF_8))) {
                output = out.lines().toList();
            }
            assertTrue(python.waitFor(60, TimeUnit.SECONDS), "PyVISA finished");
            assertEquals(0, python.exitValue(), () -> "PyVISA failed (is python3-pyvisa-py installed? ./lab test "
                    + "installs it):\n" + String.join("\n", output));
            assertEquals(List.of("LabHAL,SMW200A-SIM,100001,1.0", "2500000000", "pyvisa;0,\"No error\""), output);
            assertEquals(1, server.acceptedConnections());
        }
    }

    @Test
    void theStandaloneCommandPrintsItsResourceAndServesUntilStopped() throws Exception {
        // the simulator's classes and the server base's, as the README's command line has them
        String classes = Paths.get(SimServer.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                + java.io.File.pathSeparator + Paths.get(org.labhal.server.TcpServer.class.getProtectionDomain()
                        .getCodeSource().getLocation().toURI());
        Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
        Process server = new ProcessBuilder(java.toString(), "-cp", classes, SimServer.class.getName(),
                "--model", "SHARED", "--port", "0", "--delay", "1ms").redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(),
                StandardCharsets.UTF_8))) {
            String banner = out.readLine();
            Matcher m = Pattern.compile("listening on TCPIP::127\\.0\\.0\\.1::(\\d+)::SOCKET").matcher(String.valueOf(banner));
            assertTrue(m.find(), "banner: " + banner);
            try (LineClient client = new LineClient(new InetSocketAddress("127.0.0.1", Integer.parseInt(m.group(1))))) {
                assertTrue(client.query("*IDN?").startsWith("LabHAL,SHARED-SIM,"));
            }
        } finally {
            server.destroy(); // SIGTERM: the shutdown hook closes the server
            assertTrue(server.waitFor(30, TimeUnit.SECONDS), "stopped");
        }
    }

    /** Debian's interpreter, where python3-pyvisa-py installs, before whatever python3 is on the path. */
    private static String python() throws IOException {
        Path debian = Paths.get("/usr/bin/python3");
        return Files.isExecutable(debian) ? debian.toString() : "python3";
    }
}
