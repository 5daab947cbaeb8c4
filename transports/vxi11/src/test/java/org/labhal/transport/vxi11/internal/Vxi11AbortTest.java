package org.labhal.transport.vxi11.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.transport.vxi11.internal.Steps.LONG;
import static org.labhal.transport.vxi11.internal.Steps.await;
import static org.labhal.transport.vxi11.internal.Steps.query;
import static org.labhal.transport.vxi11.internal.Steps.write;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.transport.sim.SimSettings;
import org.labhal.transport.vxi11.Vxi11AbortedException;
import org.labhal.transport.vxi11.Vxi11Error;
import org.labhal.transport.vxi11.Vxi11Link;
import org.labhal.transport.vxi11.sim.Vxi11SimServer;

/**
 * The abort channel, client and simulator together: a call blocked on the instrument ends with
 * error 23 when the link is aborted, closed, its transport stopped or its caller interrupted, and the
 * instrument gives up what the call held at once, not at the call's I/O timeout.
 */
class Vxi11AbortTest {
    /** The I/O timeout of calls that only an abort may end: a regression fails on the 10 s waits below. */
    private static final Duration BLOCKED = Duration.ofSeconds(60);

    private final Vxi11TransportFactory transport = new Vxi11TransportFactory();
    private final Vxi11TransportFactory otherProcess = new Vxi11TransportFactory();
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private Vxi11SimServer server;

    @AfterEach
    void stop() {
        transport.deactivate();
        otherProcess.deactivate();
        threads.shutdownNow();
        if (server != null) {
            server.close();
        }
    }

    private Vxi11Link open(Vxi11TransportFactory factory) throws LabHalException {
        return (Vxi11Link) factory.open(ResourceAddress.parse(server.resource()), LONG);
    }

    /** Starts a read that no response will end, and waits until the simulator is carrying it out. */
    private Future<Boolean> blockedRead(Vxi11Link link) {
        Future<Boolean> read = threads.submit(() -> link.read(ByteBuffer.allocate(100), BLOCKED));
        await(() -> server.callsInProgress() == 1, "the read reached the simulator");
        return read;
    }

    private static Throwable failureOf(Future<?> call) throws InterruptedException {
        ExecutionException e = assertThrows(ExecutionException.class, () -> call.get(10, TimeUnit.SECONDS));
        return e.getCause();
    }

    @Test
    void abortEndsABlockedReadWithErrorTwentyThreeAndTheLinkKeepsWorkingAndLocked() throws Exception {
        server = Vxi11SimServer.builder("SMW200A").start();
        try (Vxi11Link link = open(transport)) {
            link.lock(Duration.ZERO);
            Future<Boolean> read = blockedRead(link);
            link.abort(LONG);
            Vxi11AbortedException aborted = assertInstanceOf(Vxi11AbortedException.class, failureOf(read));
            assertEquals(Vxi11Error.ABORT, aborted.error());
            assertEquals(23, aborted.code());
            assertEquals("device_read", aborted.operation());
            assertTrue(aborted.getMessage().contains("device_read failed with VXI-11 error 23 (abort)"),
                    aborted.getMessage());
            assertEquals(0, server.callsInProgress());
            assertTrue(server.locked(), "an abort keeps the device lock");
            assertEquals("again", query(link, "SIM:ECHO? again"), "the link goes on, in step");
            link.unlock();
        }
    }

    @Test
    void abortEndsAWriteWaitingForTheInstrument() throws Exception {
        server = Vxi11SimServer.builder("SMW200A")
                .settings(SimSettings.defaults().withProcessingDelay(Duration.ofMinutes(10))).start();
        try (Vxi11Link link = open(transport)) {
            Future<?> written = threads.submit(() -> {
                link.write(ByteBuffer.wrap("*RST".getBytes()), true, BLOCKED);
                return null;
            });
            await(() -> server.callsInProgress() == 1, "the write reached the simulator");
            link.abort(LONG);
            Vxi11AbortedException aborted = assertInstanceOf(Vxi11AbortedException.class, failureOf(written));
            assertEquals("device_write", aborted.operation());
            assertEquals(0, server.callsInProgress());
        }
    }

    @Test
    void abortWithNoCallInProgressChangesNothing() throws Exception {
        server = Vxi11SimServer.builder("SMW200A").start();
        try (Vxi11Link link = open(transport)) {
            link.abort(LONG);
            link.abort(LONG); // over the same abort connection
            write(link, "SIM:ECHO? answered");
            assertEquals("answered", Steps.read(link, 100, LONG), "an earlier abort does not end a later read");
        }
    }

    @Test
    void closingFromAnotherThreadAbortsTheBlockedReadThenDestroysTheLink() throws Exception {
        server = Vxi11SimServer.builder("SMW200A").start();
        Vxi11Link link = open(transport);
        link.lock(Duration.ZERO);
        Future<Boolean> read = blockedRead(link);
        link.close();
        ConnectionLostException lost = assertInstanceOf(ConnectionLostException.class, failureOf(read));
        assertTrue(lost.getMessage().contains("closed by its owner"), lost.getMessage());
        assertInstanceOf(Vxi11AbortedException.class, lost.getCause(), "the instrument ended the read: aborted");
        // close() returned after destroy_link's answer: nothing is left on the instrument
        assertEquals(0, server.openLinks(), "destroy_link followed the abort");
        assertFalse(server.locked());
        try (Vxi11Link other = open(otherProcess)) {
            other.lock(Duration.ZERO);
            other.unlock();
        }
    }

