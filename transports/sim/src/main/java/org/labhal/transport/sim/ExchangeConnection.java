package org.labhal.transport.sim;

import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/** A {@link SimConnection} bound to one {@link MessageExchange}. */
final class ExchangeConnection implements SimConnection {

    private final InstrumentSimulator instrument;
    private final MessageExchange exchange;
    private final AtomicBoolean closed = new AtomicBoolean();

    ExchangeConnection(InstrumentSimulator instrument, MessageExchange exchange) {
        this.instrument = instrument;
        this.exchange = exchange;
    }

    @Override
    public void write(byte[] data, int offset, int length, boolean end) throws IOException, InterruptedException {
        Objects.checkFromIndexSize(offset, length, data.length);
        ensureOpen();
        for (MessageExchange.Message message : exchange.accept(data, offset, length, end)) {
            instrument.execute(this, exchange, message);
        }
    }

    @Override
    public SimRead read(byte[] buffer, int offset, int length, Duration timeout)
            throws IOException, TimeoutException, InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        if (length < 1) {
            throw new IllegalArgumentException("read length must be at least 1, was " + length);
        }
        Objects.checkFromIndexSize(offset, length, buffer.length);
        return exchange.read(buffer, offset, length, timeout, this);
    }

    @Override
    public void deviceClear() throws IOException {
        ensureOpen();
        exchange.clear();
    }

    @Override
    public int statusByte(boolean responsePending) throws IOException {
        ensureOpen();
        return exchange.statusByte(responsePending);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            instrument.detach(this);
            exchange.wake();
        }
    }

    boolean isClosed() {
        return closed.get();
    }

    void ensureOpen() throws IOException {
        if (closed.get()) {
            throw new IOException("connection closed");
        }
    }

    MessageExchange exchange() {
        return exchange;
    }

    @Override
    public String toString() {
        return "SimConnection[" + instrument.model() + (closed.get() ? ", closed]" : "]");
    }
}
