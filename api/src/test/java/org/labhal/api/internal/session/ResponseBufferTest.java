package org.labhal.api.internal.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.labhal.api.LabHalException;

/** In-memory responses grow with what arrives, never with what a header announces. */
class ResponseBufferTest {

    @Test
    void anAnnouncedLengthAllocatesNothingBeforeTheBytesArrive() throws Exception {
        ResponseBuffer buffer = new ResponseBuffer("R");
        buffer.expect(999_999_999L);
        buffer.accept(new byte[] {1, 2, 3}, 0, 3);
        assertTrue(buffer.array().length <= 8192, "allocated " + buffer.array().length);
        assertArrayEquals(new byte[] {1, 2, 3}, buffer.toByteArray());
    }

    @Test
    void aBlockThatArrivesInFullEndsInAnArrayOfItsSizeWithoutAFinalCopy() throws Exception {
        ResponseBuffer buffer = new ResponseBuffer("R");
        buffer.expect(100_000);
        byte[] piece = new byte[30_000];
        for (int i = 0; i < 3; i++) {
            buffer.accept(piece, 0, piece.length);
        }
        buffer.accept(piece, 0, 10_000);
        assertEquals(100_000, buffer.array().length);
        assertSame(buffer.array(), buffer.toByteArray());
    }

    @Test
    void refusesToGrowPastItsLimitNamingTheResource() throws Exception {
        ResponseBuffer buffer = new ResponseBuffer("TCPIP0::scope::5025::SOCKET#1", 100);
        buffer.accept(new byte[60], 0, 60);
        LabHalException e = assertThrows(LabHalException.class, () -> buffer.accept(new byte[60], 0, 60));
        assertTrue(e.getMessage().startsWith("TCPIP0::scope::5025::SOCKET#1: the answer exceeds 100 bytes"),
                e.getMessage());
        assertEquals(60, buffer.size());
    }
}
