package org.labhal.transport.hislip.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import org.labhal.api.LabHalException;
import org.labhal.transport.hislip.HislipLink;

/** Message-level helpers for tests that drive {@link HislipLink}s, and a hand-made client that can crash. */
final class Links {
    private Links() {
    }

    static void send(HislipLink link, String message, Duration timeout) throws LabHalException {
        link.write(ByteBuffer.wrap(message.getBytes(StandardCharsets.ISO_8859_1)), true, timeout);
    }

    /** Reads one whole response message. */
    static String receive(HislipLink link, Duration timeout) throws LabHalException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        ByteBuffer chunk = ByteBuffer.allocate(8192);
        boolean end;
        do {
            chunk.clear();
            end = link.read(chunk, timeout);
            all.write(chunk.array(), 0, chunk.position());
        } while (!end);
        return all.toString(StandardCharsets.ISO_8859_1);
    }

    static String query(HislipLink link, String message, Duration timeout) throws LabHalException {
        send(link, message, timeout);
        return receive(link, timeout);
    }

    /**
     * A HiSLIP client made by hand on plain sockets: it opens a session, takes the exclusive lock and
     * can then vanish with a TCP reset, as a crashing controller does.
     */
    static final class CrashingClient implements AutoCloseable {
        private final Socket sync;
        private final Socket async;

        CrashingClient(int port) throws IOException {
            sync = new Socket(InetAddress.getLoopbackAddress(), port);
            RawPeer.send(sync, MessageType.INITIALIZE, 0, 0x0100 << 16 | 'C' << 8 | 'C',
                    "hislip0".getBytes(StandardCharsets.US_ASCII));
            int session = RawPeer.readMessage(sync).parameter() & 0xffff;
            async = new Socket(InetAddress.getLoopbackAddress(), port);
            RawPeer.send(async, MessageType.ASYNC_INITIALIZE, 0, session, new byte[0]);
            RawPeer.readMessage(async);
        }

        /** @return the AsyncLockResponse control code: 1 when granted */
        int lockExclusive() throws IOException {
            RawPeer.send(async, MessageType.ASYNC_LOCK, 1, 10_000, new byte[0]);
            return RawPeer.readMessage(async).control();
        }

        /** Vanishes with a TCP reset on both channels, saying nothing. */
        void crash() throws IOException {
            for (Socket s : new Socket[] {sync, async}) {
                s.setSoLinger(true, 0);
                s.close();
            }
        }

        @Override
        public void close() throws IOException {
            sync.close();
            async.close();
        }
    }
}
