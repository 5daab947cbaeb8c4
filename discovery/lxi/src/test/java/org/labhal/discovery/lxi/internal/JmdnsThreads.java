package org.labhal.discovery.lxi.internal;

import java.util.List;

/** The threads of JmDNS responders, which JmDNS names after the responder's host name. */
final class JmdnsThreads {
    private JmdnsThreads() {
    }

    /**
     * Waits, at most 5 s each, for the threads of the responders named {@code hostName} to end: a closed JmDNS
     * cancels its timers, whose threads end just after.
     *
     * @return the names of those still alive then
     */
    static List<String> survivors(String hostName) throws InterruptedException {
        List<Thread> threads = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().contains("(" + hostName + ")")).toList();
        for (Thread thread : threads) {
            thread.join(5_000);
        }
        return threads.stream().filter(Thread::isAlive).map(Thread::getName).toList();
    }
}
