package org.labhal.transport.vxi11.internal;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.ResourceAddress;
import org.labhal.transport.vxi11.Vxi11Link;

/**
 * Found in review: device_write's RPC record went out with a blocking socket write that had no deadline,
 * so a write to an instrument that stopped reading blocked until another thread closed the link.
 */
class Vxi11WriteDeadlineTest {
    private final Vxi11TransportFactory transport = new Vxi11TransportFactory();
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        transport.deactivate();
        threads.shutdownNow();
    }

    /** An instrument that creates the link (maxRecvSize 16 MiB) and then stops reading its socket, as a busy one does. */
    private ServerSocket busyPeer() throws IOException {
        ServerSocket listener = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        threads.execute(() -> {
            try (Socket s = listener.accept()) {
                RecordStream in = new RecordStream(s.getInputStream(), 1 << 20);
                OutputStream out = s.getOutputStream();
                XdrDecoder d = new XdrDecoder(in.read());
                Rpc.Call call = Rpc.readCall(d);
                XdrEncoder reply = Rpc.accepted(call.xid(), 0, 16).putInt(0).putInt(7).putInt(0).putInt(16 << 20);
                RecordStream.write(out, reply);
                Thread.sleep(60_000); // busy: reads nothing more
            } catch (IOException | InterruptedException e) {
                // done
            }
        });
        return listener;
    }

    @Test
    void aWriteToAnInstrumentThatStopsReadingEndsByItsTimeout() throws Exception {
        try (ServerSocket peer = busyPeer()) {
            Vxi11Link link = (Vxi11Link) transport.open(
                    ResourceAddress.parse("TCPIP::127.0.0.1::inst0::INSTR?port=" + peer.getLocalPort()),
                    Duration.ofSeconds(5));
            Future<?> write = threads.submit(() -> {
                link.write(ByteBuffer.allocate(16 << 20), true, Duration.ofMillis(500));
                return null;
            });
            try {
                write.get(500 + 2000, TimeUnit.MILLISECONDS);
                fail("the write to a peer that reads nothing succeeded");
            } catch (ExecutionException e) {
                // The record was cut in the middle: the link is out of step, which the Connection contract
                // reports as ConnectionLostException (it was an IoTimeoutException until the cut-write fix).
                assertInstanceOf(ConnectionLostException.class, e.getCause());
                assertTrue(e.getCause().getMessage().contains("did not go out whole")
                        && e.getCause().getMessage().contains("the link was closed so that the instrument does not "
                                + "join the next command to the fragment"), e.getCause().getMessage());
                assertThrows(ConnectionLostException.class,
                        () -> link.write(ByteBuffer.allocate(1), true, Duration.ofMillis(500)), "the cut link is closed");
            } catch (TimeoutException e) {
                link.close(); // unblocks it
                fail("write(…, 500 ms) still blocked after " + (500 + 2000)
                        + " ms: RecordStream.write has no deadline");
            }
        }
    }
}
