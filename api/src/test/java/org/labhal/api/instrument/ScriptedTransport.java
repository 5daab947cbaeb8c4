package org.labhal.api.instrument;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.TransportKind;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.TransportFactory;

/**
 * A socket transport whose instrument answers from a script: each program message goes to the
 * responder, whose answer (or {@code null}: no answer, as an instrument still busy with {@code *OPC?})
 * becomes the response. Records what was sent and the I/O timeout of every read, so a test can see
 * which timeout a step really used.
 */
final class ScriptedTransport implements TransportFactory {
    final List<String> sent = new CopyOnWriteArrayList<>();
    final List<String> readTimeouts = new CopyOnWriteArrayList<>();
    private final Function<String, String> responder;

    ScriptedTransport(Function<String, String> responder) {
        this.responder = responder;
    }

    @Override
    public Set<TransportKind> kinds() {
        return Set.of(TransportKind.SOCKET);
    }

    @Override
    public Connection open(ResourceAddress address, Duration timeout) {
        return new Connection() {
            private final LinkedBlockingQueue<String> responses = new LinkedBlockingQueue<>();

            @Override
            public void write(ByteBuffer data, boolean end, Duration io) {
                byte[] bytes = new byte[data.remaining()];
                data.get(bytes);
                String message = new String(bytes, StandardCharsets.ISO_8859_1);
                sent.add(message);
                String answer = responder.apply(message);
                if (answer != null) {
                    responses.add(answer + "\n");
                }
            }

            @Override
            public boolean read(ByteBuffer into, Duration io) throws LabHalException {
                readTimeouts.add(io.toString());
                String answer;
                try {
                    answer = responses.poll(io.toNanos(), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new StepInterruptedException("interrupted", e);
                }
                if (answer == null) {
                    throw new IoTimeoutException(address.canonical() + " sent no answer within " + io.toMillis()
                            + " ms", io);
                }
                into.put(answer.getBytes(StandardCharsets.ISO_8859_1));
                return true;
            }

            @Override
            public void clear(Duration io) {
                responses.clear();
            }

            @Override
            public String describe() {
                return "scripted " + address.canonical();
            }

            @Override
            public void close() {
                // nothing to release
            }
        };
    }
}
