package org.labhal.server;

import java.net.InetSocketAddress;

/**
 * What a {@link TcpServer} has done so far, read at one moment: a shell command or a test shows it.
 *
 * @param name the server's name, which also prefixes its threads' names
 * @param address where it listens
 * @param maxConnections the cap
 * @param openConnections connections being served now
 * @param peakConnections the most connections served at once so far
 * @param accepted connections accepted since the start, refused ones included
 * @param refused connections refused because the cap was reached
 * @param acceptFailures accepts that failed (e.g. no file descriptor left) and were retried after a pause
 * @param threads threads of the server alive now: the acceptor, those serving connections (and pooled
 *        ones waiting for the next, for up to 10 s) and the write watchdog while connections are open
 * @param backingOff whether the acceptor is pausing after a failed accept right now
 * @param evicted connections closed because they had been idle longest, and long enough, when a newcomer
 *        found every slot taken ({@link TcpServer.Builder#evictIdleAfter})
 * @param stalledWrites connections closed because a write to them made no progress for the write stall
 *        timeout ({@link TcpServer.Builder#writeStallTimeout})
 */
public record ServerCounters(String name, InetSocketAddress address, int maxConnections, int openConnections,
        int peakConnections, long accepted, long refused, long acceptFailures, int threads, boolean backingOff,
        long evicted, long stalledWrites) {

    /**
     * The counters of version 1.0, with no connection evicted and no write stalled.
     *
     * @deprecated since 1.1; the canonical constructor also takes {@code evicted} and {@code stalledWrites}
     */
    @Deprecated
    public ServerCounters(String name, InetSocketAddress address, int maxConnections, int openConnections,
            int peakConnections, long accepted, long refused, long acceptFailures, int threads, boolean backingOff) {
        this(name, address, maxConnections, openConnections, peakConnections, accepted, refused, acceptFailures,
                threads, backingOff, 0, 0);
    }
}
