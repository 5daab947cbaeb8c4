package org.labhal.transport.vxi11.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.transport.vxi11.internal.Steps.LONG;
import static org.labhal.transport.vxi11.internal.Steps.await;
import static org.labhal.transport.vxi11.internal.Vxi11Protocol.*;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.labhal.api.ResourceAddress;
import org.labhal.transport.vxi11.Vxi11Link;
import org.labhal.transport.vxi11.sim.Vxi11SimServer;

/**
 * The simulator's side of calls that block: a hand-driven client (raw ONC RPC on a socket, so that
 * nothing but the test decides what goes on the wire) whose connection drops, or whose call is
 * aborted on the abort channel, while a device_read waits for a response that never comes.
 */
class SimServerBlockedCallsTest {
    /** device_read's io_timeout: far beyond every wait below, so a regression fails instead of passing late. */
    private static final long READ_IO_TIMEOUT_MS = 60_000;

    private final Vxi11TransportFactory transport = new Vxi11TransportFactory();
    private Vxi11SimServer server;
    private int xid;

    @BeforeEach
    void start() throws IOException {
        server = Vxi11SimServer.builder("SMW200A").start();
    }

    @AfterEach
    void stop() {
        transport.deactivate();
        server.close();
    }

    private Socket connect(int port) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setSoTimeout(10_000);
        return s;
    }

    private static void send(Socket s, XdrEncoder call) throws IOException {
        RecordStream.write(s.getOutputStream(), call);
    }

    /** Reads the next reply and returns it positioned at the results. */
    private static XdrDecoder reply(Socket s) throws Exception {
        XdrDecoder reply = new XdrDecoder(new RecordStream(s.getInputStream(), 1 << 16).read());
        reply.getInt(); // xid
        Rpc.readReply(reply);
        return reply;
    }

    private XdrEncoder core(int procedure, int argumentBytes) {
        return Rpc.call(++xid, CORE_PROGRAM, CORE_VERSION, procedure, argumentBytes);
    }

    /** create_link for inst0; returns {lid, abortPort}. */
    private int[] createLink(Socket s) throws Exception {
        send(s, core(CREATE_LINK, 24).putInt(1).putBool(false).putInt(0).putString("inst0"));
        XdrDecoder r = reply(s);
        assertEquals(ERR_NONE, r.getInt());
        int lid = r.getInt();
        int abortPort = r.getInt();
        r.getInt(); // maxRecvSize
        return new int[] {lid, abortPort};
    }

    private void lock(Socket s, int lid) throws Exception {
        send(s, core(DEVICE_LOCK, 12).putInt(lid).putInt(0).putInt(0));
        assertEquals(ERR_NONE, reply(s).getInt());
    }

    /** Sends a device_read that no response will end; its reply is not read here. */
    private void sendEndlessRead(Socket s, int lid) throws IOException {
        send(s, core(DEVICE_READ, 24).putInt(lid).putInt(100).putUnsignedInt(READ_IO_TIMEOUT_MS).putInt(0).putInt(0)
                .putInt(0));
    }

    @ParameterizedTest(name = "reset={0}")
    @ValueSource(booleans = {false, true})
    void aConnectionDroppedDuringABlockedReadReleasesTheLockAtOnce(boolean reset) throws Exception {
        Socket a = connect(server.corePort());
        int lid = createLink(a)[0];
        lock(a, lid);
        sendEndlessRead(a, lid);
        await(() -> server.callsInProgress() == 1, "the read is blocked in the simulator");
        if (reset) {
            a.setSoLinger(true, 0); // RST instead of FIN, as a crashed client's host sends
        }
        a.close();
        try (Vxi11Link b = (Vxi11Link) transport.open(ResourceAddress.parse(server.resource()), LONG)) {
            // Waits at most 5 s for a lock whose holder's read would run for 60 s: only noticing the
            // dropped connection at once lets this succeed.
            b.lock(Duration.ofSeconds(5));
            assertTrue(server.locked());
            b.unlock();
        }
        await(() -> server.callsInProgress() == 0, "the dropped link's read was cut short too");
        assertEquals(0, server.openLinks(), "the dropped link is gone");
    }

    @Test
    void aConnectionDroppedWhileWaitingForTheLockNeverTakesIt() throws Exception {
        try (Vxi11Link holder = (Vxi11Link) transport.open(ResourceAddress.parse(server.resource()), LONG)) {
            holder.lock(Duration.ZERO);
            Socket waiter = connect(server.corePort());
            int lid = createLink(waiter)[0];
            send(waiter, core(DEVICE_LOCK, 12).putInt(lid).putInt(FLAG_WAITLOCK).putUnsignedInt(READ_IO_TIMEOUT_MS));
            await(() -> server.callsInProgress() == 1, "the lock request waits in the simulator");
            waiter.close();
            await(() -> server.callsInProgress() == 0, "the wait ended with the connection");
            holder.unlock();
            assertFalse(server.locked(), "the dropped link did not take the lock when it was released");
            assertEquals(1, server.openLinks());
        }
    }

    @Test
    void deviceAbortEndsABlockedReadOfAnotherConnectionWithErrorTwentyThree() throws Exception {
        try (Socket a = connect(server.corePort())) {
            int[] link = createLink(a);
            assertEquals(server.abortPort().orElseThrow(), link[1], "create_link announces the abort port");
            lock(a, link[0]);
            sendEndlessRead(a, link[0]);
            await(() -> server.callsInProgress() == 1, "the read is blocked in the simulator");
            try (Socket abort = connect(link[1])) {
                send(abort, Rpc.call(++xid, ASYNC_PROGRAM, ASYNC_VERSION, DEVICE_ABORT, 4).putInt(link[0]));
                assertEquals(ERR_NONE, reply(abort).getInt(), "device_abort's own answer");
                XdrDecoder read = reply(a);
                assertEquals(ERR_ABORT, read.getInt(), "the read's answer");
                assertEquals(0, read.getInt(), "no reason bits");
                assertEquals(0, read.getOpaque(100).length, "no data");

                send(abort, Rpc.call(++xid, ASYNC_PROGRAM, ASYNC_VERSION, DEVICE_ABORT, 4).putInt(link[0] + 1000));
                assertEquals(ERR_INVALID_LINK, reply(abort).getInt(), "an unknown link");
                send(abort, Rpc.call(++xid, ASYNC_PROGRAM, 2, DEVICE_ABORT, 4).putInt(link[0]));
                RpcRejectedException version = assertThrows(RpcRejectedException.class, () -> reply(abort));
                assertTrue(version.getMessage().contains("PROG_MISMATCH"), version.getMessage());
                send(abort, Rpc.call(++xid, CORE_PROGRAM, CORE_VERSION, DEVICE_READ, 0));
                RpcRejectedException core = assertThrows(RpcRejectedException.class, () -> reply(abort));
                assertTrue(core.getMessage().contains("PROG_UNAVAIL"), "the core program is not served here");
            }
            assertTrue(server.locked(), "an abort keeps the link's lock");
            send(a, core(DEVICE_WRITE, 24).putInt(link[0]).putInt(1000).putInt(0).putInt(FLAG_END)
                    .putString("SIM:ECHO? after"));
            assertEquals(ERR_NONE, reply(a).getInt(), "the link goes on");
            send(a, core(DEVICE_READ, 24).putInt(link[0]).putInt(100).putInt(1000).putInt(0).putInt(0).putInt(0));
            XdrDecoder after = reply(a);
            assertEquals(ERR_NONE, after.getInt());
            after.getInt();
            assertEquals("after\n", new String(after.getOpaque(100), java.nio.charset.StandardCharsets.US_ASCII));
        }
    }

    @Test
    void aCallThatCouldBeAnsweredAtOnceStillWaitsForTheCallBeforeIt() throws Exception {
        try (Socket s = connect(server.corePort())) {
            int lid = createLink(s)[0];
            RecordStream replies = new RecordStream(s.getInputStream(), 1 << 16); // one reader: it reads ahead
            // A device_read with nothing to read waits on the answering thread ...
            int readXid = xid + 1;
            send(s, core(DEVICE_READ, 24).putInt(lid).putInt(100).putInt(300).putInt(0).putInt(0).putInt(0));
            // ... so a device_write behind it, which alone the reading thread would answer, waits its turn.
            int writeXid = xid + 1;
            byte[] idn = "*IDN?".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            send(s, core(DEVICE_WRITE, 24 + idn.length).putInt(lid).putInt(10_000).putInt(0).putInt(FLAG_END)
                    .putOpaque(idn, 0, idn.length));
            XdrDecoder first = new XdrDecoder(replies.read());
            assertEquals(readXid, first.getInt(), "replies in the order of the calls");
            Rpc.readReply(first);
            assertEquals(ERR_IO_TIMEOUT, first.getInt(), "the read found nothing: the query came after it");
            XdrDecoder second = new XdrDecoder(replies.read());
            assertEquals(writeXid, second.getInt());
            Rpc.readReply(second);
            assertEquals(ERR_NONE, second.getInt());
            // and now, with nothing handed over, the answer is there for a read answered at once
            send(s, core(DEVICE_READ, 24).putInt(lid).putInt(100).putInt(1000).putInt(0).putInt(0).putInt(0));
            XdrDecoder third = new XdrDecoder(replies.read());
            third.getInt();
            Rpc.readReply(third);
            assertEquals(ERR_NONE, third.getInt());
            third.getInt(); // reason
            assertTrue(third.getString(100).startsWith("LabHAL,SMW200A-SIM,"), "the query's own answer");
        }
    }
}