    @Test
    void stoppingTheTransportAbortsBlockedReadsOnEveryLink() throws Exception {
        server = Vxi11SimServer.builder("SHARED").start();
        Vxi11Link a = open(transport);
        Vxi11Link b = open(transport);
        Future<Boolean> readA = threads.submit(() -> a.read(ByteBuffer.allocate(100), BLOCKED));
        Future<Boolean> readB = threads.submit(() -> b.read(ByteBuffer.allocate(100), BLOCKED));
        await(() -> server.callsInProgress() == 2, "both reads reached the simulator");
        transport.deactivate();
        for (Future<Boolean> read : Arrays.asList(readA, readB)) {
            ConnectionLostException lost = assertInstanceOf(ConnectionLostException.class, failureOf(read));
            assertTrue(lost.getMessage().contains("the VXI-11 transport stopped"), lost.getMessage());
            assertInstanceOf(Vxi11AbortedException.class, lost.getCause());
        }
        assertEquals(0, server.openLinks());
    }

    @Test
    void interruptingABlockedReadAbortsItAndClosesTheLinkReleasingItsLock() throws Exception {
        server = Vxi11SimServer.builder("SMW200A").start();
        Vxi11Link link = open(transport);
        link.lock(Duration.ZERO);
        CompletableFuture<Thread> reader = new CompletableFuture<>();
        Future<Boolean> stillInterrupted = threads.submit(() -> {
            reader.complete(Thread.currentThread());
            StepInterruptedException e = assertThrows(StepInterruptedException.class,
                    () -> link.read(ByteBuffer.allocate(100), BLOCKED));
            assertTrue(e.getMessage().contains("interrupted during device_read; the call was aborted and the link "
                    + "closed"), e.getMessage());
            assertInstanceOf(InterruptedException.class, e.getCause());
            assertTrue(Arrays.stream(e.getSuppressed()).anyMatch(Vxi11AbortedException.class::isInstance),
                    "the instrument ended the read with error 23: " + Arrays.toString(e.getSuppressed()));
            return Thread.currentThread().isInterrupted();
        });
        await(() -> server.callsInProgress() == 1, "the read reached the simulator");
        reader.get(10, TimeUnit.SECONDS).interrupt();
        assertTrue(stillInterrupted.get(10, TimeUnit.SECONDS), "the interrupt status is set again");
        assertEquals(0, server.openLinks(), "destroy_link was sent before the exception");
        assertFalse(server.locked());
        ConnectionLostException closed = assertThrows(ConnectionLostException.class, () -> query(link, "*IDN?"));
        assertTrue(closed.getMessage().contains("closed because the caller was interrupted during device_read"),
                closed.getMessage());
    }

    @Test
    void aCallStartedWhileInterruptedSendsNothingAndTheLinkStaysOpen() throws Exception {
        server = Vxi11SimServer.builder("SMW200A").start();
        try (Vxi11Link link = open(transport)) {
            Thread.currentThread().interrupt();
            try {
                StepInterruptedException e = assertThrows(StepInterruptedException.class,
                        () -> write(link, "SIM:ECHO? never"));
                assertTrue(e.getMessage().contains("interrupted before device_write was sent; the link stays open"),
                        e.getMessage());
                assertTrue(Thread.currentThread().isInterrupted(), "the status stays set");
            } finally {
                Thread.interrupted();
            }
            // Had the write arrived, its unread answer would now be discarded with -410 "Query INTERRUPTED"
            assertEquals("0,\"No error\"", query(link, "SYST:ERR?"), "nothing of the interrupted write arrived");
        }
    }

    @Test
    void abortOnAClosedLinkIsConnectionLost() throws Exception {
        server = Vxi11SimServer.builder("SMW200A").start();
        Vxi11Link link = open(transport);
        link.close();
        assertThrows(ConnectionLostException.class, () -> link.abort(LONG));
    }

    @Test
    void withoutAnAbortChannelCloseCutsTheConnectionAndTheInstrumentStillFreesTheLock() throws Exception {
        server = Vxi11SimServer.builder("SMW200A").abortChannel(false).start();
        assertTrue(server.abortPort().isEmpty());
        Vxi11Link link = open(transport);
        LabHalException none = assertThrows(LabHalException.class, () -> link.abort(LONG));
        assertTrue(none.getMessage().contains("offers no abort channel (create_link answered abortPort 0)"),
                none.getMessage());
        link.lock(Duration.ZERO);
        Future<Boolean> read = blockedRead(link);
        link.close();
        ConnectionLostException lost = assertInstanceOf(ConnectionLostException.class, failureOf(read));
        assertFalse(lost.getCause() instanceof Vxi11AbortedException, "nothing could abort it: it was cut off");
        try (Vxi11Link other = open(otherProcess)) {
            other.lock(Duration.ofSeconds(10)); // the simulator saw the connection end; the read's 60 s do not count
            other.unlock();
        }
    }
}
