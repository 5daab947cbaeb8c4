package org.labhal.transport.vxi11.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

/** XDR items, record marking and RPC headers: round trips, and every malformed input a specific error. */
class XdrCodecTest {

    private static XdrDecoder decoder(int... words) {
        ByteBuffer b = ByteBuffer.allocate(words.length * 4);
        for (int w : words) {
            b.putInt(w);
        }
        return new XdrDecoder(b.array());
    }

    @Test
    void itemsRoundTripBigEndianWithPadding() throws Exception {
        XdrEncoder e = new XdrEncoder(0).putInt(-2).putUnsignedInt(0xFFFF_FFFEL).putBool(true).putString("inst0")
                .putOpaque(new byte[] {1, 2, 3, 4}, 0, 4).putOpaque(ByteBuffer.wrap(new byte[0]));
        byte[] bytes = e.toByteArray();
        assertEquals(4 + 4 + 4 + (4 + 8) + (4 + 4) + 4, bytes.length, "strings padded to four bytes");
        assertEquals(0, bytes[4 * 3 + 4 + 5], "padding is zero");
        XdrDecoder d = new XdrDecoder(bytes);
        assertEquals(-2, d.getInt());
        assertEquals(0xFFFF_FFFEL, d.getUnsignedInt());
        assertTrue(d.getBool());
        assertEquals("inst0", d.getString(10));
        assertArrayEquals(new byte[] {1, 2, 3, 4}, d.getOpaque(4));
        assertEquals(0, d.getOpaque(0).length);
        assertEquals(0, d.remaining());
        assertArrayEquals(new byte[] {0, 0, 0, 5}, new XdrEncoder(0).putInt(5).toByteArray(), "big-endian");
    }

    @Test
    void opaqueIntoABufferStopsAtItsRoom() throws Exception {
        byte[] bytes = new XdrEncoder(0).putString("hello").toByteArray();
        ByteBuffer room = ByteBuffer.allocate(5);
        assertEquals(5, new XdrDecoder(bytes).getOpaqueInto(room));
        assertEquals("hello", new String(room.array(), StandardCharsets.US_ASCII));
        XdrException e = assertThrows(XdrException.class, () -> new XdrDecoder(bytes).getOpaqueInto(ByteBuffer.allocate(4)));
        assertTrue(e.getMessage().contains("exceeds the limit of 4"), e.getMessage());
    }

    @Test
    void aNegativeOrHugeLengthIsRejectedBeforeAllocating() {
        XdrException negative = assertThrows(XdrException.class, () -> decoder(-1).getOpaque(1 << 20));
        assertTrue(negative.getMessage().contains("4294967295 bytes exceeds") && negative.getMessage().contains("negative"),
                negative.getMessage());
        XdrException huge = assertThrows(XdrException.class, () -> decoder(Integer.MAX_VALUE).getString(Integer.MAX_VALUE));
        assertTrue(huge.getMessage().startsWith("truncated"), huge.getMessage());
        assertThrows(XdrException.class, () -> decoder(0x7FFF_FFFF).skipOpaque(400));
    }

    @Test
    void truncatedItemsAndBadBoolsAreSpecific() {
        assertTrue(assertThrows(XdrException.class, () -> new XdrDecoder(new byte[3]).getInt()).getMessage()
                .contains("an int needs 4 bytes, 3 left"));
        assertThrows(XdrException.class, () -> decoder(5, 0x41424344).getOpaque(100), "5 bytes need 8 with padding");
        assertTrue(assertThrows(XdrException.class, () -> decoder(2).getBool()).getMessage().contains("must be 0 or 1"));
    }

    @Test
    void recordsRoundTripAndJoinFragments() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        RecordStream.write(out, new XdrEncoder(0).putInt(7).putString("abc"));
        byte[] wire = out.toByteArray();
        assertEquals(0x80, wire[0] & 0xFF, "one last fragment");
        assertEquals(12, wire[3]);
        XdrDecoder d = new XdrDecoder(new RecordStream(new ByteArrayInputStream(wire), 100).read());
        assertEquals(7, d.getInt());
        assertEquals("abc", d.getString(3));

