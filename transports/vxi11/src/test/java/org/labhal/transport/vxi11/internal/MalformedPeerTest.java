package org.labhal.transport.vxi11.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.transport.vxi11.internal.ScriptedPeer.record;
import static org.labhal.transport.vxi11.internal.Steps.LONG;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Function;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.transport.vxi11.Vxi11AbortedException;
import org.labhal.transport.vxi11.Vxi11Error;
import org.labhal.transport.vxi11.Vxi11Exception;
import org.labhal.transport.vxi11.Vxi11Link;
import org.labhal.transport.vxi11.sim.Vxi11SimServer;

/**
 * Instruments that misbehave on the wire (a hand-driven peer on a loopback port), and clients that
 * misbehave towards the simulator: every case is a specific error in bounded time, never a hang or
 * an OutOfMemoryError.
 */
class MalformedPeerTest {
    private final Vxi11TransportFactory transport = new Vxi11TransportFactory();
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        transport.deactivate();
        threads.shutdownNow();
    }

    /**
     * A core channel that answers create_link properly and every other call with whatever wire bytes
     * {@code script} returns (null: close the connection).
     */
    private ServerSocket peer(BiFunction<Rpc.Call, XdrDecoder, byte[]> script) throws IOException {
        return peer(script, false);
    }

    /** Like {@link #peer(BiFunction)}; with {@code dieAfterReply} the peer closes right after its first scripted reply. */
    private ServerSocket peer(BiFunction<Rpc.Call, XdrDecoder, byte[]> script, boolean dieAfterReply)
            throws IOException {
        return peer(script, dieAfterReply, 0);
    }

    /** Like {@link #peer(BiFunction, boolean)}, announcing {@code abortPort} in create_link. */
    private ServerSocket peer(BiFunction<Rpc.Call, XdrDecoder, byte[]> script, boolean dieAfterReply, int abortPort)
            throws IOException {
        ServerSocket listener = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        threads.execute(() -> {
            try (Socket s = listener.accept()) {
                RecordStream in = new RecordStream(s.getInputStream(), 1 << 20);
                OutputStream out = s.getOutputStream();
                while (true) {
                    XdrDecoder d = new XdrDecoder(in.read());
                    Rpc.Call call = Rpc.readCall(d);
                    byte[] wire = call.procedure() == Vxi11Protocol.CREATE_LINK
                            ? record(Rpc.accepted(call.xid(), 0, 16).putInt(0).putInt(7).putInt(abortPort).putInt(1024))
                            : script.apply(call, d);
                    if (wire == null) {
                        return;
                    }
                    out.write(wire);
                    out.flush();
                    if (dieAfterReply && call.procedure() != Vxi11Protocol.CREATE_LINK) {
                        return;
                    }
                }
            } catch (IOException e) {
                // the client went away
            }
        });
        return listener;
    }

    /**
     * An abort channel that answers each call with what {@code answer} returns (null: never answers),
     * one connection after another, counting them.
     */
    private ServerSocket abortPeer(Function<Rpc.Call, byte[]> answer, AtomicInteger connections) throws IOException {
        ServerSocket listener = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        threads.execute(() -> {
            while (true) {
                try (Socket s = listener.accept()) {
                    connections.incrementAndGet();
                    RecordStream in = new RecordStream(s.getInputStream(), 1 << 16);
                    while (true) {
                        Rpc.Call call = Rpc.readCall(new XdrDecoder(in.read()));
                        byte[] wire = answer.apply(call);
                        if (wire != null) {
                            s.getOutputStream().write(wire);
                        }
                    }
                } catch (IOException e) {
                    if (listener.isClosed()) {
                        return;
                    }
                }
            }
        });
        return listener;
    }

    /** A core channel whose device_reads never get an answer; {@code readSent} completes at the first. */
    private ServerSocket silentOnRead(int abortPort, CompletableFuture<Void> readSent) throws IOException {
        return peer((call, args) -> {
            if (call.procedure() == Vxi11Protocol.DEVICE_READ) {
                readSent.complete(null);
                return new byte[0];
            }
            return record(Rpc.accepted(call.xid(), 0, 4).putInt(0));
        }, false, abortPort);
    }

    private Vxi11Link open(ServerSocket peer) throws LabHalException {
        return (Vxi11Link) transport.open(ResourceAddress.parse("TCPIP::127.0.0.1::INSTR?port=" + peer.getLocalPort()),
                LONG);
    }

    private static byte[] cutReply(Rpc.Call call, int keep) {
        byte[] whole = record(Rpc.accepted(call.xid(), 0, 20).putInt(0).putInt(4).putString("0123456789"));
        return java.util.Arrays.copyOf(whole, keep);
    }

    @Test
    void aPeerDyingMidMessageIsConnectionLost() throws Exception {
        try (ServerSocket peer = peer((call, args) -> cutReply(call, 30), true)) {
            Vxi11Link link = open(peer);
            ConnectionLostException e = assertThrows(ConnectionLostException.class,
                    () -> link.read(ByteBuffer.allocate(100), LONG));
            assertTrue(e.getMessage().contains("the peer closed the connection in the middle of an RPC record"),
                    e.getMessage());
            assertThrows(ConnectionLostException.class, () -> link.read(ByteBuffer.allocate(1), LONG));
        }
    }

    @Test
    void aPeerStallingMidMessageIsConnectionLostAtTheDeadline() throws Exception {
        try (ServerSocket peer = peer((call, args) -> cutReply(call, 10))) {
            Vxi11Link link = open(peer);
            long start = System.nanoTime();
            ConnectionLostException e = assertThrows(ConnectionLostException.class,
                    () -> link.read(ByteBuffer.allocate(100), Duration.ofMillis(100)));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(ms < 100 + Vxi11Connection.REPLY_MARGIN.toMillis() + 2000, ms + " ms");
            assertTrue(e.getMessage().contains("stopped sending in the middle of an RPC reply"), e.getMessage());
            assertInstanceOf(XdrException.class, e.getCause());
        }
    }

    @Test
    void aHugeRecordLengthIsRejectedAtOnce() throws Exception {
        try (ServerSocket peer = peer((call, args) -> new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xF0})) {
            Vxi11Link link = open(peer);
            ConnectionLostException e = assertThrows(ConnectionLostException.class,
                    () -> link.read(ByteBuffer.allocate(100), LONG));
            assertTrue(e.getMessage().contains("exceeds the record limit"), e.getMessage());
            assertThrows(ConnectionLostException.class, () -> link.read(ByteBuffer.allocate(1), LONG),
                    "closed for good: the stream is out of step");
        }
    }

    @Test
    void moreDataThanRequestedIsRejected() throws Exception {
        try (ServerSocket peer = peer((call, args) ->
                record(Rpc.accepted(call.xid(), 0, 20).putInt(0).putInt(4).putString("0123456789")))) {
            Vxi11Link link = open(peer);
            ConnectionLostException e = assertThrows(ConnectionLostException.class,
                    () -> link.read(ByteBuffer.allocate(4), LONG));
            assertTrue(e.getMessage().contains("10 bytes exceeds the limit of 4"), e.getMessage());
        }
    }

    @Test
    void aRefusedProcedureIsNamedAndTheLinkGoesOn() throws Exception {
        try (ServerSocket peer = peer((call, args) -> call.procedure() == Vxi11Protocol.DEVICE_TRIGGER
                ? record(Rpc.accepted(call.xid(), Rpc.PROC_UNAVAIL, 0))
                : record(Rpc.accepted(call.xid(), 0, 4).putInt(0)))) {
            Vxi11Link link = open(peer);
            LabHalException e = assertThrows(LabHalException.class, () -> link.trigger(LONG));
            assertTrue(e.getMessage().contains("refused device_trigger: procedure unavailable (PROC_UNAVAIL)"),
                    e.getMessage());
            link.local(LONG);
        }
    }

    @Test
    void aLateReplyIsDroppedByItsXid() throws Exception {
        int[] calls = {0};
        Rpc.Call[] first = new Rpc.Call[1];
        try (ServerSocket peer = peer((call, args) -> {
            if (calls[0]++ == 0) {
                first[0] = call;
                return new byte[0]; // no answer yet
            }
            ByteArrayOutputStream both = new ByteArrayOutputStream();
            both.writeBytes(record(Rpc.accepted(first[0].xid(), 0, 12).putInt(0).putInt(4).putString("old")));
            both.writeBytes(record(Rpc.accepted(call.xid(), 0, 12).putInt(0).putInt(4).putString("new")));
            return both.toByteArray();
        })) {
            Vxi11Link link = open(peer);
            // io_timeout 1 ms, so the client gives up after the grace
            assertThrows(IoTimeoutException.class, () -> link.read(ByteBuffer.allocate(10), Duration.ofMillis(1)));
            ByteBuffer into = ByteBuffer.allocate(10);
            assertTrue(link.read(into, LONG));
            assertEquals("new", new String(into.array(), 0, into.position()), "the late answer was dropped");
        }
    }

    @ParameterizedTest
    @CsvSource({"1,SYNTAX_ERROR,syntax error", "3,DEVICE_NOT_ACCESSIBLE,device not accessible",
        "4,INVALID_LINK_IDENTIFIER,invalid link identifier", "5,PARAMETER_ERROR,parameter error",
        "6,CHANNEL_NOT_ESTABLISHED,channel not established", "8,OPERATION_NOT_SUPPORTED,operation not supported",
        "9,OUT_OF_RESOURCES,out of resources", "11,DEVICE_LOCKED_BY_ANOTHER_LINK,device locked by another link",
        "12,NO_LOCK_HELD_BY_THIS_LINK,no lock held by this link", "17,IO_ERROR,I/O error",
        "21,INVALID_ADDRESS,invalid address", "23,ABORT,abort", "29,CHANNEL_ALREADY_ESTABLISHED,channel already established",
        "99,UNKNOWN,an error code VXI-11 does not define"})
    void everyErrorCodeIsASpecificException(int code, Vxi11Error error, String meaning) throws Exception {
        try (ServerSocket peer = peer((call, args) -> record(Rpc.accepted(call.xid(), 0, 8).putInt(code).putInt(0)))) {
            Vxi11Link link = open(peer);
            Vxi11Exception e = assertThrows(Vxi11Exception.class,
                    () -> link.write(ByteBuffer.wrap(new byte[] {'x'}), true, LONG));
            assertEquals(error, e.error());
            assertEquals(code, e.code());
            assertEquals(code == 23, e instanceof Vxi11AbortedException, "error 23 and only 23 is the abort exception");
            assertTrue(e.getMessage().endsWith("device_write failed with VXI-11 error " + code + " (" + meaning + ")"),
                    e.getMessage());
        }
    }

    @Test
    void errorFifteenIsAnIoTimeout() throws Exception {
        try (ServerSocket peer = peer((call, args) -> record(Rpc.accepted(call.xid(), 0, 8).putInt(15).putInt(0)))) {
            Vxi11Link link = open(peer);
            IoTimeoutException e = assertThrows(IoTimeoutException.class, () -> link.clear(Duration.ofMillis(50)));
            assertTrue(e.getMessage().contains("device_clear failed with VXI-11 error 15 (I/O timeout)"), e.getMessage());
        }
    }

    // ---------------------------------------------------------------- the abort channel misbehaving

    @ParameterizedTest
    @CsvSource({"23,ABORT", "4,INVALID_LINK_IDENTIFIER", "99,UNKNOWN"})
    void deviceAbortAnswersWithAnErrorAreSpecificExceptions(int code, Vxi11Error error) throws Exception {
        AtomicInteger connections = new AtomicInteger();
        try (ServerSocket abort = abortPeer(call -> record(Rpc.accepted(call.xid(), 0, 4).putInt(code)), connections);
                ServerSocket peer = peer((call, args) -> null, false, abort.getLocalPort())) {
            Vxi11Link link = open(peer);
            Vxi11Exception first = assertThrows(Vxi11Exception.class, () -> link.abort(LONG));
            assertEquals(error, first.error());
            assertEquals("device_abort", first.operation());
            assertEquals(code == 23, first instanceof Vxi11AbortedException);
            assertTrue(first.getMessage().contains("device_abort failed with VXI-11 error " + code), first.getMessage());
            assertThrows(Vxi11Exception.class, () -> link.abort(LONG));
            assertEquals(1, connections.get(), "one abort connection serves every abort of the link");
        }
    }

    @Test
    void aRefusedDeviceAbortIsNamed() throws Exception {
        AtomicInteger connections = new AtomicInteger();
        try (ServerSocket abort = abortPeer(call -> record(Rpc.accepted(call.xid(), Rpc.PROG_UNAVAIL, 0)), connections);
                ServerSocket peer = peer((call, args) -> null, false, abort.getLocalPort())) {
            LabHalException e = assertThrows(LabHalException.class, () -> open(peer).abort(LONG));
            assertTrue(e.getMessage().contains("refused device_abort on the abort channel")
                    && e.getMessage().contains("PROG_UNAVAIL"), e.getMessage());
        }
    }

    @Test
    void anAbortChannelThatNeverAnswersTimesOutAndCannotHoldUpCloseNorHideWhyTheCallEnded() throws Exception {
        AtomicInteger connections = new AtomicInteger();
        CompletableFuture<Void> readSent = new CompletableFuture<>();
        try (ServerSocket abort = abortPeer(call -> null, connections);
                ServerSocket peer = silentOnRead(abort.getLocalPort(), readSent)) {
            Vxi11Link link = open(peer);
            IoTimeoutException late = assertThrows(IoTimeoutException.class, () -> link.abort(Duration.ofMillis(200)));
            assertTrue(late.getMessage().contains("did not connect and answer device_abort within 200 ms"),
                    late.getMessage());

            Future<Boolean> read = threads.submit(() -> link.read(ByteBuffer.allocate(10), LONG));
            readSent.get(10, TimeUnit.SECONDS);
            CompletableFuture.runAsync(link::close, threads).get(10, TimeUnit.SECONDS);
            Exception e = assertThrows(Exception.class, () -> read.get(10, TimeUnit.SECONDS));
            ConnectionLostException lost = assertInstanceOf(ConnectionLostException.class, e.getCause());
            assertTrue(lost.getMessage().contains("closed by its owner"), "the primary error: " + lost.getMessage());
            assertTrue(java.util.Arrays.stream(lost.getSuppressed()).anyMatch(IoTimeoutException.class::isInstance),
                    "why it was cut off rather than aborted: " + java.util.Arrays.toString(lost.getSuppressed()));
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (connections.get() < 2 && System.nanoTime() - until < 0) {
                Thread.onSpinWait(); // the peer accepts the second connection in its own time
            }
            assertEquals(2, connections.get(), "a connection that timed out is not used again");
        }
    }

    @Test
    void anAbortPortNobodyListensOnFailsTheAbortAndCloseStillEndsTheCall() throws Exception {
        int unused;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            unused = s.getLocalPort();
        }
        CompletableFuture<Void> readSent = new CompletableFuture<>();
        try (ServerSocket peer = silentOnRead(unused, readSent)) {
            Vxi11Link link = open(peer);
            LabHalException refused = assertThrows(LabHalException.class, () -> link.abort(LONG));
            assertFalse(refused instanceof IoTimeoutException);
            assertTrue(refused.getMessage().contains("device_abort failed on the abort channel at"), refused.getMessage());

            Future<Boolean> read = threads.submit(() -> link.read(ByteBuffer.allocate(10), LONG));
            readSent.get(10, TimeUnit.SECONDS);
            CompletableFuture.runAsync(link::close, threads).get(10, TimeUnit.SECONDS);
            Exception e = assertThrows(Exception.class, () -> read.get(10, TimeUnit.SECONDS));
            assertInstanceOf(ConnectionLostException.class, e.getCause());
        }
    }

    // ---------------------------------------------------------------- the simulator against bad clients

    private static XdrDecoder call(Socket s, XdrEncoder call) throws IOException {
        RecordStream.write(s.getOutputStream(), call);
        XdrDecoder reply = new XdrDecoder(new RecordStream(s.getInputStream(), 1 << 16).read());
        reply.getInt();
        return reply;
    }

    @Test
    void theSimulatorAnswersBadCallsWithTheirRpcStatus() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start();
                Socket s = new Socket(InetAddress.getLoopbackAddress(), server.corePort())) {
            s.setSoTimeout(5000);
            RpcRejectedException proc = assertThrows(RpcRejectedException.class,
                    () -> Rpc.readReply(call(s, Rpc.call(1, Vxi11Protocol.CORE_PROGRAM, 1, 77, 0))));
            assertTrue(proc.getMessage().contains("PROC_UNAVAIL"));
            RpcRejectedException garbage = assertThrows(RpcRejectedException.class, () -> Rpc.readReply(
                    call(s, Rpc.call(2, Vxi11Protocol.CORE_PROGRAM, 1, Vxi11Protocol.CREATE_LINK, 0).putInt(1))));
            assertTrue(garbage.getMessage().contains("GARBAGE_ARGS"));
            RpcRejectedException program = assertThrows(RpcRejectedException.class,
                    () -> Rpc.readReply(call(s, Rpc.call(3, 12345, 1, 0, 0))));
            assertTrue(program.getMessage().contains("PROG_UNAVAIL"));
            RpcRejectedException version = assertThrows(RpcRejectedException.class,
                    () -> Rpc.readReply(call(s, Rpc.call(4, Vxi11Protocol.CORE_PROGRAM, 3, 0, 0))));
            assertTrue(version.getMessage().contains("PROG_MISMATCH"));
            XdrDecoder badLink = call(s, Rpc.call(5, Vxi11Protocol.CORE_PROGRAM, 1, Vxi11Protocol.DEVICE_UNLOCK, 4)
                    .putInt(999));
            Rpc.readReply(badLink);
            assertEquals(4, badLink.getInt(), "invalid link identifier");
        }
    }

    @Test
    void theSimulatorDropsAClientAnnouncingAHugeRecordAndServesTheOthers() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start();
                Socket s = new Socket(InetAddress.getLoopbackAddress(), server.corePort())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF});
            s.getOutputStream().flush();
            assertEquals(-1, s.getInputStream().read(), "the server closed that connection");
            Vxi11Link link = (Vxi11Link) transport.open(ResourceAddress.parse(server.resource()), LONG);
            assertEquals("fine", Steps.query(link, "SIM:ECHO? fine"));
        }
    }
}
