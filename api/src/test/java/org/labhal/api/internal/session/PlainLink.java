package org.labhal.api.internal.session;

import java.nio.ByteBuffer;
import java.time.Duration;

import org.labhal.api.transport.Connection;

/** A link with messages only, like a raw socket: writes vanish, every read is an empty answer. */
class PlainLink implements Connection {
    boolean closed;

    @Override
    public void write(ByteBuffer data, boolean end, Duration timeout) {
        data.position(data.limit());
    }

    @Override
    public boolean read(ByteBuffer into, Duration timeout) {
        into.put((byte) '\n');
        return true;
    }

    @Override
    public void clear(Duration timeout) {
    }

    @Override
    public String describe() {
        return "plain socket";
    }

    @Override
    public void close() {
        closed = true;
    }
}
