package org.labhal.transport.vxi11.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * The VXI-11 ONC-RPC codec: record marking ({@link RecordStream}), RPC headers ({@link Rpc}) and XDR
 * items ({@link XdrDecoder}) on bytes from a hostile peer, as a client reads device_read replies and
 * as the simulator reads device_write and create_link calls. Only {@link XdrException},
 * {@link EOFException} and {@link RpcRejectedException} escape; no record passes its limit, no item
 * is longer than its caller allows, decoded items encode back to themselves, and a stream always ends
 * (every record consumes bytes).
 *
 * <p>Input: byte 0 chooses the side (bit 0) and the room the client has for device_read data (bits
 * 1-7, 1 to 128 bytes); the rest is the TCP stream.
 */
class Vxi11RecordFuzzTest {
    /** A small record limit, so that the limit is reached by inputs the fuzzer can write. */
    private static final int MAX_RECORD = 4096;
    private static final int MAX_WRITE = 2048;

    @FuzzTest(maxDuration = "10s")
    void stream(byte[] input) throws IOException {
        int flags = input.length > 0 ? input[0] & 0xff : 0;
        boolean client = (flags & 1) == 0;
        int room = 1 + (flags >> 1);
        ByteArrayInputStream in = new ByteArrayInputStream(input, Math.min(1, input.length), input.length);
        RecordStream records = new RecordStream(in, MAX_RECORD);
        int count = 0;
        while (true) {
            byte[] record;
            try {
                record = records.read();
            } catch (EOFException | XdrException end) {
                return;
            }
            assertTrue(record.length <= MAX_RECORD, "a record of " + record.length + " bytes");
            // Each record takes at least its 4-byte header (the stream reads ahead, so count records)
            assertTrue(++count <= input.length / 4, "record " + count + " from " + input.length + " bytes");
            try {
                if (client) {
                    deviceReadReply(record, room);
                } else {
                    call(record);
                }
            } catch (XdrException | RpcRejectedException expected) {
                // a malformed or refused message, named as such
            } catch (RuntimeException wrong) {
                fail("decoding " + Arrays.toString(record) + " threw " + wrong, wrong);
            }
        }
    }

    /** What Vxi11Connection.read does with a reply record. */
    private static void deviceReadReply(byte[] record, int room) throws XdrException, RpcRejectedException {
        XdrDecoder reply = new XdrDecoder(record);
        reply.getInt(); // xid
        Rpc.readReply(reply);
        int error = reply.getInt();
        int reason = reply.getInt();
        ByteBuffer into = ByteBuffer.allocate(room + 16);
        into.position(8);
        ByteBuffer window = into.duplicate();
        window.limit(window.position() + room);
        int n = reply.getOpaqueInto(window);
        assertTrue(n >= 0 && n <= room, n + " bytes into a window of " + room);
        assertEquals(8 + n, window.position());
        XdrDecoder again = new XdrDecoder(new XdrEncoder(16 + n).putInt(error).putInt(reason)
                .putOpaque(Arrays.copyOfRange(into.array(), 8, 8 + n), 0, n).toByteArray());
        assertEquals(error, again.getInt());
        assertEquals(reason, again.getInt());
        assertArrayEquals(Arrays.copyOfRange(into.array(), 8, 8 + n), again.getOpaque(n));
        assertEquals(0, again.remaining());
    }

    /** What the simulator does with a call record: the header, then device_write or create_link parameters. */
    private static void call(byte[] record) throws XdrException {
        XdrDecoder decoder = new XdrDecoder(record);
        Rpc.Call call = Rpc.readCall(decoder);
        if (call.procedure() == Vxi11Protocol.CREATE_LINK) {
            int clientId = decoder.getInt();
            boolean lockDevice = decoder.getBool();
            long lockTimeout = decoder.getUnsignedInt();
            String device = decoder.getString(Vxi11Protocol.MAX_DEVICE_NAME);
            assertTrue(device.length() <= Vxi11Protocol.MAX_DEVICE_NAME);
            XdrDecoder again = new XdrDecoder(new XdrEncoder(16).putInt(clientId).putBool(lockDevice)
                    .putUnsignedInt(lockTimeout).putString(device).toByteArray());
            assertEquals(clientId, again.getInt());
            assertEquals(lockDevice, again.getBool());
            assertEquals(lockTimeout, again.getUnsignedInt());
            assertEquals(device, again.getString(Vxi11Protocol.MAX_DEVICE_NAME));
        } else {
            int link = decoder.getInt();
            long ioTimeout = decoder.getUnsignedInt();
            long lockTimeout = decoder.getUnsignedInt();
            int flags = decoder.getInt();
            byte[] data = decoder.getOpaque(MAX_WRITE);
            assertTrue(data.length <= MAX_WRITE);
            XdrDecoder again = new XdrDecoder(new XdrEncoder(16).putInt(link).putUnsignedInt(ioTimeout)
                    .putUnsignedInt(lockTimeout).putInt(flags).putOpaque(data, 0, data.length).toByteArray());
            assertEquals(link, again.getInt());
            assertEquals(ioTimeout, again.getUnsignedInt());
            assertEquals(lockTimeout, again.getUnsignedInt());
            assertEquals(flags, again.getInt());
            assertArrayEquals(data, again.getOpaque(MAX_WRITE));
            assertEquals(0, again.remaining());
        }
        assertTrue(decoder.remaining() >= 0);
    }
}
