package org.labhal.transport.usbtmc.internal;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.Deadline;
import org.labhal.api.transport.Uninterruptibly;
import org.labhal.transport.usbtmc.UsbDevice;
import org.labhal.transport.usbtmc.UsbException;

/**
 * A raw USB bulk pipe ({@code USB::...::RAW}): a byte stream. A write sends the message and, with END,
 * the write termination on Bulk-OUT; a read takes Bulk-IN transfers into a buffer of a fixed size and
 * ends a message at the read termination byte, keeping what follows for the next read. There is no
 * abort or device clear on a raw pipe: {@link #clear} drains Bulk-IN until it stays quiet, bounded by
 * its timeout. Sessions call one step at a time; {@link #close()} may come from any thread.
 */
final class UsbRawConnection implements Connection {
    /** A drain ends when Bulk-IN stayed quiet this long. */
    private static final long QUIET_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final String resource;
    private final UsbDevice device;
    private final UsbSettings settings;
    private final Consumer<UsbRawConnection> onClosed;
    private final byte[] out;
    private final byte[] in;
    private int head;
    private int tail;
    private volatile String closedBecause;

    UsbRawConnection(String resource, UsbDevice device, UsbSettings settings, Consumer<UsbRawConnection> onClosed) {
        this.resource = Objects.requireNonNull(resource, "resource");
        this.device = device;
        this.settings = settings;
        this.onClosed = onClosed;
        int packet = Math.max(1, device.bulkInMaxPacketSize());
        this.out = new byte[settings.maxTransfer()];
        this.in = new byte[Math.max(packet, settings.maxTransfer() / packet * packet)];
    }

    @Override
    public void write(ByteBuffer data, boolean end, Duration timeout) throws LabHalException {
        ensureOpen();
        Deadline deadline = Deadline.after(timeout);
        head = tail = 0; // an unread rest of an answer is dropped
        byte[] termination = end ? settings.writeTermination() : new byte[0];
        int terminationSent = 0;
        while (data.hasRemaining() || terminationSent < termination.length) {
            int n = Math.min(out.length, data.remaining());
            data.get(data.position(), out, 0, n);
            int t = Math.min(out.length - n, termination.length - terminationSent);
            System.arraycopy(termination, terminationSent, out, n, t);
            int sent;
            try {
                sent = device.bulkOut(out, 0, n + t, remaining(deadline, "sending"));
            } catch (UsbException e) {
                data.position(data.position() + Math.min(n, e.transferred()));
                throw failure("sending", e, device.bulkOutEndpoint(), deadline);
            } catch (InterruptedException e) {
                throw interrupted("sending", e);
            }
            data.position(data.position() + Math.min(n, sent));
            terminationSent += Math.max(0, sent - n);
        }
    }

    @Override
    public boolean read(ByteBuffer into, Duration timeout) throws LabHalException {
        if (!into.hasRemaining()) {
            throw new IllegalArgumentException("read needs room for at least one byte");
        }
        ensureOpen();
        Deadline deadline = Deadline.after(timeout);
        while (head == tail) {
            head = tail = 0;
            try {
                tail = device.bulkIn(in, 0, in.length, remaining(deadline, "receiving"));
            } catch (UsbException e) {
                if (e.kind() == UsbException.Kind.TIMEOUT && e.transferred() > 0) {
                    // A raw pipe has no message size: an answer that fills whole packets ends without a short
                    // one, and the transfer times out holding it. What came is handed over, not dropped.
                    tail = Math.min(e.transferred(), in.length);
                    break;
                }
                throw failure("receiving", e, device.bulkInEndpoint(), deadline);
            } catch (InterruptedException e) {
                throw interrupted("receiving", e);
            }
        }
        int n = Math.min(into.remaining(), tail - head);
        byte t = settings.readTermination();
        for (int i = 0; i < n; i++) {
            if (in[head + i] == t) {
                into.put(in, head, i + 1);
                head += i + 1;
                return true;
            }
        }
        into.put(in, head, n);
        head += n;
        return false;
    }

    @Override
    public void clear(Duration timeout) throws LabHalException {
        ensureOpen();
        Deadline deadline = Deadline.after(timeout);
        head = tail = 0;
        while (!deadline.expired()) {
            try {
                device.bulkIn(in, 0, in.length, Duration.ofNanos(Math.min(QUIET_NANOS, deadline.remainingNanos())));
            } catch (UsbException e) {
                if (e.kind() == UsbException.Kind.TIMEOUT) {
                    return; // quiet
                }
                throw failure("draining", e, device.bulkInEndpoint(), deadline);
            } catch (InterruptedException e) {
                throw interrupted("draining", e);
            }
        }
        throw lose("Bulk-IN did not fall quiet within " + deadline.timeout().toMillis() + " ms of draining", null);
    }

    private Duration remaining(Deadline deadline, String what) throws IoTimeoutException {
        if (deadline.expired()) {
            throw new IoTimeoutException(resource + ": no time left for " + what + " within "
                    + deadline.timeout().toMillis() + " ms", deadline.timeout());
        }
        return deadline.remaining();
    }

    private LabHalException failure(String what, UsbException e, int endpoint, Deadline deadline) {
        return switch (e.kind()) {
            case TIMEOUT -> new IoTimeoutException(resource + ": " + what + " timed out after "
                    + deadline.timeout().toMillis() + " ms", deadline.timeout());
            case STALL -> {
                String ep = String.format("0x%02X", endpoint);
                try {
                    Uninterruptibly.run(() -> Halts.clear(device, endpoint, Duration.ofMillis(500)));
                } catch (UsbException | RuntimeException f) {
                    yield lose("endpoint " + ep + " halted (STALL) while " + what + ", and clearing the halt failed: "
                            + f.getMessage(), f);
                }
                yield new LabHalException(resource + ": the device halted endpoint " + ep + " (STALL) while " + what
                        + "; the halt was cleared, the step did not complete");
            }
            case NO_DEVICE -> lose("the device was detached while " + what, e);
            case CLOSED -> new ConnectionLostException(resource + " is closed: " + closedBecause, e);
            default -> lose(what + " failed: " + e.getMessage(), e);
        };
    }

    private StepInterruptedException interrupted(String what, InterruptedException e) {
        Thread.currentThread().interrupt();
        return new StepInterruptedException("Interrupted while " + what + " on " + resource, e);
    }

    private ConnectionLostException lose(String why, Throwable cause) {
        kill(why);
        return new ConnectionLostException(resource + ": " + why + "; the link is closed", cause);
    }

    private void ensureOpen() throws ConnectionLostException {
        if (closedBecause != null) {
            throw new ConnectionLostException(resource + " is closed: " + closedBecause, null);
        }
    }

    @Override
    public boolean isOpen() {
        return closedBecause == null;
    }

    @Override
    public String describe() {
        return resource + " (raw USB bulk pipe, " + device.describe() + ")";
    }

    @Override
    public void close() {
        kill("closed by its owner");
    }

    /** Closes the link at once for {@code reason}; blocked callers wake. Any thread. */
    void kill(String reason) {
        synchronized (this) {
            if (closedBecause != null) {
                return;
            }
            closedBecause = reason;
        }
        device.close();
        if (onClosed != null) {
            onClosed.accept(this);
        }
    }
}
