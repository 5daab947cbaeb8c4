package org.labhal.benchmarks;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The least a client can do to ask a question over HiSLIP, the counterpart of {@link RawLineClient}:
 * two {@link Socket}s opened as {@code raw} opens one (TCP_NODELAY, SO_TIMEOUT 5 s), the three
 * opening exchanges (Initialize, AsyncInitialize, AsyncMaximumMessageSize), then per query one
 * {@code write} of header and payload and reads into its own buffer until the DataEND. It checks the
 * prologue and the message id and nothing else: no lock, no device clear, no limits. One thread.
 */
final class RawHislipClient implements AutoCloseable {
    private static final int HEADER = 16;
    private static final int DATA = 6;
    private static final int DATA_END = 7;

    private final Socket sync;
    private final Socket async;
    private final InputStream in;
    private final OutputStream out;
    private final byte[] buffer = new byte[8192];
    private int head; // buffer[head, tail) is received and not yet taken
    private int tail;
    private int messageId = 0xFFFF_FF00;

    RawHislipClient(String host, int port) throws IOException {
        sync = open(host, port);
        Socket a = null;
        try {
            in = sync.getInputStream();
            out = sync.getOutputStream();
            send(out, 0, 0, 0x0100 << 16 | 'L' << 8 | 'H', "hislip0".getBytes(StandardCharsets.US_ASCII));
            ByteBuffer h = header(in, 1);
            int session = h.getInt(4) & 0xffff;
            a = open(host, port);
            send(a.getOutputStream(), 17, 0, session, new byte[0]);
            header(a.getInputStream(), 18);
            send(a.getOutputStream(), 15, 0, 0, ByteBuffer.allocate(8).putLong(0, 1 << 20).array());
            h = header(a.getInputStream(), 16);
            a.getInputStream().readNBytes((int) h.getLong(8));
            async = a;
        } catch (IOException | RuntimeException e) {
            sync.close();
            if (a != null) {
                a.close();
            }
            throw e;
        }
    }

    private static Socket open(String host, int port) throws IOException {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port), 5000);
            socket.setSoTimeout(5000);
        } catch (IOException e) {
            socket.close();
            throw e;
        }
        return socket;
    }

    private static void send(OutputStream to, int type, int control, int parameter, byte[] payload) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(HEADER + payload.length);
        b.put((byte) 'H').put((byte) 'S').put((byte) type).put((byte) control).putInt(parameter)
                .putLong(payload.length).put(payload);
        to.write(b.array());
        to.flush();
    }

    private static ByteBuffer header(InputStream from, int expectedType) throws IOException {
        byte[] h = from.readNBytes(HEADER);
        if (h.length < HEADER || h[0] != 'H' || h[1] != 'S' || h[2] != expectedType) {
            throw new IOException("expected message type " + expectedType + ", got " + (h.length < 3 ? "end of stream"
                    : "type " + h[2]));
        }
        return ByteBuffer.wrap(h);
    }

    /**
     * @param query the program message, e.g. {@code "*IDN?\n"} in ASCII, sent as one DataEND
     * @return the answer's text without a trailing LF
     */
    String query(byte[] query) throws IOException {
        int id = messageId;
        messageId += 2;
        byte[] message = new byte[HEADER + query.length];
        message[0] = 'H';
        message[1] = 'S';
        message[2] = DATA_END;
        message[4] = (byte) (id >>> 24);
        message[5] = (byte) (id >>> 16);
        message[6] = (byte) (id >>> 8);
        message[7] = (byte) id;
        message[15] = (byte) query.length; // short queries only
        System.arraycopy(query, 0, message, HEADER, query.length);
        out.write(message);
        out.flush();
        StringBuilder answer = null;
        while (true) {
            fill(HEADER);
            int type = buffer[head + 2];
            int got = (buffer[head + 4] & 0xff) << 24 | (buffer[head + 5] & 0xff) << 16 | (buffer[head + 6] & 0xff) << 8
                    | buffer[head + 7] & 0xff;
            long length = ByteBuffer.wrap(buffer, head + 8, 8).getLong();
            if (buffer[head] != 'H' || buffer[head + 1] != 'S' || type != DATA && type != DATA_END || got != id
                    || length > buffer.length - HEADER) {
                throw new IOException("unexpected message: type " + type + ", id " + Integer.toHexString(got)
                        + ", length " + length);
            }
            head += HEADER;
            fill((int) length);
            int end = head + (int) length;
            boolean last = type == DATA_END;
            int textEnd = last && length > 0 && buffer[end - 1] == '\n' ? end - 1 : end;
            String text = new String(buffer, head, textEnd - head, StandardCharsets.ISO_8859_1);
            head = end;
            if (last && answer == null) {
                return text;
            }
            answer = answer == null ? new StringBuilder(text) : answer.append(text);
            if (last) {
                return answer.toString();
            }
        }
    }

    private void fill(int count) throws IOException {
        while (tail - head < count) {
            if (head > 0) {
                System.arraycopy(buffer, head, buffer, 0, tail - head);
                tail -= head;
                head = 0;
            }
            int n = in.read(buffer, tail, buffer.length - tail);
            if (n < 0) {
                throw new EOFException("the peer closed the connection");
            }
            tail += n;
        }
    }

    @Override
    public void close() throws IOException {
        try {
            async.close();
        } finally {
            sync.close();
        }
    }
}
