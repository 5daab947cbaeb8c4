package org.labhal.runtime.internal.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.labhal.api.ResourceAddress;
import org.labhal.runtime.internal.instrument.InstrumentConnection;
import org.labhal.runtime.internal.instrument.InstrumentDirectory;
import org.labhal.runtime.internal.instrument.RuntimeFixture;
import org.labhal.runtime.internal.instrument.ScpiTestServer;

/** instr:sessiontest against loopback servers that treat a second client as real instruments do. */
class SessionTestCommandTest {

    private static InstrumentCommands commands(RuntimeFixture runtime, InstrumentDirectory directory) {
        return new InstrumentCommands(directory, runtime.catalog, runtime.sessions, runtime.locks, null, runtime.workers,
                new LockHolders(), null);
    }

    /**
     * Asks the device once more on a connection of its own and waits for the answer: a device serving one
     * client at a time has then dealt with every connection opened before, orphaned questions included.
     */
    private static void lastInLine(ScpiTestServer device) throws Exception {
        int port = Integer.parseInt(ResourceAddress.parse(device.resource()).canonical().split("::")[2]);
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            out.write("*IDN?\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                    StandardCharsets.US_ASCII));
            assertEquals(ScpiTestServer.IDN, in.readLine());
        }
    }

    @Test
    void aOneClientServerIsSingleConnectionAndNoQuestionIsLeftForAClosedSocket() throws Exception {
        try (ScpiTestServer device = new ScpiTestServer(ScpiTestServer.Mode.ONE_AT_A_TIME, false);
                RuntimeFixture runtime = new RuntimeFixture()) {
            String report = commands(runtime, new InstrumentDirectory()).sessiontest(device.resource(), "500ms");
            assertTrue(report.contains(": SINGLE_CONNECTION"), report);
            lastInLine(device);
            assertEquals(0, device.orphanedQuestions(), "questions the device answers into a closed socket\n" + report);
        }
    }

    @Test
    void aServerOnWhichTheNewestTakesOverIsSingleConnection() throws Exception {
        try (ScpiTestServer device = new ScpiTestServer(ScpiTestServer.Mode.NEWEST_TAKES_OVER, false);
                RuntimeFixture runtime = new RuntimeFixture()) {
            String report = commands(runtime, new InstrumentDirectory()).sessiontest(device.resource(), "500ms");
            assertTrue(report.contains(": SINGLE_CONNECTION"), report);
            assertTrue(report.contains("took over"), report);
        }
    }

    @Test
    void aResourceTheRuntimeHoldsIsReportedAsHeldByTheRuntimesOwnSession() throws Exception {
        try (ScpiTestServer device = new ScpiTestServer(ScpiTestServer.Mode.ONE_AT_A_TIME, false);
                RuntimeFixture runtime = new RuntimeFixture()) {
            InstrumentDirectory directory = new InstrumentDirectory();
            InstrumentConnection box = runtime.start("box", device.resource(), "ioTimeout", "500");
            directory.claim(box);
            assertEquals(InstrumentConnection.State.ONLINE, RuntimeFixture.settle(box), box.status().detail());
            int answered = device.answered();

            String report = commands(runtime, directory).sessiontest(device.resource(), "500ms");
            assertTrue(report.contains(": SINGLE_CONNECTION"), report);
            assertTrue(report.contains("the runtime's own session (instrument box) holds"), report);
            assertEquals(answered, device.answered(), "the probe asked nothing");
            assertEquals(ScpiTestServer.IDN, box.instrument().orElseThrow().session().query("*IDN?"));
            box.close();
            lastInLine(device);
            assertEquals(0, device.orphanedQuestions(), "questions the device answers into a closed socket");
        }
    }
}
