package org.labhal.transport.usbtmc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.transport.Connection;

/** Interrupts and closes from another thread while a transfer waits. */
class UsbtmcInterruptTest {
    private static final Duration LONG = Duration.ofSeconds(30);
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void stop() throws InterruptedException {
        threads.shutdownNow();
        assertTrue(threads.awaitTermination(10, TimeUnit.SECONDS));
    }

    @Test
    void anInterruptEndsAWaitingReadAtOnceAndKeepsTheFlag() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A"); Connection c = sim.open()) {
            // a read with no query before it: the device holds the request, having nothing to say
            AtomicBoolean flagKept = new AtomicBoolean();
            CompletableFuture<Thread> reader = new CompletableFuture<>();
            Future<?> read = threads.submit(() -> {
                reader.complete(Thread.currentThread());
                try {
                    c.read(ByteBuffer.allocate(100), LONG);
                    return null;
                } finally {
                    flagKept.set(Thread.currentThread().isInterrupted());
                }
            });
            assertTrue(sim.device.awaitHostWaiting(UsbSim.IO));
            reader.get().interrupt();
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> read.get(10, TimeUnit.SECONDS)); // not the 30 s of its timeout
            assertInstanceOf(StepInterruptedException.class, e.getCause());
            assertTrue(flagKept.get(), "the interrupt flag stays set");
            assertTrue(c.isOpen());
            assertEquals("next", UsbSim.query(c, "SIM:ECHO? next"), "the interrupted transfer was aborted");
        }
    }

    @Test
    void anInterruptedThreadDoesNotStartAWrite() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A"); Connection c = sim.open()) {
            int before = sim.device.messageTransfers();
            Thread.currentThread().interrupt();
            try {
                org.junit.jupiter.api.Assertions.assertThrows(StepInterruptedException.class,
                        () -> UsbSim.write(c, "SIM:ECHO? no", UsbSim.IO));
                assertTrue(Thread.currentThread().isInterrupted());
            } finally {
                Thread.interrupted();
            }
            assertEquals(before, sim.device.messageTransfers());
            assertEquals("yes", UsbSim.query(c, "SIM:ECHO? yes"));
        }
    }

    @Test
    void closeFromAnotherThreadWakesABlockedRead() throws Exception {
        try (UsbSim sim = new UsbSim("SHARED")) {
            Connection c = sim.open();
            Future<?> read = threads.submit(() -> c.read(ByteBuffer.allocate(100), LONG));
            assertTrue(sim.device.awaitHostWaiting(UsbSim.IO));
            c.close();
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> read.get(10, TimeUnit.SECONDS));
            assertInstanceOf(ConnectionLostException.class, e.getCause());
            assertFalse(c.isOpen());
            try (Connection again = sim.open()) { // the interface was released
                assertEquals("+1.00000000E-03", UsbSim.query(again, "MEAS:VOLT? (@1)"));
            }
        }
    }

    @Test
    void aRawPipeReadIsWokenByAnInterruptAndByClose() throws Exception {
        try (UsbSim sim = new UsbSim("SHARED", org.labhal.transport.sim.SimSettings.defaults(), b -> b.raw(true))) {
            Connection c = sim.open();
            AtomicBoolean flagKept = new AtomicBoolean();
            CompletableFuture<Thread> reader = new CompletableFuture<>();
            Future<?> read = threads.submit(() -> {
                reader.complete(Thread.currentThread());
                try {
                    return c.read(ByteBuffer.allocate(100), LONG); // nothing asked: nothing comes
                } finally {
                    flagKept.set(Thread.currentThread().isInterrupted());
                }
            });
            assertTrue(sim.device.awaitHostWaiting(UsbSim.IO));
            reader.get().interrupt();
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> read.get(10, TimeUnit.SECONDS));
            assertInstanceOf(StepInterruptedException.class, e.getCause());
            assertTrue(flagKept.get());
            assertEquals("+7.00000000E-03", UsbSim.query(c, "MEAS:VOLT? (@7)"));

            Future<?> blocked = threads.submit(() -> c.read(ByteBuffer.allocate(100), LONG));
            assertTrue(sim.device.awaitHostWaiting(UsbSim.IO));
            c.close();
            ExecutionException closed = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> blocked.get(10, TimeUnit.SECONDS));
            assertInstanceOf(ConnectionLostException.class, closed.getCause());
        }
    }

    @Test
    void stoppingTheTransportWakesABlockedReadAndClosesEveryLink() throws Exception {
        try (UsbSim sim = new UsbSim("SMW200A")) {
            Connection c = sim.open();
            Future<?> read = threads.submit(() -> c.read(ByteBuffer.allocate(100), LONG));
            assertTrue(sim.device.awaitHostWaiting(UsbSim.IO));
            sim.factory.deactivate();
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> read.get(10, TimeUnit.SECONDS));
            assertInstanceOf(ConnectionLostException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("USBTMC transport stopped"), e.getCause().getMessage());
            assertEquals(0, sim.factory.openConnections());
        }
    }
}
