package org.labhal.transport.hislip.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;

import org.junit.jupiter.api.Test;
import org.labhal.transport.hislip.HislipProtocolException;

class HeaderTest {

    @Test
    void everyTypeRoundTrips() throws Exception {
        for (MessageType type : MessageType.values()) {
            Header h = new Header(type, 0xAB, 0xFFFFFF02, type.carriesData() ? 1_000_000 : 12);
            ByteBuffer wire = h.encode();
            assertEquals(16, wire.remaining());
            assertEquals('H', wire.get(0));
            assertEquals('S', wire.get(1));
            assertEquals(type.ordinal(), wire.get(2));
            assertEquals(h, Header.decode(wire, 1 << 20));
            assertEquals(0, wire.remaining());
        }
    }

    @Test
    void fieldsAreBigEndianAndUnsigned() throws Exception {
        byte[] raw = {'H', 'S', 7, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0, 0, 0, 0, 0, 0, 1, 2};
        Header h = Header.decode(ByteBuffer.wrap(raw), 1 << 20);
        assertEquals(MessageType.DATA_END, h.type());
        assertEquals(255, h.control());
        assertEquals(0xFFFFFFFFL, h.unsignedParameter());
        assertEquals(258, h.length());
    }

    /** The wire is big-endian whatever the order of the buffer a header is decoded from (a direct one, say). */
    @Test
    void decodingIgnoresTheBuffersByteOrderAndReadsInPlace() throws Exception {
        byte[] raw = {'x', 'H', 'S', 6, 1, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0x10, 0x01};
        for (ByteBuffer b : new ByteBuffer[] {ByteBuffer.wrap(raw), ByteBuffer.allocateDirect(raw.length).put(raw).flip()}) {
            b.order(java.nio.ByteOrder.LITTLE_ENDIAN).position(1);
            Header h = Header.decode(b, 1 << 20);
            assertEquals(new Header(MessageType.DATA, 1, 0xFFFFFF02, 0x1001), h);
            assertEquals(17, b.position());
        }
    }

    @Test
    void wrongPrologueIsRejected() {
        byte[] raw = new Header(MessageType.DATA, 0, 0, 0).encode().array();
        raw[1] = 'X';
        HislipProtocolException e = assertThrows(HislipProtocolException.class,
                () -> Header.decode(ByteBuffer.wrap(raw), 100));
        assertTrue(e.getMessage().contains("prologue"), e.getMessage());
    }

    @Test
    void unknownTypeIsRejected() {
        byte[] raw = new Header(MessageType.DATA, 0, 0, 0).encode().array();
        raw[2] = 26;
        HislipProtocolException e = assertThrows(HislipProtocolException.class,
                () -> Header.decode(ByteBuffer.wrap(raw), 100));
        assertTrue(e.getMessage().contains("unknown HiSLIP message type 26"), e.getMessage());
        raw[2] = (byte) 200;
        assertThrows(HislipProtocolException.class, () -> Header.decode(ByteBuffer.wrap(raw), 100));
    }

    @Test
    void lengthsBeyondTheMaximumAreRejectedWithoutAllocating() {
        ByteBuffer huge = ByteBuffer.allocate(16).put(new Header(MessageType.DATA, 0, 0, 0).encode());
        huge.putLong(8, Long.MAX_VALUE);
        HislipProtocolException e = assertThrows(HislipProtocolException.class,
                () -> Header.decode(huge.rewind(), 1 << 20));
        assertTrue(e.getMessage().contains("9223372036854775807 bytes"), e.getMessage());

        ByteBuffer negative = ByteBuffer.allocate(16).put(new Header(MessageType.DATA_END, 0, 0, 0).encode());
        negative.putLong(8, -1);
        e = assertThrows(HislipProtocolException.class, () -> Header.decode(negative.rewind(), 1 << 20));
        assertTrue(e.getMessage().contains("18446744073709551615"), e.getMessage());

        ByteBuffer justOver = new Header(MessageType.DATA, 0, 0, 1001).encode();
        assertThrows(HislipProtocolException.class, () -> Header.decode(justOver, 1000));
    }

    @Test
    void controlMessagesHaveASmallLimitWhateverTheDataMaximum() throws Exception {
        ByteBuffer error = new Header(MessageType.FATAL_ERROR, 1, 0, Header.CONTROL_PAYLOAD_LIMIT + 1).encode();
        assertThrows(HislipProtocolException.class, () -> Header.decode(error, 1L << 30));
        ByteBuffer ok = new Header(MessageType.FATAL_ERROR, 1, 0, Header.CONTROL_PAYLOAD_LIMIT).encode();
        assertEquals(Header.CONTROL_PAYLOAD_LIMIT, Header.decode(ok, 1L << 30).length());
    }

    @Test
    void truncatedHeaderIsNotDecoded() {
        ByteBuffer shortOne = ByteBuffer.wrap(new byte[] {'H', 'S', 6, 0, 0, 0, 0, 0});
        assertThrows(BufferUnderflowException.class, () -> Header.decode(shortOne, 100));
    }

    @Test
    void badFieldsCannotBeEncoded() {
        assertThrows(IllegalArgumentException.class, () -> new Header(MessageType.DATA, 256, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new Header(MessageType.DATA, 0, 0, -1));
    }
}
