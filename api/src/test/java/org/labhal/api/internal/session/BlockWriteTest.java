package org.labhal.api.internal.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.labhal.api.BinaryFormat;
import org.labhal.api.BlockProgress;
import org.labhal.api.InstrumentErrorException;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.SessionClosedException;
import org.labhal.api.LabHalException;
import org.labhal.api.MalformedResponseException;
import org.labhal.api.Session;
import org.labhal.api.internal.session.ScriptedConnection.Framing;
import org.labhal.api.internal.session.ScriptedConnection.Response;

/** Writing IEEE 488.2 blocks, and numbers through them both ways in every format. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BlockWriteTest {

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] both = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }

    static byte[] pattern(int length) {
        byte[] data = new byte[length];
        for (int i = 0; i < length; i++) {
            data[i] = (byte) (i * 7 + i / 251);
        }
        return data;
    }

    @Nested
    class InMemory {
        @Test
        void sendsPrefixHeaderAndDataAsOneMessage() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM);
            try (Session session = connection.open()) {
                session.writeBlock("MMEM:DATA 'a.bin',", bytes("he\nlo"));
            }
            assertEquals(List.of("MMEM:DATA 'a.bin',#15he\nlo"), connection.messages().stream()
                    .map(m -> new String(m, StandardCharsets.ISO_8859_1)).toList());
        }

        @Test
        void sendsAnEmptyBlock() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM);
            try (Session session = connection.open()) {
                session.writeBlock("DATA ", new byte[0]);
            }
            assertEquals("DATA #10", connection.lastMessage());
        }

        @Test
        void sendsLargeDataWithoutCopyingItIntoOneBuffer() throws Exception {
            byte[] data = pattern(1_000_000);
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM);
            try (Session session = connection.open()) {
                session.writeBlock("DATA ", data);
            }
            assertEquals(1, connection.messages().size());
            assertArrayEquals(concat(bytes("DATA #71000000"), data), connection.messages().get(0));
        }

        @Test
        void checksTheErrorQueueWithinTheSameStep() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM)
                    .then("-222,\"Data out of range\"\n").then("0,\"No error\"\n");
            try (Session session = connection.open()) {
                session.setErrorChecking(true);
                InstrumentErrorException e = assertThrows(InstrumentErrorException.class,
                        () -> session.writeBlock("DATA ", bytes("x")));
                assertEquals(-222, e.errors().get(0).code());
            }
            assertEquals(3, connection.messages().size());
        }
    }

    @Nested
    class Streamed {
        @ParameterizedTest
        @EnumSource(Framing.class)
        void sendsExactlyTheAnnouncedLengthInBoundedPiecesWithProgress(Framing framing) throws Exception {
            byte[] data = pattern(300_000);
            ScriptedConnection connection = new ScriptedConnection(framing);
            List<long[]> updates = new ArrayList<>();
            // The stream holds more than announced: only the announced bytes go.
            InputStream source = new ByteArrayInputStream(concat(data, bytes("EXTRA")));
            try (Session session = connection.open()) {
                assertEquals(300_000, session.writeBlock("DATA ", source, data.length,
                        (done, total) -> updates.add(new long[] {done, total})));
            }
            assertArrayEquals(concat(bytes("DATA #6300000"), data), connection.messages().get(0));
            assertEquals(1, connection.messages().size());
            assertTrue(connection.largestWrite() <= BlockReader.CHUNK, "write buffer " + connection.largestWrite());
            assertArrayEquals(new long[] {0, 300_000}, updates.get(0));
            assertArrayEquals(new long[] {300_000, 300_000}, updates.get(updates.size() - 1));
            for (int i = 1; i < updates.size(); i++) {
                assertTrue(updates.get(i)[0] >= updates.get(i - 1)[0]);
            }
            assertEquals(5, source.available(), "read no further than the block");
        }

        @Test
        void sendsAnIndefiniteBlockOverAMessageTransport() throws Exception {
            // 65536 - header bytes fill the first piece exactly; the end comes with an empty last write.
            byte[] data = pattern(BlockReader.CHUNK * 2 - "DATA #0".length());
            ScriptedConnection connection = new ScriptedConnection(Framing.MESSAGE);
            List<long[]> updates = new ArrayList<>();
            try (Session session = connection.open()) {
                assertEquals(data.length, session.writeBlock("DATA ", new ByteArrayInputStream(data), -1,
                        (done, total) -> updates.add(new long[] {done, total})));
            }
            assertEquals(1, connection.messages().size());
            assertArrayEquals(concat(bytes("DATA #0"), data), connection.messages().get(0));
            assertArrayEquals(new long[] {0, -1}, updates.get(0));
            assertArrayEquals(new long[] {data.length, data.length}, updates.get(updates.size() - 1));
        }

        @Test
        void refusesAnIndefiniteBlockOverAStreamTransportBeforeSendingAnything() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM);
            try (Session session = connection.open()) {
                LabHalException e = assertThrows(LabHalException.class, () -> session.writeBlock("DATA ",
                        new ByteArrayInputStream(bytes("a\nb")), -1, BlockProgress.NONE));
                assertTrue(e.getMessage().startsWith(session.name() + ": cannot send an indefinite-length block over "
                        + "SOCKET"), e.getMessage());
            }
            assertEquals(0, connection.bytesWritten());
        }

        @Test
        void aSourceThatEndsEarlyOnAByteStreamClosesTheConnection() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM);
            try (Session session = connection.open()) {
                ConnectionLostException e = assertThrows(ConnectionLostException.class, () -> session.writeBlock(
                        "DATA ", new ByteArrayInputStream(pattern(100_000)), 200_000, BlockProgress.NONE));
                assertEquals(session.name() + ": the block's data source ended after 100000 of the 200000 bytes "
                        + "announced in the block header", e.getCause().getMessage());
                assertTrue(e.getMessage().contains("was cut short") && e.getMessage().contains("connection was closed"),
                        e.getMessage());
                // Nothing on a byte stream makes the instrument drop the fragment: the link is gone.
                assertFalse(session.isOpen());
                assertThrows(SessionClosedException.class, () -> session.write("OUTP ON"));
            }
            assertEquals(0, connection.clears());
        }

        @Test
        void aSourceThatEndsEarlyOnAMessageTransportClearsTheDevice() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.MESSAGE);
            try (Session session = connection.open()) {
                LabHalException e = assertThrows(LabHalException.class, () -> session.writeBlock("DATA ",
                        new ByteArrayInputStream(pattern(100_000)), 200_000, BlockProgress.NONE));
                assertEquals(session.name() + ": the block's data source ended after 100000 of the 200000 bytes "
                        + "announced in the block header", e.getMessage());
                assertTrue(session.isOpen(), "a device clear drops the fragment on a message transport");
            }
            assertEquals(1, connection.clears());
        }

        @Test
        void aFailingSourceFailsTheStepAndResynchronises() throws Exception {
            IOException broken = new IOException("file vanished");
            InputStream source = new InputStream() {
                int calls;

                @Override
                public int read() throws IOException {
                    throw broken;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (calls++ > 0) {
                        throw broken;
                    }
                    return len;
                }
            };
            ScriptedConnection connection = new ScriptedConnection(Framing.STREAM);
            try (Session session = connection.open()) {
                LabHalException e = assertThrows(ConnectionLostException.class,
                        () -> session.writeBlock("DATA ", source, 500_000, BlockProgress.NONE));
                assertSame(broken, e.getCause().getCause());
                assertTrue(e.getMessage().contains("failed after 65523 of 500000 bytes"), e.getMessage());
                assertFalse(session.isOpen());
            }
            assertEquals(0, connection.clears());
        }

        @Test
        void rejectsLengthsAHeaderCannotAnnounce() throws Exception {
            ScriptedConnection connection = new ScriptedConnection(Framing.MESSAGE);
            try (Session session = connection.open()) {
                InputStream empty = InputStream.nullInputStream();
                assertThrows(IllegalArgumentException.class,
                        () -> session.writeBlock("DATA ", empty, 1_000_000_000L, BlockProgress.NONE));
                assertThrows(IllegalArgumentException.class,
                        () -> session.writeBlock("DATA ", empty, -2, BlockProgress.NONE));
            }
            assertEquals(0, connection.bytesWritten());
        }
    }

    /** A loopback instrument: stores the block of "DATA <block>" and returns it for "DATA?". */
    static ScriptedConnection echoInstrument(Framing framing) {
        byte[][] stored = new byte[1][];
        return new ScriptedConnection(framing).pieces(3).answering(message -> {
            String text = new String(message, StandardCharsets.ISO_8859_1);
            if (text.startsWith("DATA ")) {
                stored[0] = Arrays.copyOfRange(message, 5, message.length);
                return null;
            }
            return text.equals("DATA?") ? Response.of(concat(stored[0], bytes("\n"))) : null;
        });
    }

    static Stream<Arguments> formats() {
        double[] int8 = {-128, -1, 0, 1, 10, 13, 127};
        double[] uint8 = {0, 1, 10, 13, 128, 255};
        double[] int16 = {Short.MIN_VALUE, -1, 0, 10, 0x0A0A, 0x0D0A, Short.MAX_VALUE};
        double[] uint16 = {0, 10, 0x0A0A, 0x8000, 65535};
        double[] int32 = {Integer.MIN_VALUE, -1, 0, 0x0A0A0A0A, Integer.MAX_VALUE};
        double[] real32 = {0, -0.0, 1.5, -0.375, Float.MAX_VALUE, Float.MIN_VALUE, Double.NaN,
            Double.POSITIVE_INFINITY, Float.intBitsToFloat(0x0A0A0A0A)};
        double[] real64 = {0, -0.0, Math.PI, -1e300, Double.MIN_VALUE, Double.NaN, Double.NEGATIVE_INFINITY,
            Double.longBitsToDouble(0x0A0A0A0A0A0A0A0AL)};
        List<Arguments> cases = new ArrayList<>();
        for (ByteOrder order : new ByteOrder[] {ByteOrder.BIG_ENDIAN, ByteOrder.LITTLE_ENDIAN}) {
            for (Framing framing : Framing.values()) {
                cases.add(Arguments.of(BinaryFormat.INT8.withByteOrder(order), int8, framing));
                cases.add(Arguments.of(BinaryFormat.UINT8.withByteOrder(order), uint8, framing));
                cases.add(Arguments.of(BinaryFormat.INT16.withByteOrder(order), int16, framing));
                cases.add(Arguments.of(BinaryFormat.UINT16.withByteOrder(order), uint16, framing));
                cases.add(Arguments.of(BinaryFormat.INT32.withByteOrder(order), int32, framing));
                cases.add(Arguments.of(BinaryFormat.REAL32.withByteOrder(order), real32, framing));
                cases.add(Arguments.of(BinaryFormat.REAL64.withByteOrder(order), real64, framing));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} over {2}")
    @MethodSource("formats")
    void numbersRoundTripThroughABlock(BinaryFormat format, double[] values, Framing framing) throws Exception {
        ScriptedConnection connection = echoInstrument(framing);
        try (Session session = connection.open()) {
            session.writeBlock("DATA ", format.encode(values));
            assertArrayEquals(values, session.queryBinaryValues("DATA?", format));
        }
        assertEquals(0, connection.clears());
    }

    @Test
    void encodesInTheGivenByteOrder() {
        assertArrayEquals(new byte[] {0x01, 0x02}, BinaryFormat.INT16.encode(0x0102));
        assertArrayEquals(new byte[] {0x02, 0x01},
                BinaryFormat.INT16.withByteOrder(ByteOrder.LITTLE_ENDIAN).encode(0x0102));
        assertArrayEquals(new byte[] {0x3F, (byte) 0x80, 0, 0}, BinaryFormat.REAL32.encode(1.0));
        assertArrayEquals(new byte[] {0, 0, (byte) 0x80, 0x3F},
                BinaryFormat.REAL32.withByteOrder(ByteOrder.LITTLE_ENDIAN).encode(1.0));
        assertArrayEquals(new double[] {-1, 255}, new double[] {BinaryFormat.INT8.decode(new byte[] {-1})[0],
            BinaryFormat.UINT8.decode(new byte[] {-1})[0]});
        assertEquals("REAL32 little-endian", BinaryFormat.REAL32.withByteOrder(ByteOrder.LITTLE_ENDIAN).toString());
        assertEquals(BinaryFormat.REAL32, BinaryFormat.REAL32.withByteOrder(ByteOrder.LITTLE_ENDIAN)
                .withByteOrder(ByteOrder.BIG_ENDIAN));
    }

    @Test
    void refusesToEncodeWhatTheFormatCannotHold() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BinaryFormat.INT8.encode(0, 128));
        assertEquals("value 128.0 at index 1 is not a whole number in -128..127 as INT8 needs", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BinaryFormat.UINT16.encode(-1));
        assertThrows(IllegalArgumentException.class, () -> BinaryFormat.INT32.encode(1.5));
        assertThrows(IllegalArgumentException.class, () -> BinaryFormat.INT32.encode(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> BinaryFormat.INT32.encode(2147483648.0));
        e = assertThrows(IllegalArgumentException.class, () -> BinaryFormat.REAL32.encode(1, 1e39));
        assertTrue(e.getMessage().startsWith("value 1.0E39 at index 1 is beyond REAL32's range"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BinaryFormat.INT16.decode(new byte[3]));
    }

    @Test
    void dataThatIsNotAWholeNumberOfValuesIsMalformed() throws Exception {
        ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).then("#15abcde\n");
        try (Session session = connection.open()) {
            MalformedResponseException e = assertThrows(MalformedResponseException.class,
                    () -> session.queryBinaryValues("DATA?", BinaryFormat.INT32));
            assertEquals(session.name() + ": the 5-byte block answering \"DATA?\" is not a whole number of "
                    + "INT32 big-endian values (4 bytes each)", e.getMessage());
        }
    }

    @Test
    void streamedWritesAndReadsRoundTripThroughAFile(@TempDir Path dir) throws Exception {
        byte[] data = pattern(5_000_000);
        ScriptedConnection connection = echoInstrument(Framing.STREAM).pieces(Integer.MAX_VALUE);
        Path file = dir.resolve("waveform.bin");
        try (Session session = connection.open()) {
            session.writeBlock("DATA ", new ByteArrayInputStream(data), data.length, BlockProgress.NONE);
            try (OutputStream out = Files.newOutputStream(file)) {
                assertEquals(data.length, session.queryBlock("DATA?", out, BlockProgress.NONE));
            }
        }
        assertArrayEquals(data, Files.readAllBytes(file));
    }
}
