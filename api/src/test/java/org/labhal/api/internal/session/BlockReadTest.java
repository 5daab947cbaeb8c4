package org.labhal.api.internal.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.labhal.api.BlockProgress;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.MalformedResponseException;
import org.labhal.api.Session;
import org.labhal.api.SessionClosedException;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.internal.session.ScriptedConnection.Framing;

/** Reading IEEE 488.2 blocks: framing on both kinds of transport, garbage, truncation, progress. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BlockReadTest {

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    static String block(String data) {
        String length = Integer.toString(data.length());
        return "#" + length.length() + length + data;
    }

    /** Every byte value three times, with extra LFs and CRs: data a line-based reader would cut up. */
    static String awkwardData() {
        StringBuilder data = new StringBuilder();
        for (int round = 0; round < 3; round++) {
            for (int b = 0; b < 256; b++) {
                data.append((char) b);
            }
        }
        return data.append("\r\n\n").toString();
    }

    @Nested
    class Definite {
        @ParameterizedTest
        @EnumSource(Framing.class)
        void arrivesWholeThoughSplitIntoPiecesWithLineFeedsInside(Framing framing) throws Exception {
            for (int piece : new int[] {1, 3, 7, 100, 65536}) {
                String data = awkwardData();
                ScriptedConnection connection = new ScriptedConnection(framing).pieces(piece)
                        .then(block(data) + "\n");
                try (Session session = connection.open()) {
                    assertArrayEquals(bytes(data), session.queryBlock("CURV?"), "pieces of " + piece);
                    assertEquals("CURV?", connection.lastMessage());
                    assertEquals(0, connection.pending(), "the terminator was consumed");
                    assertEquals(0, connection.clears());
                }
            }
        }

        @ParameterizedTest
        @EnumSource(Framing.class)
        void keepsTheNextQueryInSyncWhenTheDataEndsInALineFeed(Framing framing) throws Exception {
            ScriptedConnection connection = new ScriptedConnection(framing)
                    .then(block("ab\n") + "\n").then("NEXT\n");
            try (Session session = connection.open()) {
                assertArrayEquals(bytes("ab\n"), session.queryBlock("A?"));
                assertEquals("NEXT", session.query("B?"));
            }
        }

        @ParameterizedTest
        @EnumSource(Framing.class)
        void queryBytesReadsTheTerminatorAfterALineFeedAsLastDataByte(Framing framing) throws Exception {
            ScriptedConnection connection = new ScriptedConnection(framing).pieces(2)
                    .then(block("ab\n") + "\n").then("NEXT\n");
            try (Session session = connection.open()) {
                assertArrayEquals(bytes(block("ab\n") + "\n"), session.queryBytes("A?"));
                assertEquals("NEXT", session.query("B?"));
            }
        }

        @Test
        void acceptsCarriageReturnLineFeedAsTerminator() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).then(block("xyz") + "\r\n")
                    .then("NEXT\n");
            try (Session session = connection.open()) {
                assertArrayEquals(bytes("xyz"), session.queryBlock("A?"));
                assertEquals("NEXT", session.query("B?"));
            }
        }

        @Test
        void takesEndOnTheLastDataByteAsTheMessageEndOnMessageTransports() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.MESSAGE).then(block("xyz"))
                    .then("NEXT\n");
            try (Session session = connection.open()) {
                assertArrayEquals(bytes("xyz"), session.queryBlock("A?"));
                assertEquals("NEXT", session.query("B?"));
                assertEquals(0, connection.clears());
            }
        }

        @Test
        void readsNineDigitLengths() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM)
                    .then("#9000000010" + "0123\n56789" + "\n");
            try (Session session = connection.open()) {
                assertArrayEquals(bytes("0123\n56789"), session.queryBlock("A?"));
            }
        }

        @ParameterizedTest
        @EnumSource(Framing.class)
        void readsAnEmptyBlock(Framing framing) throws Exception {
            ScriptedConnection connection = new ScriptedConnection(framing).then("#10\n").then("NEXT\n");
            try (Session session = connection.open()) {
                assertEquals(0, session.queryBlock("A?").length);
                assertEquals("NEXT", session.query("B?"));
            }
        }

        @Test
        void readsAnEmptyBlockWhoseHeaderCarriesEnd() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.MESSAGE).then("#10");
            try (Session session = connection.open()) {
                assertEquals(0, session.queryBlock("A?").length);
                assertEquals(0, connection.clears());
            }
        }
    }

    @Nested
    class Indefinite {
        @Test
        void runsToEndOnMessageTransportsAndDropsTheFinalLineFeed() throws Exception {
            String data = awkwardData();
            ScriptedConnection connection = new ScriptedConnection(Framing.MESSAGE).pieces(5)
                    .then("#0" + data + "\n").then("NEXT\n");
            try (Session session = connection.open()) {
                assertArrayEquals(bytes(data), session.queryBlock("A?"));
                assertEquals("NEXT", session.query("B?"));
            }
        }

        @Test
        void keepsAFinalByteThatIsNotALineFeedOnMessageTransports() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.MESSAGE).then("#0abc");
            try (Session session = connection.open()) {
                assertArrayEquals(bytes("abc"), session.queryBlock("A?"));
            }
        }

        @Test
        void endsAtTheTerminatorOnStreamTransports() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).pieces(2)
                    .then("#0a\rbc\r\n").then("NEXT\n");
            try (Session session = connection.open()) {
                assertArrayEquals(bytes("a\rbc"), session.queryBlock("A?"));
                assertEquals("NEXT", session.query("B?"));
            }
        }

        @Test
        void holdsBackACarriageReturnAtAPieceBoundaryUntilItsLineFeedShows() throws Exception {
            // The CR falls on the last byte of the reader's first 64 KiB piece, its LF on the next.
            byte[] data = new byte[BlockReader.CHUNK - 1];
            Arrays.fill(data, (byte) 'x');
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM)
                    .then("#0" + new String(data, StandardCharsets.ISO_8859_1) + "\r\n");
            try (Session session = connection.open()) {
                assertArrayEquals(data, session.queryBlock("A?"));
            }
        }

        @ParameterizedTest
        @ValueSource(strings = {"#0\n", "#0\r\n"})
        void readsAnEmptyBlock(String response) throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).then(response);
            try (Session session = connection.open()) {
                assertEquals(0, session.queryBlock("A?").length);
            }
        }

        @Test
        void readsAnEmptyBlockWhoseHeaderCarriesEnd() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.MESSAGE).then("#0");
            try (Session session = connection.open()) {
                assertEquals(0, session.queryBlock("A?").length);
            }
        }
    }

    @Nested
    class Garbage {
        @ParameterizedTest
        @ValueSource(strings = {"1.5\n", "\n", "X\n", "#\n", "#X12\n", "#3a12\n", "#31\n", "#2-5abcde\n", "#2 5abc\n",
            "#\u00ff3abc\n"})
        void headersThatAreNotBlocksFailNamingTheResourceAndTheBytes(String response) throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).then(response);
            try (Session session = connection.open()) {
                MalformedResponseException e = assertThrows(MalformedResponseException.class,
                        () -> session.queryBlock("A?"));
                assertTrue(e.getMessage().startsWith(session.name() + ": "), e.getMessage());
                assertTrue(e.getMessage().contains("\""), "quotes the offending bytes: " + e.getMessage());
                // Whatever of the response was left is gone: the next step gets its own answer.
                connection.then("NEXT\n");
                assertEquals("NEXT", session.query("B?"));
            }
        }

        @Test
        void showsTheOffendingLengthDigit() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).then("#3a12\n");
            try (Session session = connection.open()) {
                MalformedResponseException e = assertThrows(MalformedResponseException.class,
                        () -> session.queryBlock("A?"));
                assertEquals(session.name() + ": malformed block header \"#3a12\": length digit 1 of 3 is \"a\", "
                        + "expected 0-9", e.getMessage());
            }
        }

        @Test
        void escapesControlAndHighBytes() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).then("#\u0000\u00ff\n");
            try (Session session = connection.open()) {
                MalformedResponseException e = assertThrows(MalformedResponseException.class,
                        () -> session.queryBlock("A?"));
                assertTrue(e.getMessage().contains("\"#\\x00\""), e.getMessage());
            }
        }

        @Test
        void resynchronisesOnlyWhenPartOfTheResponseIsUnread() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).pieces(1);
            try (Session session = connection.open()) {
                connection.then("1.5\n"); // read "1." of it: the rest is pending
                assertThrows(MalformedResponseException.class, () -> session.queryBlock("A?"));
                assertEquals(1, connection.clears());
                connection.then("#3\n"); // the LF ended the message: nothing pending
                assertThrows(MalformedResponseException.class, () -> session.queryBlock("A?"));
                assertEquals(1, connection.clears());
            }
        }

        @Test
        void rejectsBytesOtherThanTheTerminatorAfterTheData() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).then(block("abc") + "X;\n");
            try (Session session = connection.open()) {
                MalformedResponseException e = assertThrows(MalformedResponseException.class,
                        () -> session.queryBlock("A?"));
                assertEquals(session.name() + ": expected the message terminator (LF or CR LF) after the 3-byte block, "
                        + "got \"X\" and more", e.getMessage());
                assertEquals(1, connection.clears(), "resynchronised: \";\\n\" was still unread");
                connection.then("NEXT\n");
                assertEquals("NEXT", session.query("B?"));
            }
        }

        @Test
        void failsAtOnceWhenEndComesBeforeTheAnnouncedLengthOnMessageTransports() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.MESSAGE).then("#3100" + "0123456789");
            try (Session session = connection.open()) {
                MalformedResponseException e = assertThrows(MalformedResponseException.class,
                        () -> session.queryBlock("A?"));
                assertEquals(session.name() + ": the message ended after 10 of the 100 data bytes its block header "
                        + "announced", e.getMessage());
                assertEquals(0, connection.clears(), "the message was over: nothing to resynchronise");
            }
        }

        @Test
        void aResponseThatIsNotABlockIsStillAnOrdinaryQueryAnswer() throws Exception {
            // #H, #Q and #B start hexadecimal, octal and binary numbers, not blocks.
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).then("#HFF\n").then("#\n");
            try (Session session = connection.open()) {
                assertEquals("#HFF", session.query("A?"));
                assertEquals("#", session.query("B?"));
            }
        }

        @Test
        void queryBytesRejectsANonDigitInALength() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).pieces(3).then("#3a1234\n");
            try (Session session = connection.open()) {
                MalformedResponseException e = assertThrows(MalformedResponseException.class,
                        () -> session.queryBytes("A?"));
                assertTrue(e.getMessage().contains("\"a\""), e.getMessage());
                assertEquals(1, connection.clears(), "\"234\\n\" was still unread");
            }
        }
    }

    @Nested
    class Truncated {
        @Test
        void dataShorterThanAnnouncedTimesOutAndResynchronises() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).then("#3100" + "0123\n56789" + "\n");
            try (Session session = connection.open()) {
                IoTimeoutException e = assertThrows(IoTimeoutException.class, () -> session.queryBlock("A?"));
                assertEquals(session.name() + ": binary block stopped arriving after 11 of 100 data bytes: "
                        + "scripted instrument has nothing more to send", e.getMessage());
                assertEquals(1, connection.clears());
                connection.then("NEXT\n");
                assertEquals("NEXT", session.query("B?"));
            }
        }

        @Test
        void aHugeAnnouncedLengthAllocatesNothingByIt() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM);
            try (Session session = connection.open()) {
                connection.then("#9999999999abc\n");
                assertThrows(IoTimeoutException.class, () -> session.queryBlock("A?"));
                connection.then("#9999999999abc\n");
                assertThrows(IoTimeoutException.class, () -> session.queryBytes("A?"));
                connection.then("#9999999999abc\n");
                assertThrows(IoTimeoutException.class, () -> session.queryBlock("A?", OutputStream.nullOutputStream(),
                        BlockProgress.NONE));
                assertEquals(3, connection.clears());
                assertTrue(connection.largestRead() <= BlockReader.CHUNK, "read buffer " + connection.largestRead());
            }
        }

        @Test
        void aMissingTerminatorTimesOutAndResynchronises() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).then(block("abc"));
            try (Session session = connection.open()) {
                IoTimeoutException e = assertThrows(IoTimeoutException.class, () -> session.queryBlock("A?"));
                assertTrue(e.getMessage().contains("no message terminator after the 3-byte binary block"),
                        e.getMessage());
                assertEquals(1, connection.clears());
            }
        }

        @Test
        void noAnswerAtAllTimesOutAndResynchronises() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM);
            try (Session session = connection.open()) {
                IoTimeoutException e = assertThrows(IoTimeoutException.class, () -> session.queryBlock("A?"));
                assertEquals("scripted instrument has nothing more to send", e.getMessage());
                assertEquals(1, connection.clears());
            }
        }
    }

    @Nested
    class Streaming {
        /** Records every update and checks the contract as they come. */
        final class Recorder implements BlockProgress {
            final List<long[]> updates = new ArrayList<>();

            @Override
            public void update(long bytesDone, long bytesTotal) {
                if (!updates.isEmpty()) {
                    assertTrue(bytesDone >= updates.get(updates.size() - 1)[0], "bytesDone went down");
                }
                updates.add(new long[] {bytesDone, bytesTotal});
            }

            long[] first() {
                return updates.get(0);
            }

            long[] last() {
                return updates.get(updates.size() - 1);
            }
        }

        @ParameterizedTest
        @EnumSource(Framing.class)
        void reportsProgressFromZeroToTheTotal(Framing framing) throws Exception {
            byte[] data = new byte[300_000];
            Arrays.fill(data, (byte) '\n');
            ScriptedConnection connection = new ScriptedConnection(framing)
                    .then("#6300000" + new String(data, StandardCharsets.ISO_8859_1) + "\n");
            Recorder progress = new Recorder();
            ByteArrayOutputStream sink = new ByteArrayOutputStream();
            try (Session session = connection.open()) {
                assertEquals(300_000, session.queryBlock("A?", sink, progress));
            }
            assertArrayEquals(data, sink.toByteArray());
            assertArrayEquals(new long[] {0, 300_000}, progress.first());
            assertArrayEquals(new long[] {300_000, 300_000}, progress.last());
            assertEquals(1 + 5, progress.updates.size(), "one update per 64 KiB piece");
            assertTrue(connection.largestRead() <= BlockReader.CHUNK);
        }

        @Test
        void reportsAnUnknownTotalForIndefiniteBlocksUntilTheEnd() throws Exception {
            byte[] data = new byte[150_000];
            Arrays.fill(data, (byte) 7);
            ScriptedConnection connection = new ScriptedConnection(Framing.MESSAGE)
                    .then("#0" + new String(data, StandardCharsets.ISO_8859_1) + "\n");
            Recorder progress = new Recorder();
            ByteArrayOutputStream sink = new ByteArrayOutputStream();
            try (Session session = connection.open()) {
                assertEquals(150_000, session.queryBlock("A?", sink, progress));
            }
            assertArrayEquals(data, sink.toByteArray());
            assertArrayEquals(new long[] {0, -1}, progress.first());
            assertArrayEquals(new long[] {150_000, 150_000}, progress.last());
            for (long[] update : progress.updates.subList(0, progress.updates.size() - 1)) {
                assertEquals(-1, update[1]);
            }
        }

        @Test
        void aFailingSinkFailsTheStepNamingTheCountAndResynchronises() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM)
                    .then(ScriptedConnection.Response.generated("#6200000", 200_000, new byte[] {1, 2, 3}, "\n"));
            IOException diskFull = new IOException("disk full");
            OutputStream sink = new OutputStream() {
                long written;

                @Override
                public void write(int b) throws IOException {
                    throw diskFull;
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    if (written > 0) {
                        throw diskFull;
                    }
                    written += len;
                }
            };
            try (Session session = connection.open()) {
                LabHalException e = assertThrows(LabHalException.class,
                        () -> session.queryBlock("A?", sink, BlockProgress.NONE));
                assertSame(diskFull, e.getCause());
                assertEquals(session.name() + ": writing binary block data to the sink failed after 65536 of 200000 "
                        + "bytes: disk full", e.getMessage());
                assertEquals(1, connection.clears());
            }
        }

        @Test
        void anExceptionFromProgressAbandonsTheTransferAndResynchronises() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM)
                    .then(ScriptedConnection.Response.generated("#6200000", 200_000, new byte[] {1, 2, 3}, "\n"));
            IllegalStateException cancel = new IllegalStateException("user cancelled");
            try (Session session = connection.open()) {
                IllegalStateException e = assertThrows(IllegalStateException.class,
                        () -> session.queryBlock("A?", OutputStream.nullOutputStream(), (done, total) -> {
                            if (done > 0) {
                                throw cancel;
                            }
                        }));
                assertSame(cancel, e);
                assertEquals(1, connection.clears());
                connection.then("NEXT\n");
                assertEquals("NEXT", session.query("B?"));
            }
        }

        @Test
        void anInterruptAbandonsTheTransferAndKeepsTheInterruptStatus() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM)
                    .then(ScriptedConnection.Response.generated("#6200000", 200_000, new byte[] {1, 2, 3}, "\n"));
            try (Session session = connection.open()) {
                StepInterruptedException e = assertThrows(StepInterruptedException.class,
                        () -> session.queryBlock("A?", OutputStream.nullOutputStream(), (done, total) -> {
                            if (done == 0) {
                                Thread.currentThread().interrupt();
                            }
                        }));
                assertTrue(Thread.interrupted(), "the interrupt status is still set");
                assertTrue(e.getMessage().contains("after 65536 of 200000 bytes"), e.getMessage());
                assertEquals(1, connection.clears());
            }
        }

        @Test
        void checksTheErrorQueueWithinTheSameStep() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).then(block("abc") + "\n")
                    .then("0,\"No error\"\n");
            try (Session session = connection.open()) {
                session.setErrorChecking(true);
                assertArrayEquals(bytes("abc"), session.queryBlock("A?"));
                assertEquals(List.of("A?", "SYST:ERR?"), connection.messages().stream()
                        .map(m -> new String(m, StandardCharsets.ISO_8859_1)).toList());
            }
        }

        @Test
        void aDroppedConnectionIsNotResynchronised() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).then("#3100abc");
            Session session = connection.open();
            session.close();
            LabHalException e = assertThrows(LabHalException.class, () -> session.queryBlock("A?"));
            assertInstanceOf(SessionClosedException.class, e);
            assertEquals(0, connection.clears());
        }
    }
}
