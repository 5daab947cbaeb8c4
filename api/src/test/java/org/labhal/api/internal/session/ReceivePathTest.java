package org.labhal.api.internal.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.labhal.api.Session;
import org.labhal.api.internal.session.ScriptedConnection.Framing;

/**
 * The receive path reads every answer into one chunk per connection and decodes a short answer
 * straight from it ({@code DefaultSession.receive}): what a caller gets must never be that chunk, and
 * answers shorter than, as long as, and longer than one chunk must arrive whole, in one read or in
 * many.
 */
class ReceivePathTest {
    private static final int CHUNK = Channel.RECEIVE_CHUNK;

    @ParameterizedTest
    @EnumSource(Framing.class)
    void answersOfQueryBytesAreTheirOwnArrays(Framing framing) throws Exception {
        ScriptedConnection connection = new ScriptedConnection(framing).then("first\n").then("2nd\n")
                .then("third\n");
        try (Session session = connection.open()) {
            byte[] first = session.queryBytes("A?");
            byte[] second = session.queryBytes("B?");
            assertArrayEquals(bytes("first\n"), first, "the first answer survives the second query");
            assertArrayEquals(bytes("2nd\n"), second);
            Arrays.fill(second, (byte) 'x');
            assertEquals("third", session.query("C?"), "changing an answer changes nothing else");
            assertArrayEquals(bytes("first\n"), first);
            assertNotSame(first, second);
        }
    }

    @ParameterizedTest
    @EnumSource(Framing.class)
    void answersAroundTheChunkSizeArriveWhole(Framing framing) throws Exception {
        for (int length : new int[] {0, 1, CHUNK - 2, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5}) {
            for (int piece : new int[] {7, CHUNK, Integer.MAX_VALUE}) {
                String text = text(length);
                ScriptedConnection connection = new ScriptedConnection(framing).pieces(piece).then(text + "\r\n")
                        .then(text + "\n").then("NEXT\n");
                try (Session session = connection.open()) {
                    String where = length + " bytes in pieces of " + piece;
                    assertEquals(text, session.query("A?"), where + ", CR LF stripped");
                    assertArrayEquals(bytes(text + "\n"), session.queryBytes("B?"), where);
                    assertEquals("NEXT", session.query("C?"), where + ": the next answer is the next query's");
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Framing.class)
    void aBlockWithLineFeedsInItsDataIsReadPastThem(Framing framing) throws Exception {
        // On a stream the first read stops at the first LF, inside the block: the chunk is read into
        // again, so what it held must be kept first
        String block = "#17a\nb\nc\nd\n";
        ScriptedConnection connection = new ScriptedConnection(framing).then(block).then("NEXT\n");
        try (Session session = connection.open()) {
            assertArrayEquals(bytes(block), session.queryBytes("CURV?"));
            assertEquals("NEXT", session.query("C?"));
        }
    }

    /** Printable text without a line feed, different at every position that matters. */
    private static String text(int length) {
        StringBuilder text = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            text.append((char) ('A' + i % 26));
        }
        return text.toString();
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }
}
