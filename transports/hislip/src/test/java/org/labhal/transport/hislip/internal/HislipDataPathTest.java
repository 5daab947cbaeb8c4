package org.labhal.transport.hislip.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.ResourceAddress;
import org.labhal.transport.hislip.HislipLink;

/**
 * The data path on real loopback sockets: messages on either side of the sizes where the client's
 * handling changes (the direct send buffer of {@link FrameChannel#OUTBOUND_SIZE} bytes, the 64 KiB
 * receive buffer, the 8 KiB reads of callers) go out and arrive whole and in order, and a message
 * whose header and payload arrive in pieces is framed as one. No timing is asserted.
 */
class HislipDataPathTest {
    private static final Duration IO = Duration.ofSeconds(10);
    private static final int SHORT_MAX = FrameChannel.OUTBOUND_SIZE - Header.SIZE; // largest payload sent whole

    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final HislipTransportFactory factory = new HislipTransportFactory();

    @AfterEach
    void stop() throws InterruptedException {
        factory.deactivate();
        threads.shutdownNow();
        assertTrue(threads.awaitTermination(10, TimeUnit.SECONDS), "a peer thread hung");
    }

    private static long deadline() {
        return System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    }

    /** Distinct bytes, so that a shifted or repeated piece shows. */
    private static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (i * 31 + seed + i / 251);
        }
        return b;
    }

    private static byte[] header(MessageType type, int control, int parameter, long length) {
        return new Header(type, control, parameter, length).encode().array();
    }

    /** A connected pair: the FrameChannel under test and the plain socket of its peer. */
    private static final class Pair implements AutoCloseable {
        final FrameChannel channel;
        final Socket peer;

        Pair(ServerSocket listener) throws IOException {
            channel = FrameChannel.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(),
                    listener.getLocalPort()), deadline(), null);
            peer = listener.accept();
            peer.setTcpNoDelay(true);
        }

        @Override
        public void close() throws IOException {
            channel.close();
            peer.close();
        }
    }

    private static ServerSocket listener() throws IOException {
        return new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
    }

    // ------------------------------------------------------------------ FrameChannel, sending

    @Test
    void messagesAroundTheDirectSendBufferGoOutWholeAndConsumeTheirPayload() throws Exception {
        int[] sizes = {0, 1, SHORT_MAX - 1, SHORT_MAX, SHORT_MAX + 1, 64 * 1024, 300_000};
        try (ServerSocket listener = listener(); Pair pair = new Pair(listener)) {
            Future<List<RawPeer.Message>> received = threads.submit(() -> {
                List<RawPeer.Message> messages = new ArrayList<>();
                for (int i = 0; i < sizes.length; i++) {
                    messages.add(RawPeer.readWhole(pair.peer));
                }
                return messages;
            });
            for (int i = 0; i < sizes.length; i++) {
                // a payload that does not start at 0 in its buffer, with bytes after its limit
                byte[] around = pattern(sizes[i] + 10, i);
                ByteBuffer payload = ByteBuffer.wrap(around, 3, sizes[i]);
                pair.channel.send(i % 2 == 0 ? MessageType.DATA : MessageType.DATA_END, i % 2, 0xFFFFFF00 + 2 * i,
                        payload, deadline());
                assertEquals(3 + sizes[i], payload.position(), "the payload of " + sizes[i] + " bytes is consumed");
            }
            List<RawPeer.Message> messages = received.get(20, TimeUnit.SECONDS);
            for (int i = 0; i < sizes.length; i++) {
                Header h = messages.get(i).header();
                assertEquals(i % 2 == 0 ? MessageType.DATA : MessageType.DATA_END, h.type());
                assertEquals(i % 2, h.control());
                assertEquals(0xFFFFFF00 + 2 * i, h.parameter());
                assertEquals(sizes[i], h.length());
                byte[] expected = java.util.Arrays.copyOfRange(pattern(sizes[i] + 10, i), 3, 3 + sizes[i]);
                assertArrayEquals(expected, messages.get(i).text().getBytes(StandardCharsets.ISO_8859_1),
                        "payload of " + sizes[i] + " bytes");
            }
        }
    }

    // ------------------------------------------------------------------ FrameChannel, receiving

    @Test
    void payloadsAroundTheReceiveBufferSizeArriveWholeAndTheNextHeaderAfterThem() throws Exception {
        int buffer = FrameChannel.BUFFER_SIZE;
        int[] sizes = {1, buffer - Header.SIZE - 1, buffer - Header.SIZE, buffer - Header.SIZE + 1, buffer, buffer + 1,
            3 * buffer + 7};
        try (ServerSocket listener = listener(); Pair pair = new Pair(listener)) {
            Future<?> sent = threads.submit(() -> {
                OutputStream out = pair.peer.getOutputStream();
                for (int i = 0; i < sizes.length; i++) {
                    out.write(header(MessageType.DATA_END, 0, i, sizes[i]));
                    out.write(pattern(sizes[i], i));
                }
                out.flush();
                return null;
            });
            for (int i = 0; i < sizes.length; i++) {
                Header h = pair.channel.readHeader(deadline(), 1 << 20);
                assertEquals(new Header(MessageType.DATA_END, 0, i, sizes[i]), h);
                ByteBuffer into = ByteBuffer.allocate(sizes[i]);
                ByteBuffer piece = ByteBuffer.allocate(1000); // a caller's buffer smaller than most payloads
                long remaining = h.length();
                while (remaining > 0) {
                    piece.clear();
                    remaining -= pair.channel.readPayload(piece, remaining, deadline());
                    into.put(piece.flip());
                }
                assertArrayEquals(pattern(sizes[i], i), into.array(), "payload of " + sizes[i] + " bytes");
            }
            sent.get(20, TimeUnit.SECONDS);
            assertEquals(0, pair.channel.buffered());
        }
    }

    /**
     * A DataEND whose header and payload come in pieces: a wait that ends in the middle of the header
     * consumes none of it, and the message is framed whole once the rest is there.
     */
    @Test
    void aDataEndSplitAcrossReadsIsFramedWhole() throws Exception {
        byte[] payload = "LabHAL-Bench,C-Responder,0,1.0\n".getBytes(StandardCharsets.US_ASCII);
        byte[] message = new byte[Header.SIZE + payload.length];
        System.arraycopy(header(MessageType.DATA_END, 0, 0xFFFFFF04, payload.length), 0, message, 0, Header.SIZE);
        System.arraycopy(payload, 0, message, Header.SIZE, payload.length);
        int[] cuts = {0, 1, 5, 15, 16, 17, message.length};
        try (ServerSocket listener = listener(); Pair pair = new Pair(listener)) {
            OutputStream out = pair.peer.getOutputStream();
            // the header in pieces: each arrives (the channel buffers it) but no header is taken
            for (int c = 1; c < 4; c++) {
                out.write(message, cuts[c - 1], cuts[c] - cuts[c - 1]);
                out.flush();
                awaitBuffered(pair.channel, cuts[c]);
            }
            // the rest of the header and the first payload byte, then the rest of the payload
            out.write(message, cuts[3], cuts[5] - cuts[3]);
            out.flush();
            Header h = pair.channel.readHeader(deadline(), 1 << 20);
            assertEquals(new Header(MessageType.DATA_END, 0, 0xFFFFFF04, payload.length), h);
            ByteBuffer into = ByteBuffer.allocate(payload.length);
            assertEquals(1, pair.channel.readPayload(into, h.length(), deadline()));
            out.write(message, cuts[5], cuts[6] - cuts[5]);
            out.flush();
            while (into.hasRemaining()) {
                pair.channel.readPayload(into, into.remaining(), deadline());
            }
            assertArrayEquals(payload, into.array());
        }
    }

    /** Waits, by reading headers with short deadlines, until {@code count} bytes of one are buffered. */
    private static void awaitBuffered(FrameChannel channel, int count) throws Exception {
        long giveUp = deadline();
        while (channel.buffered() < count) {
            assertTrue(System.nanoTime() - giveUp < 0, "the bytes sent never arrived");
            assertThrows(SocketTimeoutException.class,
                    () -> channel.readHeader(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20), 1 << 20));
        }
        assertEquals(count, channel.buffered(), "a header was taken in part");
    }

    // ------------------------------------------------------------------ the link

    /**
     * Queries and answers around every buffer size of the path, each answer in the way an instrument
     * may send it (one write, or header and payload apart): the link sends each query as one DataEND
     * with the next message id, and reads each answer whole and only it.
     */
    @Test
    void queriesAndAnswersAroundTheBufferSizesArriveWholeWithTheirIds() throws Exception {
        int[] querySizes = {1, SHORT_MAX - 1, SHORT_MAX, SHORT_MAX + 1, 20_000};
        int[] answerSizes = {1, 8191, 8192, 8193, FrameChannel.BUFFER_SIZE - Header.SIZE, FrameChannel.BUFFER_SIZE,
            FrameChannel.BUFFER_SIZE + 1, 200_000};
        try (RawPeer peer = new RawPeer()) {
            Future<?> script = threads.submit(() -> {
                peer.handshake();
                DataInputStream in = new DataInputStream(peer.sync.getInputStream());
                OutputStream out = peer.sync.getOutputStream();
                for (int q = 0; q < querySizes.length; q++) {
                    for (int a = 0; a < answerSizes.length; a++) {
                        byte[] raw = new byte[Header.SIZE];
                        in.readFully(raw);
                        Header h = Header.decode(ByteBuffer.wrap(raw), 1 << 20);
                        byte[] query = new byte[(int) h.length()];
                        in.readFully(query);
                        int n = q * answerSizes.length + a;
                        assertEquals(MessageType.DATA_END, h.type(), "query " + n);
                        assertEquals(0xFFFFFF00 + 2 * n, h.parameter(), "query " + n);
                        assertArrayEquals(pattern(querySizes[q], n), query, "query " + n);
                        byte[] answer = pattern(answerSizes[a], -n);
                        out.write(header(MessageType.DATA_END, 0, h.parameter(), answer.length));
                        if (a % 2 == 1) {
                            out.flush(); // header and payload apart
                        }
                        out.write(answer);
                        out.flush();
                    }
                }
                return null;
            });
            HislipLink link = (HislipLink) factory.open(ResourceAddress.parse(peer.resource()), IO);
            ByteBuffer chunk = ByteBuffer.allocate(8192); // what the session reads into
            for (int q = 0; q < querySizes.length; q++) {
                for (int a = 0; a < answerSizes.length; a++) {
                    int n = q * answerSizes.length + a;
                    ByteBuffer query = ByteBuffer.wrap(pattern(querySizes[q], n));
                    link.write(query, true, IO);
                    assertEquals(querySizes[q], query.position(), "query " + n + " consumed");
                    ByteBuffer answer = ByteBuffer.allocate(answerSizes[a]);
                    boolean end;
                    do {
                        chunk.clear();
                        end = link.read(chunk, IO);
                        assertTrue(chunk.position() <= answer.remaining(), "answer " + n + " is longer than sent");
                        answer.put(chunk.flip());
                    } while (!end);
                    assertArrayEquals(pattern(answerSizes[a], -n), answer.array(), "answer " + n);
                }
            }
            script.get(20, TimeUnit.SECONDS);
            link.close();
        }
    }
}