        byte[] fragmented = {0, 0, 0, 2, 'a', 'b', 0, 0, 0, 0, (byte) 0x80, 0, 0, 1, 'c'};
        assertArrayEquals("abc".getBytes(StandardCharsets.US_ASCII),
                new RecordStream(new ByteArrayInputStream(fragmented), 3).read());
        XdrException over = assertThrows(XdrException.class,
                () -> new RecordStream(new ByteArrayInputStream(fragmented), 2).read());
        assertTrue(over.getMessage().contains("after 2 bytes exceeds the record limit of 2"), over.getMessage());
    }

    @Test
    void aHugeRecordHeaderIsRejectedWithoutReadingOrAllocating() {
        // 0xFFFFFFFF: last fragment, 2^31-1 bytes; no data follows, and none is waited for
        InputStream wire = new ByteArrayInputStream(new byte[] {-1, -1, -1, -1});
        XdrException e = assertThrows(XdrException.class, () -> new RecordStream(wire, 1 << 20).read());
        assertTrue(e.getMessage().contains("2147483647 bytes"), e.getMessage());
    }

    @Test
    void truncationIsAnEofThatSaysWhere() throws IOException {
        RecordStream cut = new RecordStream(new ByteArrayInputStream(new byte[] {(byte) 0x80, 0, 0, 8, 1, 2}), 100);
        EOFException e = assertThrows(EOFException.class, cut::read);
        assertTrue(e.getMessage().contains("middle of an RPC record (2 of 8"), e.getMessage());
        assertTrue(cut.midRecord());
        RecordStream header = new RecordStream(new ByteArrayInputStream(new byte[] {(byte) 0x80, 0}), 100);
        assertTrue(assertThrows(EOFException.class, header::read).getMessage().contains("record header"));
        RecordStream clean = new RecordStream(new ByteArrayInputStream(new byte[0]), 100);
        assertEquals("the peer closed the connection", assertThrows(EOFException.class, clean::read).getMessage());
        assertFalse(clean.midRecord());
    }

    /** Delivers its bytes in pieces of at most {@code piece} per read, then times out (like a socket). */
    private static InputStream pieces(byte[] bytes, int piece) {
        return new InputStream() {
            private int at;

            @Override
            public int read() {
                throw new AssertionError("RecordStream reads in blocks");
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (at == bytes.length) {
                    throw new java.net.SocketTimeoutException("nothing more");
                }
                int n = Math.min(Math.min(len, piece), bytes.length - at);
                System.arraycopy(bytes, at, b, off, n);
                at += n;
                return n;
            }
        };
    }

    @Test
    void recordsAreFramedExactlyHoweverTheStreamIsCutIntoReads() throws Exception {
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        byte[] big = new byte[3 * RecordStream.BUFFER + 5]; // longer than what one read brings ahead
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) i;
        }
        List<byte[]> sent = List.of(new byte[] {1, 2, 3}, new byte[0], big, new byte[] {9});
        for (byte[] record : sent) {
            XdrEncoder message = new XdrEncoder(record.length);
            for (byte b : record) {
                message.putInt(b);
            }
            RecordStream.write(wire, message);
        }
        wire.write(new byte[] {0, 0, 0, 1, 7, (byte) 0x80, 0, 0, 1, 8}); // one record in two fragments
        byte[] bytes = wire.toByteArray();
        for (int piece : new int[] {1, 2, 3, 5, 7, 4096, bytes.length}) {
            RecordStream records = new RecordStream(pieces(bytes, piece), 1 << 20);
            for (byte[] record : sent) {
                XdrDecoder d = new XdrDecoder(records.read());
                for (byte b : record) {
                    assertEquals(b, d.getInt(), "pieces of " + piece);
                }
                assertEquals(0, d.remaining(), "pieces of " + piece);
            }
            assertArrayEquals(new byte[] {7, 8}, records.read(), "pieces of " + piece);
            assertThrows(java.net.SocketTimeoutException.class, records::read, "pieces of " + piece);
            assertFalse(records.midRecord(), "nothing of a next record had come: in step, pieces of " + piece);
        }
    }

    @Test
    void aTimeoutAfterPartOfAHeaderLeavesTheStreamOutOfStep() throws Exception {
        RecordStream records = new RecordStream(pieces(new byte[] {(byte) 0x80, 0, 0, 1, 5, (byte) 0x80, 0}, 3),
                100);
        assertArrayEquals(new byte[] {5}, records.read());
        assertThrows(java.net.SocketTimeoutException.class, records::read);
        assertTrue(records.midRecord(), "two bytes of the next header were read");
    }

    @Test
    void endlessEmptyFragmentsEndWithAnError() {
        byte[] zeros = new byte[4 * (RecordStream.MAX_FRAGMENTS + 1)];
        XdrException e = assertThrows(XdrException.class,
                () -> new RecordStream(new ByteArrayInputStream(zeros), 100).read());
        assertTrue(e.getMessage().contains("more than 1024 fragments"), e.getMessage());
    }

    @Test
    void callHeadersRoundTripAndSkipAnyCredentials() throws Exception {
        XdrEncoder call = Rpc.call(42, Vxi11Protocol.CORE_PROGRAM, 1, Vxi11Protocol.DEVICE_READ, 0).putInt(99);
        XdrDecoder d = new XdrDecoder(call.toByteArray());
        assertEquals(new Rpc.Call(42, 2, 0x0607AF, 1, 12), Rpc.readCall(d));
        assertEquals(99, d.getInt());
        // AUTH_UNIX credentials with a body of 8 bytes are skipped
        XdrDecoder unix = decoder(1, 0, 2, 100000, 2, 3, 1, 8, 0, 0, 0, 0, 7);
        assertEquals(3, Rpc.readCall(unix).procedure());
        assertEquals(7, unix.getInt());
        assertTrue(assertThrows(XdrException.class, () -> Rpc.readCall(decoder(1, 1))).getMessage()
                .contains("expected an RPC call"));
        assertThrows(XdrException.class, () -> Rpc.readCall(decoder(1, 0, 2, 100000, 2, 3, 1, 401)),
                "credential body over 400 bytes");
    }

    @Test
    void repliesAndEveryRejectionAreRecognised() throws Exception {
        XdrDecoder ok = new XdrDecoder(Rpc.accepted(5, Rpc.SUCCESS, 4).putInt(123).toByteArray());
        assertEquals(5, ok.getInt());
        Rpc.readReply(ok);
        assertEquals(123, ok.getInt());
        assertRejected(Rpc.accepted(1, Rpc.PROC_UNAVAIL, 0), "PROC_UNAVAIL");
        assertRejected(Rpc.accepted(1, Rpc.PROG_UNAVAIL, 0), "PROG_UNAVAIL");
        assertRejected(Rpc.accepted(1, Rpc.GARBAGE_ARGS, 0), "GARBAGE_ARGS");
        assertRejected(Rpc.accepted(1, Rpc.SYSTEM_ERR, 0), "SYSTEM_ERR");
        assertRejected(Rpc.programMismatch(1, 1, 1), "versions 1 to 1");
        assertRejected(Rpc.rpcMismatch(1), "RPC_MISMATCH");
        assertRejected(new XdrEncoder(0).putInt(1).putInt(1).putInt(1).putInt(1).putInt(5), "AUTH_ERROR 5");
        XdrDecoder unknown = decoder(1, 1, 0, 0, 0, 9);
        unknown.getInt();
        assertTrue(assertThrows(XdrException.class, () -> Rpc.readReply(unknown)).getMessage()
                .contains("unknown RPC accept status 9"));
        XdrDecoder notReply = decoder(1, 0);
        notReply.getInt();
        assertThrows(XdrException.class, () -> Rpc.readReply(notReply));
    }

    private static void assertRejected(XdrEncoder reply, String expected) throws XdrException {
        XdrDecoder d = new XdrDecoder(reply.toByteArray());
        d.getInt();
        RpcRejectedException e = assertThrows(RpcRejectedException.class, () -> Rpc.readReply(d));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
