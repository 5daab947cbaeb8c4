package org.labhal.transport.serial.internal;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

import com.fazecast.jSerialComm.SerialPort;

/**
 * The far end of a pty pair, played by the test itself through plain jSerialComm: what the
 * instrument would send and receive.
 */
final class PtyPeer implements AutoCloseable {
    private final SerialPort port;

    PtyPeer(Path device) {
        port = SerialPort.getCommPort(device.toString());
        port.setComPortTimeouts(SerialPort.TIMEOUT_READ_SEMI_BLOCKING, 100, 0);
        if (!port.openPort(0)) {
            throw new AssertionError("the test peer cannot open " + device + ": error " + port.getLastErrorCode());
        }
        port.flushIOBuffers();
    }

    void send(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
        if (port.writeBytes(bytes, bytes.length) != bytes.length) {
            throw new AssertionError("the test peer could not send " + text + ": error " + port.getLastErrorCode());
        }
    }

    /** Everything that arrives until {@code count} bytes are in or the line is quiet for {@code quiet}. */
    String receive(int count, Duration quiet) {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        byte[] buffer = new byte[4096];
        long quietUntil = System.nanoTime() + quiet.toNanos();
        while (got.size() < count && System.nanoTime() - quietUntil < 0) {
            int n = port.readBytes(buffer, Math.min(buffer.length, count - got.size()));
            if (n < 0) {
                throw new AssertionError("the test peer's read failed: error " + port.getLastErrorCode());
            }
            if (n > 0) {
                got.write(buffer, 0, n);
                quietUntil = System.nanoTime() + quiet.toNanos();
            }
        }
        return got.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() {
        port.closePort();
    }
}
