package org.labhal.transport.gpib.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.transport.Connection;
import org.labhal.transport.gpib.PrologixSimulator;

/**
 * A simulated Prologix controller with instruments at 22 (SHARED), 5 (SMW200A) and 9 secondary 3
 * (SHARED), and a GPIB transport with board 0 on it, built with {@code new} as DS would build them.
 */
final class Bench implements AutoCloseable {
    static final Duration IO = Duration.ofSeconds(5);
    final PrologixSimulator simulator;
    final GpibTransportFactory transport = new GpibTransportFactory();
    final GpibBoard board;

    Bench() throws IOException {
        this(PrologixSimulator.builder().instrument(22, "SHARED").instrument(5, "SMW200A")
                .instrument(9, 3, "SHARED").start(), null);
    }

    /** @param controller the controller resource, or null for the simulator's TCP port */
    Bench(PrologixSimulator simulator, String controller) {
        this.simulator = simulator;
        this.board = board("org.labhal.gpib.board~bench", 0,
                controller != null ? controller : "TCPIP::127.0.0.1::" + simulator.port() + "::SOCKET");
        transport.addBoard(board);
    }

    static GpibBoard board(String pid, int number, String controller) {
        Map<String, Object> p = new HashMap<>();
        p.put("service.pid", pid);
        p.put("board", number);
        p.put("controller", controller);
        p.put("read_tmo_ms", 200);
        return new GpibBoard(p);
    }

    Connection open(String resource) throws LabHalException {
        return transport.open(ResourceAddress.parse(resource), IO);
    }

    static void send(Connection c, String text) throws LabHalException {
        c.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.ISO_8859_1)), true, IO);
    }

    /** Reads one whole answer, in reads of at most {@code chunk} bytes, without its LF. */
    static String answer(Connection c, int chunk, Duration timeout) throws LabHalException {
        StringBuilder s = new StringBuilder();
        ByteBuffer b = ByteBuffer.allocate(chunk);
        boolean end;
        do {
            b.clear();
            end = c.read(b, timeout);
            b.flip();
            s.append(StandardCharsets.ISO_8859_1.decode(b));
        } while (!end);
        return s.substring(0, s.length() - 1);
    }

    static String query(Connection c, String text) throws LabHalException {
        send(c, text);
        return answer(c, 4096, IO);
    }

    /**
     * Waits for a condition another thread makes true (no sleep: it yields), failing after 10 s so that
     * nothing hangs.
     */
    static void until(java.util.function.BooleanSupplier condition, String what) {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - end > 0) {
                throw new AssertionError("never happened: " + what);
            }
            Thread.yield();
        }
    }

    @Override
    public void close() {
        transport.deactivate();
        simulator.close();
    }
}
