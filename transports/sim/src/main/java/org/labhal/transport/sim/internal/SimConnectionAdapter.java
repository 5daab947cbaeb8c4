package org.labhal.transport.sim.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.RemoteLocal;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.InstrumentControl;
import org.labhal.transport.sim.SimConnection;
import org.labhal.transport.sim.SimRead;

/**
 * A LabHAL connection onto one simulator connection: the simulator's exceptions become LabHAL's. The
 * status byte is the simulator's own; a bus trigger and remote / local are accepted and change nothing,
 * since the simulators have neither a trigger model nor a front panel.
 */
final class SimConnectionAdapter implements Connection, InstrumentControl {
    private final ResourceAddress address;
    private final SimConnection connection;

    SimConnectionAdapter(ResourceAddress address, SimConnection connection) {
        this.address = address;
        this.connection = connection;
    }

    @Override
    public void write(ByteBuffer data, boolean end, Duration timeout) throws LabHalException {
        byte[] bytes = new byte[data.remaining()];
        data.get(bytes);
        try {
            connection.write(bytes, 0, bytes.length, end);
        } catch (IOException e) {
            throw lost("write", e);
        } catch (InterruptedException e) {
            throw interrupted("write", e);
        }
    }

    @Override
    public boolean read(ByteBuffer into, Duration timeout) throws LabHalException {
        if (!into.hasRemaining()) {
            throw new IllegalArgumentException("read needs room for at least one byte");
        }
        boolean direct = into.hasArray();
        byte[] target = direct ? into.array() : new byte[into.remaining()];
        int offset = direct ? into.arrayOffset() + into.position() : 0;
        try {
            SimRead read = connection.read(target, offset, into.remaining(), timeout);
            if (direct) {
                into.position(into.position() + read.count());
            } else {
                into.put(target, 0, read.count());
            }
            return read.end();
        } catch (TimeoutException e) {
            throw new IoTimeoutException(address.canonical() + " sent no answer within " + timeout.toMillis()
                    + " ms", timeout);
        } catch (IOException e) {
            throw lost("read", e);
        } catch (InterruptedException e) {
            throw interrupted("read", e);
        }
    }

    @Override
    public void clear(Duration timeout) throws LabHalException {
        try {
            connection.deviceClear();
        } catch (IOException e) {
            throw lost("device clear", e);
        }
    }

    @Override
    public int readStatusByte(Duration timeout) throws LabHalException {
        try {
            return connection.statusByte(false);
        } catch (IOException e) {
            throw lost("status byte read", e);
        }
    }

    @Override
    public void trigger(Duration timeout) throws LabHalException {
        ensureOpen("trigger");
    }

    @Override
    public void remoteLocal(RemoteLocal mode, Duration timeout) throws LabHalException {
        ensureOpen("remote/local " + mode);
    }

    /** What a control function that changes nothing still checks: the link is there. */
    private void ensureOpen(String what) throws LabHalException {
        readStatusByte(Duration.ZERO);
    }

    @Override
    public String describe() {
        return "simulated " + address.canonical();
    }

    @Override
    public void close() {
        connection.close();
    }

    private ConnectionLostException lost(String what, IOException e) {
        return new ConnectionLostException(what + " on " + address.canonical() + " failed: " + e.getMessage(), e);
    }

    private StepInterruptedException interrupted(String what, InterruptedException e) {
        Thread.currentThread().interrupt();
        return new StepInterruptedException("Interrupted during " + what + " on " + address.canonical(), e);
    }
}
