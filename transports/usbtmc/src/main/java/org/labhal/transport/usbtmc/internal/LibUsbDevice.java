package org.labhal.transport.usbtmc.internal;

import java.nio.ByteBuffer;
import java.nio.IntBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.labhal.api.transport.Deadline;
import org.labhal.transport.usbtmc.UsbDevice;
import org.labhal.transport.usbtmc.UsbException;
import org.usb4java.DeviceHandle;
import org.usb4java.LibUsb;

/**
 * One claimed interface through libusb's synchronous API. A bulk or interrupt transfer waits in slices
 * of at most {@value #SLICE_MS} ms and checks the interrupt flag and {@link #close()} between them, since a
 * thread blocked in libusb cannot be woken from Java; a slice that ends with part of the data keeps it and
 * the transfer goes on. The handle is released when the last transfer in progress has ended.
 */
final class LibUsbDevice implements UsbDevice {
    private static final int SLICE_MS = 50;

    private final DeviceHandle handle;
    private final String description;
    private final String serial;
    private final int interfaceNumber;
    private final int protocol;
    private final int bulkOut;
    private final int bulkIn;
    private final int interruptIn;
    private final int outPacket;
    private final int inPacket;
    private boolean closed; // guarded by this
    private int active; // transfers in progress, guarded by this

    LibUsbDevice(DeviceHandle handle, String description, String serial, int interfaceNumber, int protocol, int bulkOut,
            int bulkIn, int interruptIn, int outPacket, int inPacket) {
        this.handle = handle;
        this.description = description;
        this.serial = serial;
        this.interfaceNumber = interfaceNumber;
        this.protocol = protocol;
        this.bulkOut = bulkOut;
        this.bulkIn = bulkIn;
        this.interruptIn = interruptIn;
        this.outPacket = outPacket;
        this.inPacket = inPacket;
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public String serialNumber() {
        return serial;
    }

    @Override
    public int interfaceNumber() {
        return interfaceNumber;
    }

    @Override
    public int interfaceProtocol() {
        return protocol;
    }

    @Override
    public int bulkOutEndpoint() {
        return bulkOut;
    }

    @Override
    public int bulkInEndpoint() {
        return bulkIn;
    }

    @Override
    public int interruptInEndpoint() {
        return interruptIn;
    }

    @Override
    public int bulkOutMaxPacketSize() {
        return outPacket;
    }

    @Override
    public int bulkInMaxPacketSize() {
        return inPacket;
    }

    @Override
    public int controlIn(int requestType, int request, int value, int index, byte[] into, Duration timeout)
            throws UsbException, InterruptedException {
        enter();
        try {
            ByteBuffer buffer = ByteBuffer.allocateDirect(into.length);
            int result = LibUsb.controlTransfer(handle, (byte) requestType, (byte) request, (short) value, (short) index,
                    buffer, Math.max(1, Deadline.millis(timeout)));
            if (result < 0) {
                throw error(result, "control request " + request, 0);
            }
            buffer.get(into, 0, result);
            return result;
        } finally {
            leave();
        }
    }

    @Override
    public int bulkOut(byte[] data, int offset, int length, Duration timeout) throws UsbException, InterruptedException {
        ByteBuffer buffer = ByteBuffer.allocateDirect(length);
        buffer.put(data, offset, length).flip();
        return transfer(bulkOut, buffer, length, timeout, false, null, 0);
    }

    @Override
    public int bulkIn(byte[] into, int offset, int length, Duration timeout) throws UsbException, InterruptedException {
        ByteBuffer buffer = ByteBuffer.allocateDirect(length);
        return transfer(bulkIn, buffer, length, timeout, true, into, offset);
    }

    @Override
    public int interruptIn(byte[] into, int offset, int length, Duration timeout)
            throws UsbException, InterruptedException {
        if (interruptIn < 0) {
            throw new UsbException(UsbException.Kind.IO, description + " has no Interrupt-IN endpoint");
        }
        ByteBuffer buffer = ByteBuffer.allocateDirect(length);
        return transfer(interruptIn, buffer, length, timeout, true, into, offset);
    }

    /** One transfer, waited for in slices; IN data is copied to {@code into}. */
    private int transfer(int endpoint, ByteBuffer buffer, int length, Duration timeout, boolean in, byte[] into,
            int offset) throws UsbException, InterruptedException {
        Deadline deadline = Deadline.after(timeout);
        IntBuffer transferred = ByteBuffer.allocateDirect(4).order(java.nio.ByteOrder.nativeOrder()).asIntBuffer();
        int done = 0;
        enter();
        try {
            while (true) {
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                long slice = Math.min(SLICE_MS, TimeUnit.NANOSECONDS.toMillis(deadline.remainingNanos()));
                transferred.put(0, 0);
                ByteBuffer part = buffer.slice(done, length - done);
                int result = endpoint == interruptIn && in
                        ? LibUsb.interruptTransfer(handle, (byte) endpoint, part, transferred, Math.max(1, slice))
                        : LibUsb.bulkTransfer(handle, (byte) endpoint, part, transferred, Math.max(1, slice));
                int n = transferred.get(0);
                if (in && n > 0) {
                    buffer.get(done, into, offset + done, n);
                }
                done += n;
                if (result == LibUsb.SUCCESS) {
                    return done; // complete, or a short (maybe zero-length) packet ended the IN transfer
                }
                if (result != LibUsb.ERROR_TIMEOUT || deadline.expired()) {
                    throw error(result, "transfer on endpoint " + String.format("0x%02X", endpoint), done);
                }
                synchronized (this) {
                    if (closed) {
                        throw new UsbException(UsbException.Kind.CLOSED, description + " was closed", done);
                    }
                }
            }
        } finally {
            leave();
        }
    }

    @Override
    public void clearHalt(int endpoint, Duration timeout) throws UsbException {
        enter();
        try {
            int result = LibUsb.clearHalt(handle, (byte) endpoint);
            if (result != LibUsb.SUCCESS) {
                throw error(result, "clear halt", 0);
            }
        } finally {
            leave();
        }
    }

    private UsbException error(int result, String what, int transferred) {
        UsbException.Kind kind = switch (result) {
            case LibUsb.ERROR_TIMEOUT -> UsbException.Kind.TIMEOUT;
            case LibUsb.ERROR_PIPE -> UsbException.Kind.STALL;
            case LibUsb.ERROR_NO_DEVICE -> UsbException.Kind.NO_DEVICE;
            case LibUsb.ERROR_BUSY -> UsbException.Kind.BUSY;
            case LibUsb.ERROR_ACCESS -> UsbException.Kind.ACCESS;
            case LibUsb.ERROR_OVERFLOW -> UsbException.Kind.OVERFLOW;
            default -> UsbException.Kind.IO;
        };
        return new UsbException(kind, what + " on " + description + " failed: " + LibUsb.errorName(result) + " ("
                + LibUsb.strError(result) + ")", transferred);
    }

    private synchronized void enter() throws UsbException {
        if (closed) {
            throw new UsbException(UsbException.Kind.CLOSED, description + " was closed");
        }
        active++;
    }

    private void leave() {
        synchronized (this) {
            active--;
            if (!closed || active > 0) {
                return;
            }
        }
        release();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            if (active > 0) {
                return; // the last transfer releases the handle when it ends, within one slice
            }
        }
        release();
    }

    private void release() {
        LibUsb.releaseInterface(handle, interfaceNumber);
        LibUsb.close(handle);
    }
}
