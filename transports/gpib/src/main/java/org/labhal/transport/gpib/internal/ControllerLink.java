package org.labhal.transport.gpib.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import org.labhal.api.transport.Deadline;

import com.fazecast.jSerialComm.SerialPort;

/**
 * The byte link to one Prologix-style controller: a TCP socket (GPIB-ETHERNET) or a serial port
 * (GPIB-USB, a virtual COM port). A pump thread reads it into the {@link Inbox} for as long as it is
 * open; writes come from the bus call that holds the board mutex. When the link fails the inbox
 * says why and {@code onFailure} hears it once.
 */
abstract class ControllerLink {
    /** The most bytes one read of the link takes. */
    static final int CHUNK = 4096;
    /** How long past its deadline a blocked write may take before the link is given up. */
    static final long WRITE_GRACE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /** How often a blocked TCP write's guard looks at the deadline and the writer's interrupt flag. */
    static final long WRITE_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    final Inbox inbox;
    final String description;
    private final Consumer<String> onFailure;
    private volatile boolean closed;
    private volatile Thread pumpThread;

    ControllerLink(String description, int inboxBytes, Consumer<String> onFailure) {
        this.description = description;
        this.inbox = new Inbox(inboxBytes);
        this.onFailure = onFailure;
    }

    /**
     * Sends bytes; a write still blocked at the deadline fails the link, the only way to abort it.
     *
     * @throws IOException when the link failed; it is then closed
     */
    abstract void write(byte[] bytes, Deadline deadline) throws IOException;

    /** Reads one chunk into {@code buffer}: > 0 bytes, 0 for nothing yet, -1 for the end. */
    abstract int readChunk(byte[] buffer) throws IOException;

    /** Frees the socket or port. */
    abstract void release();

    /** Runs the pump in the calling thread until the link ends. */
    final void pump() {
        pumpThread = Thread.currentThread();
        byte[] buffer = new byte[CHUNK];
        String why = "it was closed";
        try {
            while (!closed) {
                int n = readChunk(buffer);
                if (n < 0) {
                    why = "the controller closed the link";
                    break;
                }
                if (n > 0 && !inbox.put(buffer, 0, n)) {
                    break;
                }
            }
        } catch (IOException e) {
            why = closed ? "it was closed" : "reading from the controller failed: " + e.getMessage();
        } catch (InterruptedException e) {
            why = "the transport stopped";
        } finally {
            fail(why);
            release();
        }
    }

    /** Fails the link once: waiters wake with {@code why}. */
    final void fail(String why) {
        boolean first;
        synchronized (this) {
            first = !closed;
            closed = true;
        }
        try {
            if (first) {
                onFailure.accept(why); // first, so that woken waiters already see the board ended
            }
        } finally {
            inbox.fail(why);
            release();
        }
    }

    /** A blocking write of the link. */
    @FunctionalInterface
    interface Transfer {
        void run() throws IOException;
    }

    /**
     * Runs a write under a guard that looks, every {@link #WRITE_POLL_NANOS}, at the deadline (plus
     * {@link #WRITE_GRACE_NANOS}, so that a write that merely starts late is not taken for a stuck
     * controller: failing the link ends every instrument's connection on the board) and at the writer's
     * interrupt flag, and gives the write up with {@code giveUp}, which fails the link (the only way to end a
     * blocked write; part of the host line may have gone out). The guard and the write's end are one
     * decision: a write that ended before the guard acted is not given up, so an interrupt that comes just as
     * a write completes leaves the link alone (the caller's next wait sees the flag); one that was given up
     * throws, whatever the write itself did.
     *
     * @param how what to add to the reason, e.g. how the link is ended
     */
    final void guardedWrite(Transfer transfer, Deadline deadline, ScheduledExecutorService watchdog, String how,
            Consumer<String> giveUp) throws IOException {
        Thread writer = Thread.currentThread();
        long end = System.nanoTime() + deadline.remainingNanos() + WRITE_GRACE_NANOS;
        AtomicInteger state = new AtomicInteger(); // 0 writing, 1 done, 2 given up
        String[] reason = new String[1];
        ScheduledFuture<?> guard = watchdog.scheduleWithFixedDelay(() -> {
            String why = writer.isInterrupted()
                    ? "the thread writing to the controller was interrupted while the write was blocked (the "
                            + "controller stopped reading)" + how
                    : System.nanoTime() - end >= 0 ? "a write to the controller did not complete within "
                            + deadline.timeout().toMillis() + " ms (it stopped reading)" + how : null;
            if (why != null && state.compareAndSet(0, 2)) {
                reason[0] = why;
                giveUp.accept(why);
            }
        }, WRITE_POLL_NANOS, WRITE_POLL_NANOS, TimeUnit.NANOSECONDS);
        try {
            transfer.run();
        } finally {
            guard.cancel(false);
        }
        if (!state.compareAndSet(0, 1)) {
            throw new IOException(reason[0]);
        }
    }

    /** Starts the pump; when the transport is stopping and refuses it, frees the link and says so. */
    final void start(Executor pumps, Runnable free) throws IOException {
        try {
            pumps.execute(this::pump);
        } catch (RejectedExecutionException e) {
            free.run();
            throw new IOException("the GPIB transport is stopping", e);
        }
    }

    /** @return whether the calling thread is this link's pump */
    final boolean inPump() {
        return Thread.currentThread() == pumpThread;
    }

