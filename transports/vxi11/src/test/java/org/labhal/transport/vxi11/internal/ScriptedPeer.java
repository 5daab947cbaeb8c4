package org.labhal.transport.vxi11.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A hostile VXI-11 instrument driven by a test, on a loopback port: create_link gets a proper answer
 * (link 7, no abort channel, the given maxRecvSize), device_unlock and destroy_link are answered as
 * an instrument does, every other call by the script, which may answer late, in pieces, wrongly or
 * not at all. It keeps the device lock as an instrument does: taken when a script calls
 * {@link #grantLock()}, freed by device_unlock, destroy_link or the end of the connection. Serves one
 * connection after another.
 */
final class ScriptedPeer implements AutoCloseable {

    /** Answers one call. */
    @FunctionalInterface
    interface Script {
        /**
         * @param call the call's header
         * @param args positioned at the call's arguments
         * @param out the connection, to write the reply to (or not)
         */
        void answer(Rpc.Call call, XdrDecoder args, OutputStream out) throws IOException, InterruptedException;
    }

    private final ServerSocket listener;
    private final ExecutorService thread = Executors.newSingleThreadExecutor();
    private final Script script;
    private final int maxRecvSize;
    private final List<Integer> procedures = new CopyOnWriteArrayList<>();
    private final AtomicBoolean locked = new AtomicBoolean();

    private ScriptedPeer(int maxRecvSize, Script script) throws IOException {
        this.listener = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        this.maxRecvSize = maxRecvSize;
        this.script = script;
        thread.execute(this::serve);
    }

    static ScriptedPeer start(int maxRecvSize, Script script) throws IOException {
        return new ScriptedPeer(maxRecvSize, script);
    }

    int port() {
        return listener.getLocalPort();
    }

    /** The procedures called after create_link, in order, over all connections. */
    /**
     * Waits (up to 10 s) until the peer has received at least {@code count} calls: a call the client sent
     * reaches the peer's thread a moment later.
     *
     * @return the procedures received by then
     */
    List<Integer> procedures(int count) throws InterruptedException {
        long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (procedures.size() < count && System.nanoTime() - end < 0) {
            Thread.sleep(1);
        }
        return procedures();
    }

    List<Integer> procedures() {
        return List.copyOf(procedures);
    }

    /** For a script that answers device_lock with success. */
    void grantLock() {
        locked.set(true);
    }

    /** Whether the device lock is held (granted, and not freed since). */
    boolean locked() {
        return locked.get();
    }

    private void serve() {
        while (!listener.isClosed()) {
            try (Socket s = listener.accept()) {
                RecordStream in = new RecordStream(s.getInputStream(), 1 << 20);
                OutputStream out = s.getOutputStream();
                while (true) {
                    XdrDecoder args = new XdrDecoder(in.read());
                    Rpc.Call call = Rpc.readCall(args);
                    if (call.procedure() == Vxi11Protocol.CREATE_LINK) {
                        reply(out, Rpc.accepted(call.xid(), 0, 16).putInt(0).putInt(7).putInt(0).putInt(maxRecvSize));
                        continue;
                    }
                    procedures.add(call.procedure());
                    if (call.procedure() == Vxi11Protocol.DEVICE_UNLOCK) {
                        boolean held = locked.getAndSet(false);
                        reply(out, Rpc.accepted(call.xid(), 0, 4).putInt(held ? 0 : Vxi11Protocol.ERR_NO_LOCK));
                    } else if (call.procedure() == Vxi11Protocol.DESTROY_LINK) {
                        locked.set(false);
                        reply(out, Rpc.accepted(call.xid(), 0, 4).putInt(0));
                    } else {
                        script.answer(call, args, out);
                    }
                }
            } catch (IOException | InterruptedException e) {
                locked.set(false); // the connection ended: an instrument frees the link's lock
            }
        }
    }

    /** Writes a reply record. */
    static void reply(OutputStream out, XdrEncoder message) throws IOException {
        out.write(record(message));
        out.flush();
    }

    /** A message as one record's wire bytes. */
    static byte[] record(XdrEncoder message) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            RecordStream.write(out, message);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return out.toByteArray();
    }

    @Override
    public void close() throws IOException {
        listener.close();
        thread.shutdownNow();
    }
}
