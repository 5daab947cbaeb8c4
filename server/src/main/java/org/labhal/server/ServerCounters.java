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
 * @param threads threads of the server alive now: the acceptor and those serving connections
 * @param backingOff whether the acceptor is pausing after a failed accept right now
 */
public record ServerCounters(String name, InetSocketAddress address, int maxConnections, int openConnections,
        int peakConnections, long accepted, long refused, long acceptFailures, int threads, boolean backingOff) {
}