    /** GPIB-ETHERNET: TCP port 1234 of the controller. */
    static final class Tcp extends ControllerLink {
        private final Socket socket = new Socket();
        private final ScheduledExecutorService watchdog;
        private InputStream in;
        private OutputStream out;

        Tcp(String host, int port, Deadline deadline, int inboxBytes, ScheduledExecutorService watchdog,
                Executor pumps, Consumer<String> onFailure) throws IOException {
            super("TCP " + host + ":" + port, inboxBytes, onFailure);
            this.watchdog = watchdog;
            try {
                socket.setTcpNoDelay(true);
                socket.setKeepAlive(true);
                int millis = deadline.remainingMillis();
                if (millis == 0) {
                    throw new SocketTimeoutException("no time left to connect");
                }
                socket.connect(new InetSocketAddress(host, port), millis);
                in = socket.getInputStream();
                out = socket.getOutputStream();
            } catch (IOException | RuntimeException e) {
                socket.close();
                throw e;
            }
            start(pumps, this::release);
        }

        /** A write under {@link #guardedWrite}: given up, the link ends with a reset. */
        @Override
        void write(byte[] bytes, Deadline deadline) throws IOException {
            try {
                guardedWrite(() -> {
                    out.write(bytes);
                    out.flush();
                }, deadline, watchdog, "", this::abort);
            } catch (IOException e) {
                fail("writing to the controller failed: " + e.getMessage());
                throw e;
            }
        }

        /**
         * Fails the link with a TCP reset: what the given-up write left in the socket's send buffer is
         * dropped, never delivered to the controller later, where it would reach the instrument in the
         * middle of another connection's traffic (the bus is shared by every controller link).
         */
        private void abort(String why) {
            try {
                socket.setSoLinger(true, 0);
            } catch (IOException e) {
                // closing anyway
            }
            fail(why);
        }

        @Override
        int readChunk(byte[] buffer) throws IOException {
            return in.read(buffer);
        }

        @Override
        void release() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closed anyway
            }
        }
    }

    /**
     * GPIB-USB: a serial port (FTDI virtual COM port; baud rate is ignored by the real one). Reads are
     * semi-blocking in slices of {@link #SLICE_MILLIS}, so the pump notices a close within a slice and
     * frees the port itself: closing it under a read in the kernel would free its descriptor there.
     */
    static final class Serial extends ControllerLink {
        static final int SLICE_MILLIS = 100;
        private final SerialPort port;
        private final ScheduledExecutorService watchdog;
        private final Object releasing = new Object();
        private volatile boolean released;

        Serial(String device, int baud, int inboxBytes, ScheduledExecutorService watchdog, Executor pumps,
                Consumer<String> onFailure) throws IOException {
            super("serial " + device, inboxBytes, onFailure);
            this.watchdog = watchdog;
            try {
                port = SerialPort.getCommPort(device);
            } catch (RuntimeException e) {
                throw new IOException("no serial device at " + device, e);
            } catch (LinkageError e) {
                throw new IOException("jSerialComm's native library does not load on this system (" + e + ")", e);
            }
            port.setComPortParameters(baud, 8, SerialPort.ONE_STOP_BIT, SerialPort.NO_PARITY);
            port.setFlowControl(SerialPort.FLOW_CONTROL_DISABLED);
            // Writes block at most a slice at a time where the driver honours it (a pty does not: see write)
            port.setComPortTimeouts(SerialPort.TIMEOUT_READ_SEMI_BLOCKING | SerialPort.TIMEOUT_WRITE_BLOCKING,
                    SLICE_MILLIS, SLICE_MILLIS);
            if (!port.openPort(0)) {
                throw new IOException("cannot open " + device + " (error " + port.getLastErrorCode() + ")");
            }
            port.flushIOBuffers();
            start(pumps, port::closePort);
        }

        /**
         * A write under {@link #guardedWrite}. A serial write can block in the kernel past the port's own
         * write timeout (a pseudo-terminal whose far side stopped reading does) and ignores interrupts: given
         * up, the link fails, and the pump, which leaves its read within a slice, closes the port, which ends
         * the write.
         */
        @Override
        void write(byte[] bytes, Deadline deadline) throws IOException {
            if (released) {
                throw new IOException("the port is closed");
            }
            guardedWrite(() -> {
                int done = 0;
                while (done < bytes.length) {
                    int n = released ? -1 : port.writeBytes(bytes, bytes.length - done, done);
                    if (n < 0) {
                        String why = "writing to the controller failed (" + (released ? "the port was closed"
                                : "error " + port.getLastErrorCode()) + ")";
                        fail(why);
                        throw new IOException(why);
                    }
                    done += n;
                }
            }, deadline, watchdog, "; the port was closed, the only way to end a blocked serial write", this::fail);
        }

        @Override
        int readChunk(byte[] buffer) throws IOException {
            int n = port.readBytes(buffer, buffer.length);
            if (n < 0) {
                throw new IOException("the device hung up (error " + port.getLastErrorCode() + ")");
            }
            return n;
        }

        @Override
        void release() {
            // Called by fail() from any thread and by the pump on its way out: only the pump's call,
            // made when no read is in the kernel, really frees the port (a blocked write is woken by it).
            if (inPump()) {
                synchronized (releasing) {
                    if (!released) {
                        released = true;
                        port.closePort();
                    }
                }
            }
        }
    }
}
