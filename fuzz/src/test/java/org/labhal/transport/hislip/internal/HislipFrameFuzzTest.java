package org.labhal.transport.hislip.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;

import org.labhal.transport.hislip.HislipProtocolException;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * HiSLIP framing: a byte stream from a hostile peer is cut into messages by {@link Header#decode} as
 * {@link FrameChannel} does. A header fails only with {@link HislipProtocolException} (wrong
 * prologue, unknown type, payload beyond the limit of its type), a decoded header encodes back to the
 * very 16 bytes it came from, and no payload it admits is longer than the negotiated maximum for data
 * or {@link Header#CONTROL_PAYLOAD_LIMIT} for anything else, so nothing is ever allocated by an
 * announced length beyond those limits.
 *
 * <p>Input: byte 0 chooses the negotiated maximum data payload (a power of two, 2^0 to 2^31); the
 * rest is the stream.
 */
class HislipFrameFuzzTest {

    @FuzzTest(maxDuration = "10s")
    void stream(byte[] input) {
        long maxData = 1L << ((input.length > 0 ? input[0] & 0xff : 0) % 32);
        ByteBuffer stream = ByteBuffer.wrap(input, Math.min(1, input.length), Math.max(0, input.length - 1)).slice();
        while (stream.remaining() >= Header.SIZE) {
            int start = stream.position();
            Header header;
            try {
                header = Header.decode(stream, maxData);
            } catch (HislipProtocolException e) {
                assertEquals(start + Header.SIZE, stream.position(), "a refused header was not consumed whole");
                return; // the link is out of step and closed
            }
            assertEquals(start + Header.SIZE, stream.position());
            assertArrayEquals(Arrays.copyOfRange(input, 1 + start, 1 + start + Header.SIZE),
                    header.encode().array(), "the header does not encode back to its bytes");
            long limit = header.type().carriesData() ? maxData : Math.min(maxData, Header.CONTROL_PAYLOAD_LIMIT);
            assertTrue(header.length() >= 0 && header.length() <= limit,
                    header + " passed with a payload above " + limit);
            if (header.length() > stream.remaining()) {
                return; // the peer stopped inside a payload: the read would time out
            }
            stream.position(stream.position() + (int) header.length());
        }
    }
}
