package org.labhal.benchmarks;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The HiSLIP counterpart of {@link BlockServer}: a loopback HiSLIP 1.0 server (synchronized mode) that
 * answers {@value #QUERY} with one IEEE 488.2 definite-length block,
 * {@code #<n><length><data>} and a LF, the LF ending the last DataEND as instruments send it. The
 * simulators have no binary block query, so {@code HislipServer} cannot serve one; this server is as
 * minimal as {@link BlockServer}, with blocking sockets and 64 KiB writes, so that the two block
 * comparisons differ in the protocol and the client, not in the server.
 * <p>
 * Fragmentation follows {@code HislipServer}: the response goes out as Data messages whose payload
 * is at most the client's announced maximum message size less the 16-byte header (and at most
 * 16 MiB), the last one a DataEND, all carrying the message id of the query's DataEND. The data
 * byte at offset k is {@code (byte) k}, the pattern of {@link BlockServer}.
 * <p>
 * What it speaks besides: Initialize, AsyncInitialize, AsyncMaximumMessageSize (it announces
 * {@value #MAX_MESSAGE_SIZE}), AsyncDeviceClear with DeviceClearComplete, AsyncStatusQuery (status 0).
 * Other messages are skipped, asynchronous ones answered with Error. Program messages other than
 * the query are ignored.
 * <p>
 * Threads: an acceptor and one per channel, daemons of an executor this server owns;
 * {@link #close()} stops them.
 */
final class HislipBlockServer extends LoopbackBlockServer {
    /** What this server accepts from clients, announced in AsyncMaximumMessageSizeResponse. */
    static final long MAX_MESSAGE_SIZE = 1 << 20;
    private static final int HEADER_SIZE = 16;
    private static final int CHUNK = 64 * 1024;
    private static final long LARGEST_FRAGMENT = 1 << 24; // HislipServer's cap on one Data payload

    // IVI-6.1 message type codes
    private static final int INITIALIZE = 0;
    private static final int INITIALIZE_RESPONSE = 1;
    private static final int ERROR = 3;
    private static final int DATA = 6;
    private static final int DATA_END = 7;
    private static final int DEVICE_CLEAR_COMPLETE = 8;
    private static final int DEVICE_CLEAR_ACKNOWLEDGE = 9;
    private static final int ASYNC_MAXIMUM_MESSAGE_SIZE = 15;
    private static final int ASYNC_MAXIMUM_MESSAGE_SIZE_RESPONSE = 16;
    private static final int ASYNC_INITIALIZE = 17;
    private static final int ASYNC_INITIALIZE_RESPONSE = 18;
    private static final int ASYNC_DEVICE_CLEAR = 19;
    private static final int ASYNC_STATUS_QUERY = 21;
    private static final int ASYNC_STATUS_RESPONSE = 22;
    private static final int ASYNC_DEVICE_CLEAR_ACKNOWLEDGE = 23;
    private static final int PROTOCOL_1_0 = 0x0100;
    private static final int VENDOR_ID = 'L' << 8 | 'B';

    private final byte[] pattern = pattern(CHUNK + 256); // pattern[i] == (byte) i
    private final Map<Integer, Session> sessions = new ConcurrentHashMap<>();
    private final AtomicInteger sessionIds = new AtomicInteger();

    /** What the two channels of one HiSLIP session share. */
    private static final class Session {
        volatile long clientMaxMessage = 1 << 20; // IVI-6.1's default until the client announces one
    }

    /** @param length the block's data length in bytes, 0 to 999,999,999 */
    HislipBlockServer(long length) throws IOException {
        super(length, "labhal-bench-hislip-block");
        start();
    }

    /**
     * @param maxMessageSize the client's maximum message size (its {@code max_message_size} option),
     *        or 0 for the transport's default
     * @return the resource string that reaches this server through the HiSLIP transport
     */
    String resource(long maxMessageSize) {
        return "TCPIP::127.0.0.1::hislip0," + port() + "::INSTR"
                + (maxMessageSize > 0 ? "?max_message_size=" + maxMessageSize : "");
    }

    /** The first message says which channel a connection is. */
    @Override
    void serve(Socket socket) throws IOException {
        DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), CHUNK));
        OutputStream out = socket.getOutputStream();
        Header first = Header.read(in);
        in.skipNBytes(first.length());
        if (first.type() == INITIALIZE) {
            int id = sessionIds.incrementAndGet() & 0xffff;
            Session session = new Session();
            sessions.put(id, session);
            try {
                send(out, INITIALIZE_RESPONSE, 0, PROTOCOL_1_0 << 16 | id); // control 0: synchronized mode
                serveSync(session, in, out);
            } finally {
                sessions.remove(id);
            }
        } else if (first.type() == ASYNC_INITIALIZE) {
            Session session = sessions.get(first.parameter() & 0xffff);
            if (session != null) {
                send(out, ASYNC_INITIALIZE_RESPONSE, 0, VENDOR_ID);
                serveAsync(session, in, out);
            }
        }
    }

    private void serveSync(Session session, DataInputStream in, OutputStream out) throws IOException {
        ByteArrayOutputStream message = new ByteArrayOutputStream();
        while (true) {
            Header h = Header.read(in);
            switch (h.type()) {
                case DATA, DATA_END -> {
                    if (h.length() > MAX_MESSAGE_SIZE) {
                        throw new IOException("a Data payload of " + h.length() + " bytes, more than announced");
                    }
                    message.write(in.readNBytes((int) h.length()));
                    if (h.type() == DATA_END) {
                        String text = message.toString(StandardCharsets.US_ASCII).strip();
                        message.reset();
                        if (text.equals(QUERY)) {
                            sendBlock(out, session.clientMaxMessage, h.parameter());
                        }
                    }
                }
                case DEVICE_CLEAR_COMPLETE -> {
                    in.skipNBytes(h.length());
                    message.reset();
                    send(out, DEVICE_CLEAR_ACKNOWLEDGE, 0, 0);
                }
                default -> in.skipNBytes(h.length());
            }
        }
    }

    private void serveAsync(Session session, DataInputStream in, OutputStream out) throws IOException {
        while (true) {
            Header h = Header.read(in);
            switch (h.type()) {
                case ASYNC_MAXIMUM_MESSAGE_SIZE -> {
                    if (h.length() != 8) {
                        throw new IOException("AsyncMaximumMessageSize with " + h.length() + " bytes instead of 8");
                    }
                    long size = in.readLong();
                    session.clientMaxMessage = size < 0 ? Long.MAX_VALUE : Math.max(HEADER_SIZE + 1, size);
                    byte[] frame = header(ASYNC_MAXIMUM_MESSAGE_SIZE_RESPONSE, 0, 0, 8, 8);
                    ByteBuffer.wrap(frame).putLong(HEADER_SIZE, MAX_MESSAGE_SIZE);
                    out.write(frame);
                }
                case ASYNC_DEVICE_CLEAR -> {
                    in.skipNBytes(h.length());
                    send(out, ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, 0, 0);
                }
                case ASYNC_STATUS_QUERY -> {
                    in.skipNBytes(h.length());
                    send(out, ASYNC_STATUS_RESPONSE, 0, 0);
                }
                default -> {
                    in.skipNBytes(h.length());
                    send(out, ERROR, 1, 0); // unrecognized message type
                }
            }
        }
    }

    /**
     * Sends the response message, {@code #<n><length>}, the data and a LF, in Data fragments ending
     * with a DataEND; each write is one header and up to 64 KiB of payload, or up to 64 KiB of payload.
     */
    private void sendBlock(OutputStream out, long clientMaxMessage, int messageId) throws IOException {
        long maxPayload = Math.max(1, Math.min(clientMaxMessage - HEADER_SIZE, LARGEST_FRAGMENT));
        long total = prefix.length + length + 1;
        byte[] frame = new byte[HEADER_SIZE + CHUNK];
        long sent = 0;
        while (sent < total) {
            long fragment = Math.min(maxPayload, total - sent);
            boolean last = sent + fragment == total;
            writeHeader(frame, last ? DATA_END : DATA, 0, messageId, fragment);
            int at = HEADER_SIZE;
            for (long left = fragment; left > 0; ) {
                int n = (int) Math.min(left, frame.length - at);
                messageBytes(sent, frame, at, n);
                sent += n;
                left -= n;
                out.write(frame, 0, at + n);
                at = 0;
            }
        }
        out.flush();
    }

    /** Copies bytes {@code [from, from + n)} of the response message (prefix, data, LF) into {@code into}. */
    private void messageBytes(long from, byte[] into, int offset, int n) {
        long dataEnd = prefix.length + length;
        while (n > 0) {
            int piece;
            if (from < prefix.length) {
                piece = (int) Math.min(n, prefix.length - from);
                System.arraycopy(prefix, (int) from, into, offset, piece);
            } else if (from < dataEnd) {
                long k = from - prefix.length; // data offset; the byte there is (byte) k
                piece = (int) Math.min(n, Math.min(dataEnd - from, CHUNK));
                System.arraycopy(pattern, (int) (k & 0xff), into, offset, piece);
            } else {
                piece = 1;
                into[offset] = '\n';
            }
            from += piece;
            offset += piece;
            n -= piece;
        }
    }

    private static void send(OutputStream out, int type, int control, int parameter) throws IOException {
        out.write(header(type, control, parameter, 0, 0));
    }

    /** @return a frame of the header and room for {@code room} payload bytes */
    private static byte[] header(int type, int control, int parameter, long length, int room) {
        byte[] frame = new byte[HEADER_SIZE + room];
        writeHeader(frame, type, control, parameter, length);
        return frame;
    }

    private static void writeHeader(byte[] frame, int type, int control, int parameter, long length) {
        ByteBuffer.wrap(frame, 0, HEADER_SIZE).put((byte) 'H').put((byte) 'S').put((byte) type).put((byte) control)
                .putInt(parameter).putLong(length);
    }

    /** A received message header. */
    private record Header(int type, int control, int parameter, long length) {
        static Header read(DataInputStream in) throws IOException {
            int h = in.read();
            if (h < 0) {
                throw new EOFException("the client closed the channel");
            }
            if (h != 'H' || in.readUnsignedByte() != 'S') {
                throw new IOException("not a HiSLIP message: no 'HS' prologue");
            }
            int type = in.readUnsignedByte();
            int control = in.readUnsignedByte();
            int parameter = in.readInt();
            long length = in.readLong();
            if (length < 0) {
                throw new IOException("a payload length beyond 2^63 bytes");
            }
            return new Header(type, control, parameter, length);
        }
    }
}
