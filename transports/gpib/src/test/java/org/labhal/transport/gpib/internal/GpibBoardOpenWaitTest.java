package org.labhal.transport.gpib.internal;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;

/**
 * Opening a board whose controller is slow to answer: a second caller waiting for the first caller's open keeps to
 * its own open timeout and ends at an interrupt, rather than waiting out the other's open (it waited on a monitor).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GpibBoardOpenWaitTest {
    private final GpibTransportFactory transport = new GpibTransportFactory();
    private final CountDownLatch accepted = new CountDownLatch(1);
    private ServerSocket server;
    private Socket peer;

    @AfterEach
    void stop() throws IOException {
        transport.deactivate();
        if (peer != null) {
            peer.close();
        }
        server.close();
    }

    /** A controller that accepts the link and never answers {@code ++ver}; the first open waits 20 s for it. */
    private void silentController() throws IOException {
        server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        CompletableFuture.runAsync(() -> {
            try {
                peer = server.accept();
                accepted.countDown();
            } catch (IOException e) {
                // test over
            }
        });
        Map<String, Object> p = new HashMap<>();
        p.put("service.pid", "org.labhal.gpib.board~silent");
        p.put("board", 0);
        p.put("controller", "TCPIP::127.0.0.1::" + server.getLocalPort() + "::SOCKET");
        p.put("read_tmo_ms", 200);
        p.put("open_timeout_ms", 20_000);
        transport.addBoard(new GpibBoard(p));
    }

    private CompletableFuture<Void> firstOpenUnderWay() throws InterruptedException {
        CompletableFuture<Void> first = CompletableFuture.runAsync(() -> {
            try {
                transport.open(ResourceAddress.parse("GPIB0::5::INSTR"), Duration.ofSeconds(20)).close();
            } catch (Exception e) {
                // ends with the transport
            }
        });
        assertTrue(accepted.await(20, TimeUnit.SECONDS), "the first open reached the controller");
        return first;
    }

    @Test
    void aSecondOpenerKeepsToItsOwnTimeout() throws Exception {
        silentController();
        firstOpenUnderWay();
        IoTimeoutException late = assertThrows(IoTimeoutException.class,
                () -> transport.open(ResourceAddress.parse("GPIB0::6::INSTR"), Duration.ofMillis(300)));
        assertTrue(late.getMessage().contains("still being opened for another caller"), late.getMessage());
    }

    @Test
    void aSecondOpenerEndsAtAnInterrupt() throws Exception {
        silentController();
        firstOpenUnderWay();
        Thread[] second = new Thread[1];
        CompletableFuture<Void> waiting = CompletableFuture.runAsync(() -> {
            second[0] = Thread.currentThread();
            try {
                transport.open(ResourceAddress.parse("GPIB0::6::INSTR"), Duration.ofSeconds(20));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while ((second[0] == null || second[0].getState() != Thread.State.TIMED_WAITING) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        second[0].interrupt();
        ExecutionException ended = assertThrows(ExecutionException.class, () -> waiting.get(10, TimeUnit.SECONDS),
                "ended well before its 20 s");
        assertInstanceOf(StepInterruptedException.class, ended.getCause().getCause(), ended.toString());
    }
}
