package org.labhal.transport.vxi11.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.transport.vxi11.internal.ScriptedPeer.reply;
import static org.labhal.transport.vxi11.internal.Steps.LONG;
import static org.labhal.transport.vxi11.internal.Steps.read;
import static org.labhal.transport.vxi11.internal.Steps.write;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.transport.Connection;
import org.labhal.transport.vxi11.Vxi11Exception;
import org.labhal.transport.vxi11.Vxi11Link;
import org.labhal.transport.vxi11.sim.Vxi11SimServer;

/**
 * A query's device_read goes out with its device_write ({@code writeQuery}), and the core channel
 * stays in step whatever comes between the query and its read.
 */
class Vxi11ReadAheadTest {
    private static final Duration SHORT = Duration.ofMillis(300);

    private final Vxi11TransportFactory transport = new Vxi11TransportFactory();

    @AfterEach
    void stop() {
        transport.deactivate();
    }

    private Vxi11Link open(String resource) throws LabHalException {
        return (Vxi11Link) transport.open(ResourceAddress.parse(resource), LONG);
    }

    private static Vxi11Link open(Vxi11TransportFactory transport, ScriptedPeer peer, String options)
            throws LabHalException {
        return (Vxi11Link) transport.open(ResourceAddress.parse("TCPIP::127.0.0.1::inst0::INSTR?port=" + peer.port()
                + options), LONG);
    }

    private static void writeQuery(Connection c, String text, Duration timeout) throws LabHalException {
        c.writeQuery(ByteBuffer.wrap(text.getBytes(StandardCharsets.ISO_8859_1)), timeout);
    }

    private static String query(Connection c, String text) throws LabHalException {
        writeQuery(c, text, LONG);
        return read(c, 4096, LONG);
    }

    private static void answerWrite(Rpc.Call call, int error, int size, OutputStream out) throws IOException {
        reply(out, Rpc.accepted(call.xid(), 0, 8).putInt(error).putInt(size));
    }

    private static void answerRead(Rpc.Call call, int error, String data, OutputStream out) throws IOException {
        byte[] bytes = data.getBytes(StandardCharsets.ISO_8859_1);
        reply(out, Rpc.accepted(call.xid(), 0, 12 + bytes.length + 3).putInt(error)
                .putInt(Vxi11Protocol.REASON_END).putOpaque(bytes, 0, bytes.length));
    }

    @Test
    void theDeviceReadGoesOutBeforeTheDeviceWriteIsAnswered() throws Exception {
        // This instrument answers a device_write only once the device_read behind it has arrived: a
        // client that waits for the write's reply before it asks for the answer never gets either.
        Rpc.Call[] heldWrite = new Rpc.Call[1];
        ScriptedPeer.Script script = (call, args, out) -> {
            if (call.procedure() == Vxi11Protocol.DEVICE_WRITE) {
                heldWrite[0] = call;
            } else if (call.procedure() == Vxi11Protocol.DEVICE_READ && heldWrite[0] != null) {
                answerWrite(heldWrite[0], 0, 6, out);
                heldWrite[0] = null;
                answerRead(call, 0, "answer\n", out);
            }
        };
        try (ScriptedPeer peer = ScriptedPeer.start(1024, script)) {
            try (Vxi11Link link = open(transport, peer, "")) {
                assertEquals("answer", query(link, "QUERY?"));
                assertEquals("answer", query(link, "QUERY?"), "and again, in step");
            }
            try (Vxi11Link link = open(transport, peer, "&read_ahead=off")) {
                LabHalException failed = assertThrows(LabHalException.class, () -> writeQuery(link, "QUERY?", SHORT));
                assertTrue(failed instanceof IoTimeoutException || failed instanceof ConnectionLostException,
                        "without read-ahead the write waits for its reply: " + failed);
            }
            assertEquals(List.of(Vxi11Protocol.DEVICE_WRITE, Vxi11Protocol.DEVICE_READ, Vxi11Protocol.DEVICE_WRITE,
                    Vxi11Protocol.DEVICE_READ), peer.procedures().subList(0, 4));
        }
    }

