package org.labhal.faults;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What the process holds at one moment: its threads, its file descriptors (with what each points
 * to: {@code socket:[...]}, {@code /dev/pts/3}, ...) and its heap. A case compares the moment after
 * it with the moment before it; since closing things is asynchronous (a reader thread ends after
 * its socket closed), {@link #settledTo} waits, bounded, for the counts to come back.
 */
final class Resources {
    private static final Path FDS = Path.of("/proc/self/fd");

    final Set<Thread> threads;
    final Map<String, String> fds;
    final long heapUsed;

    private Resources(Set<Thread> threads, Map<String, String> fds, long heapUsed) {
        this.threads = threads;
        this.fds = fds;
        this.heapUsed = heapUsed;
    }

    private static boolean jdkWarm; // guarded by Resources.class

    /**
     * Makes the JDK open, once, the descriptor it keeps for the life of the process the first time a
     * socket is closed while a thread is blocked reading it (the socket pair {@code NioSocketImpl}'s
     * pre-close dups over the closed descriptor). Without this, the first case whose transport does that
     * (GPIB's controller link, when it is the first row run) would count that descriptor as leaked.
     */
    static synchronized void warmUpJdk() throws IOException, InterruptedException {
        if (jdkWarm) {
            return;
        }
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
                Socket peer = server.accept()) {
            Thread reader = new Thread(() -> {
                try {
                    client.getInputStream().read();
                } catch (IOException e) {
                    // closed under it: what this is for
                }
            }, "faults-jdk-warm-up");
            reader.setDaemon(true);
            reader.start();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!blockedInRead(reader) && reader.isAlive() && System.nanoTime() < end) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1)); // poll, bounded
            }
            client.close();
            reader.join(TimeUnit.SECONDS.toMillis(10));
        }
        jdkWarm = true;
    }

    private static boolean blockedInRead(Thread t) {
        for (StackTraceElement frame : t.getStackTrace()) {
            if (frame.getMethodName().equals("park") && frame.getClassName().endsWith("NioSocketImpl")) {
                return true;
            }
        }
        return false;
    }

    /** The present moment; {@code gc} first collects garbage so the heap figure is what is retained. */
    static Resources now(boolean gc) {
        if (gc) {
            System.gc();
        }
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        return new Resources(Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
                .collect(Collectors.toSet()), fds(), heap.getUsed());
    }

    private static Map<String, String> fds() {
        Map<String, String> all = new HashMap<>();
        try (Stream<Path> list = Files.list(FDS)) {
            for (Path fd : (Iterable<Path>) list::iterator) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (!target.startsWith("/proc/")) { // the listing's own descriptor
                        all.put(fd.getFileName().toString(), target);
                    }
                } catch (IOException e) {
                    // closed while we listed (the listing's own descriptor, among others)
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + FDS + ": " + e.getMessage(), e);
        }
        return all;
    }

    /** Threads alive now that were not alive at {@code before}, except those the case itself ran steps on. */
    List<String> newThreads(Resources before) {
        List<String> names = new ArrayList<>();
        for (Thread t : threads) {
            if (!before.threads.contains(t) && !t.getName().startsWith(Stepper.PREFIX) && !idlePoolWorker(t)
                    && !t.getName().equals("Attach Listener")) {
                names.add(t.getName() + " (" + t.getState() + ")");
            }
        }
        return names;
    }

    /**
     * A pool's worker waiting for its next task holds nothing of a finished step; cached pools
     * (the simulators' servers, the process reaper) let it expire after its keep-alive. Not a leak.
     */
    private static boolean idlePoolWorker(Thread t) {
        for (StackTraceElement frame : t.getStackTrace()) {
            if (frame.getClassName().equals("java.util.concurrent.ThreadPoolExecutor")
                    && frame.getMethodName().equals("getTask")
                    || frame.getClassName().equals("java.util.concurrent.ForkJoinPool")
                    && frame.getMethodName().equals("awaitWork")) {
                return true;
            }
        }
        return false;
    }

    /** Descriptors open now that were not open, to the same target, at {@code before}; sockets with their ends. */
    List<String> newFds(Resources before) {
        Map<String, String> sockets = null;
        List<String> opened = new ArrayList<>();
        for (Map.Entry<String, String> fd : fds.entrySet()) {
            if (!fd.getValue().equals(before.fds.get(fd.getKey()))) {
                String target = fd.getValue();
                if (target.startsWith("socket:[")) {
                    sockets = sockets == null ? tcpSockets() : sockets;
                    target = sockets.getOrDefault(target.substring(8, target.length() - 1), target);
                }
                opened.add(fd.getKey() + " -> " + target);
            }
        }
        return opened;
    }

    /** TCP sockets by inode, as "tcp 127.0.0.1:local -> 127.0.0.1:remote STATE", from /proc/net/tcp. */
    private static Map<String, String> tcpSockets() {
        String[] states = {"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
            "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"};
        Map<String, String> byInode = new HashMap<>();
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            try {
                for (String line : Files.readAllLines(Path.of(table)).subList(1, Files.readAllLines(Path.of(table)).size())) {
                    String[] f = line.trim().split("\\s+");
                    int state = Integer.parseInt(f[3], 16);
                    byInode.put(f[9], "tcp :" + Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16) + " -> :"
                            + Integer.parseInt(f[2].substring(f[2].indexOf(':') + 1), 16) + " "
                            + (state < states.length ? states[state] : Integer.toString(state)));
                }
            } catch (IOException | RuntimeException e) {
                // without the table the raw socket:[inode] is shown
            }
        }
        return byInode;
    }

    /**
     * Waits up to {@code timeout} for the threads and descriptors opened since {@code before} to go,
     * and returns what is left, empty when nothing leaked.
     */
    static List<String> settledTo(Resources before, Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        while (true) {
            Resources now = now(false);
            List<String> threads = now.newThreads(before);
            // Fewer descriptors than before is fine; new ones beyond the count are what leaked.
            List<String> fds = now.fds.size() > before.fds.size() ? now.newFds(before) : List.of();
            if (threads.isEmpty() && fds.isEmpty()) {
                return List.of();
            }
            if (System.nanoTime() >= end) {
                List<String> left = new ArrayList<>();
                if (!threads.isEmpty()) {
                    left.add(threads.size() + " thread(s) leaked: " + threads);
                }
                if (!fds.isEmpty()) {
                    left.add((now.fds.size() - before.fds.size()) + " file descriptor(s) leaked (" + before.fds.size()
                            + " before, " + now.fds.size() + " after): " + fds);
                }
                return left;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10)); // poll, bounded by timeout
        }
    }
}
