package org.labhal.transport.hislip.internal;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;

/**
 * A scripted HiSLIP peer on a loopback socket for failure tests: does the handshake by hand, then
 * sends whatever the test wants, however broken.
 */
final class RawPeer implements AutoCloseable {
    final ServerSocket listener;
    Socket sync;
    Socket async;

    RawPeer() throws IOException {
        listener = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
    }

    String resource() {
        return "TCPIP::127.0.0.1::hislip0," + listener.getLocalPort() + "::INSTR";
    }

    /** Accepts both channels and answers Initialize, AsyncInitialize and AsyncMaximumMessageSize. */
    void handshake() throws IOException {
        handshake(false);
    }

    /** The same, reporting overlapped or synchronized mode. */
    void handshake(boolean overlapped) throws IOException {
        sync = listener.accept();
        readMessage(sync);
        send(sync, MessageType.INITIALIZE_RESPONSE, overlapped ? 1 : 0, 0x0100_0007, new byte[0]);
        async = listener.accept();
        readMessage(async);
        send(async, MessageType.ASYNC_INITIALIZE_RESPONSE, 0, 'R' << 8 | 'P', new byte[0]);
        readMessage(async);
        send(async, MessageType.ASYNC_MAXIMUM_MESSAGE_SIZE_RESPONSE, 0, 0,
                ByteBuffer.allocate(8).putLong(1 << 20).array());
    }

    /** Reads one message; returns its header and payload. */
    static Message readWhole(Socket s) throws IOException {
        DataInputStream in = new DataInputStream(s.getInputStream());
        byte[] raw = new byte[16];
        in.readFully(raw);
        ByteBuffer b = ByteBuffer.wrap(raw);
        Header h = new Header(MessageType.of(raw[2]), raw[3] & 0xff, b.getInt(4), b.getLong(8));
        byte[] payload = new byte[(int) h.length()];
        in.readFully(payload);
        return new Message(h, new String(payload, java.nio.charset.StandardCharsets.ISO_8859_1));
    }

    /** A message read by {@link #readWhole}. */
    record Message(Header header, String text) {
    }

    /** Reads one message; returns its header (payload skipped). */
    static Header readMessage(Socket s) throws IOException {
        DataInputStream in = new DataInputStream(s.getInputStream());
        byte[] raw = new byte[16];
        in.readFully(raw);
        ByteBuffer b = ByteBuffer.wrap(raw);
        Header h = new Header(MessageType.of(raw[2]), raw[3] & 0xff, b.getInt(4), b.getLong(8));
        in.skipNBytes(h.length());
        return h;
    }

    static void send(Socket s, MessageType type, int control, int parameter, byte[] payload) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(new Header(type, control, parameter, payload.length).encode().array());
        out.write(payload);
        out.flush();
    }

    static void sendRaw(Socket s, byte[] bytes) throws IOException {
        s.getOutputStream().write(bytes);
        s.getOutputStream().flush();
    }

    @Override
    public void close() throws IOException {
        for (AutoCloseable c : new AutoCloseable[] {sync, async, listener}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception ignored) {
                // best effort
            }
        }
    }
}
