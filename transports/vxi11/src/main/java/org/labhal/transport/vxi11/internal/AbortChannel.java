package org.labhal.transport.vxi11.internal;

import static org.labhal.transport.vxi11.internal.Vxi11Protocol.ASYNC_PROGRAM;
import static org.labhal.transport.vxi11.internal.Vxi11Protocol.ASYNC_VERSION;
import static org.labhal.transport.vxi11.internal.Vxi11Protocol.DEVICE_ABORT;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

import org.labhal.api.transport.Deadline;

/**
 * The client side of one link's abort channel (the DEVICE_ASYNC program): a TCP connection of its
 * own to the port create_link announced, opened on the first device_abort and kept for later ones.
 * It must not share the core channel, which is busy with the very call being aborted.
 *
 * <p>Every abort is bounded by its timeout, the connect included. A connection that failed or timed
 * out is dropped, and the next abort connects again.
 *
 * <p>Threads: aborts are serialised; {@link #close()} from any thread wakes one in progress.
 */
final class AbortChannel implements AutoCloseable {
    private final InetSocketAddress target;
    private final int lid;
    private final ReentrantLock busy = new ReentrantLock();
    private final Object state = new Object();
    private RpcClient rpc; // guarded by state
    private Socket connecting; // guarded by state
    private boolean closed; // guarded by state

    /**
     * @param target the instrument's address and abortPort
     * @param lid the link whose calls this channel aborts
     */
    AbortChannel(InetSocketAddress target, int lid) {
        this.target = target;
        this.lid = lid;
    }

    /** Where the abort channel leads, for messages. */
    InetSocketAddress target() {
        return target;
    }

    /**
     * Sends device_abort for the link and waits for the answer.
     *
     * @param timeout the bound on waiting for another abort, connecting, and the answer together
     * @return the error code the instrument answered (0: no error)
     * @throws SocketTimeoutException when the connect or the answer took longer than {@code timeout}
     * @throws InterruptedIOException when the calling thread was interrupted (its status stays set)
     * @throws IOException when the channel cannot be reached or broke, or was closed
     * @throws RpcRejectedException when the instrument refused the call (e.g. no DEVICE_ASYNC program)
     */
    int abort(Duration timeout) throws IOException, RpcRejectedException {
        Deadline deadline = Deadline.after(timeout);
        try {
            if (!busy.tryLock(deadline.remainingNanos(), TimeUnit.NANOSECONDS)) {
                throw new SocketTimeoutException("another device_abort on this link did not finish within "
                        + Deadline.millis(timeout) + " ms");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for another device_abort on this link");
        }
        try {
            RpcClient client = connected(deadline);
            RpcClient.Request request = client.request(ASYNC_PROGRAM, ASYNC_VERSION, DEVICE_ABORT, 4);
            request.args().putInt(lid);
            try {
                return client.call(request, deadline).getInt();
            } catch (IOException e) {
                drop(client); // timed out or broken: a fresh connection next time
                throw e;
            }
        } finally {
            busy.unlock();
        }
    }

    private RpcClient connected(Deadline deadline) throws IOException {
        synchronized (state) {
            if (closed) {
                throw new IOException("the abort channel was closed with its link");
            }
            if (rpc != null) {
                return rpc;
            }
        }
        RpcClient client = RpcClient.connect(target, deadline, 1024, socket -> {
            synchronized (state) {
                connecting = socket;
            }
        });
        synchronized (state) {
            connecting = null;
            if (closed) {
                client.close();
                throw new IOException("the abort channel was closed with its link");
            }
            rpc = client;
            return client;
        }
    }

    private void drop(RpcClient client) {
        synchronized (state) {
            if (rpc == client) {
                rpc = null;
            }
        }
        client.close();
    }

    /** Closes the channel for good; an abort in progress wakes with an {@link IOException}. Idempotent. */
    @Override
    public void close() {
        RpcClient client;
        Socket pending;
        synchronized (state) {
            closed = true;
            client = rpc;
            pending = connecting;
            rpc = null;
            connecting = null;
        }
        if (client != null) {
            client.close();
        }
        if (pending != null) {
            try {
                pending.close(); // aborts a connect in progress
            } catch (IOException ignored) {
                // released either way
            }
        }
    }
}