    @Test
    void theAnswerOfAQueryNobodyReadIsDroppedBeforeTheNextMessage() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start();
                Vxi11Link link = open(server.resource())) {
            writeQuery(link, "SIM:ECHO? first", LONG);
            assertEquals("second", query(link, "SIM:ECHO? second"), "a query after an unread one");
            writeQuery(link, "SIM:ECHO? third", LONG);
            write(link, "*CLS");
            assertEquals("fourth", query(link, "SIM:ECHO? fourth"), "a command after an unread query");
            writeQuery(link, "SIM:ECHO? fifth", LONG);
            link.clear(LONG);
            assertEquals("sixth", query(link, "SIM:ECHO? sixth"), "a device_clear after an unread query");
        }
    }

    @Test
    void anotherCallBetweenAQueryAndItsReadKeepsTheAnswerForTheRead() throws Exception {
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start();
                Vxi11Link link = open(server.resource())) {
            writeQuery(link, "SIM:ECHO? mine", LONG);
            link.readStatusByte(LONG);
            link.trigger(LONG);
            assertEquals("mine", read(link, 4096, LONG));
            assertEquals("next", query(link, "SIM:ECHO? next"));
        }
    }

    @Test
    void anAnswerLongerThanTheReadersBufferComesWholeInPieces() throws Exception {
        String token = "z".repeat(1000);
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").start();
                Vxi11Link link = open(server.resource())) {
            writeQuery(link, "SIM:ECHO? " + token, LONG);
            assertEquals(token, read(link, 7, LONG), "ended once, at its last byte");
            assertEquals("after", query(link, "SIM:ECHO? after"));
        }
    }

    @Test
    void aQueryLongerThanOneDeviceWriteStillGetsItsAnswer() throws Exception {
        String token = "q".repeat(3000);
        try (Vxi11SimServer server = Vxi11SimServer.builder("SMW200A").maxReceiveSize(1024).start();
                Vxi11Link link = open(server.resource())) {
            assertEquals(token, query(link, "SIM:ECHO? " + token), "three device_writes, then a device_read");
            assertEquals("short", query(link, "SIM:ECHO? short"));
        }
    }

    @Test
    void errorElevenOnTheWriteFailsItsReadAheadToo() throws Exception {
        AtomicInteger round = new AtomicInteger();
        ScriptedPeer.Script script = (call, args, out) -> {
            boolean locked = round.get() == 0;
            if (call.procedure() == Vxi11Protocol.DEVICE_WRITE) {
                answerWrite(call, locked ? Vxi11Protocol.ERR_LOCKED : 0, locked ? 0 : 6, out);
            } else if (call.procedure() == Vxi11Protocol.DEVICE_READ) {
                round.incrementAndGet();
                if (locked) {
                    reply(out, Rpc.accepted(call.xid(), 0, 12).putInt(Vxi11Protocol.ERR_LOCKED).putInt(0).putInt(0));
                } else {
                    answerRead(call, 0, "answer\n", out);
                }
            }
        };
        try (ScriptedPeer peer = ScriptedPeer.start(1024, script); Vxi11Link link = open(transport, peer, "")) {
            Vxi11Exception locked = assertThrows(Vxi11Exception.class, () -> writeQuery(link, "QUERY?", LONG));
            assertEquals(Vxi11Protocol.ERR_LOCKED, locked.code());
            assertTrue(link.isOpen(), "the read-ahead failed too and its reply was taken: the link is in step");
            assertEquals("answer", query(link, "QUERY?"), "the next query gets its own answer");
        }
    }

    @Test
    void anyOtherWriteErrorClosesTheLinkSinceTheReadAheadWouldHoldIt() throws Exception {
        ScriptedPeer.Script script = (call, args, out) -> {
            if (call.procedure() == Vxi11Protocol.DEVICE_WRITE) {
                answerWrite(call, Vxi11Protocol.ERR_IO, 0, out);
            } // the device_read behind it waits for an answer that never comes: no reply
        };
        try (ScriptedPeer peer = ScriptedPeer.start(1024, script); Vxi11Link link = open(transport, peer, "")) {
            ConnectionLostException lost = assertThrows(ConnectionLostException.class,
                    () -> writeQuery(link, "QUERY?", LONG));
            assertTrue(lost.getMessage().contains("error 17"), lost.getMessage());
            assertFalse(link.isOpen());
        }
    }

    @Test
    void anErrorInTheReadAheadsReplyIsTheReadsFailureAndTheLinkStaysInStep() throws Exception {
        AtomicInteger reads = new AtomicInteger();
        ScriptedPeer.Script script = (call, args, out) -> {
            if (call.procedure() == Vxi11Protocol.DEVICE_WRITE) {
                answerWrite(call, 0, 6, out);
            } else if (call.procedure() == Vxi11Protocol.DEVICE_READ) {
                if (reads.getAndIncrement() == 0) {
                    reply(out, Rpc.accepted(call.xid(), 0, 12).putInt(Vxi11Protocol.ERR_IO_TIMEOUT).putInt(0)
                            .putInt(0));
                } else {
                    answerRead(call, 0, "answer\n", out);
                }
            }
        };
        try (ScriptedPeer peer = ScriptedPeer.start(1024, script); Vxi11Link link = open(transport, peer, "")) {
            writeQuery(link, "QUERY?", LONG);
            assertInstanceOf(IoTimeoutException.class, assertThrows(LabHalException.class,
                    () -> read(link, 4096, LONG)));
            assertTrue(link.isOpen());
            assertEquals("answer", query(link, "QUERY?"));
        }
    }

    @Test
    void aReadInterruptedBeforeItBeganEndsTheReadAheadOutstandingInsteadOfLeavingItOnTheCoreChannel() throws Exception {
        // The device_read went out with the query and is never answered. A read that sees the
        // interrupt flag before waiting for it must not say "nothing was sent; the link stays open": a
        // device_clear to resynchronise would then wait behind that read until its timeout.
        ScriptedPeer.Script script = (call, args, out) -> {
            if (call.procedure() == Vxi11Protocol.DEVICE_WRITE) {
                answerWrite(call, 0, 6, out);
            }
        };
        try (ScriptedPeer peer = ScriptedPeer.start(1024, script); Vxi11Link link = open(transport, peer, "")) {
            writeQuery(link, "QUERY?", LONG);
            Thread.currentThread().interrupt();
            StepInterruptedException e;
            try {
                e = assertThrows(StepInterruptedException.class, () -> read(link, 4096, LONG));
                assertTrue(Thread.currentThread().isInterrupted(), "the interrupt status stays set");
            } finally {
                Thread.interrupted();
            }
            assertTrue(e.getMessage().contains("interrupted during device_read; the call was aborted and the link "
                    + "closed"), e.getMessage());
            assertFalse(link.isOpen(), "the unanswered device_read held the core channel: the link is closed");
            assertEquals(List.of(Vxi11Protocol.DEVICE_WRITE, Vxi11Protocol.DEVICE_READ), peer.procedures(2),
                    "no destroy_link queued behind the unanswered call");
        }
    }
}
