package org.labhal.transport.serial.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A socat process joining two addresses, e.g. two pseudo-terminals ({@link #ptyPair}) or a
 * pseudo-terminal and a TCP server ({@link #ptyToTcp}). Started with {@code -d -d} so that it says
 * when both ends are open; {@link #close()} ends it by its PID and waits, which hangs up its ptys.
 * socat is a Debian package that {@code ./lab test} installs; without it the serial tests fail,
 * they never skip.
 */
final class Socat implements AutoCloseable {
    private static final long READY_SECONDS = 10;
    private final Process process;
    private final List<String> log = new ArrayList<>(); // guarded by itself
    private final CountDownLatch ready = new CountDownLatch(1);
    private final String what;

    private Socat(String what, List<String> command) throws IOException, InterruptedException {
        this.what = what;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError("socat is not installed, and the serial tests need it to make pseudo-terminals: "
                    + "run ./lab test, which installs it, or apt-get install -y socat (" + e.getMessage() + ")", e);
        }
        process.getOutputStream().close();
        Thread drain = new Thread(this::drain, "socat-log-" + process.pid());
        drain.setDaemon(true);
        drain.start();
        if (!ready.await(READY_SECONDS, TimeUnit.SECONDS)) {
            close();
            throw new AssertionError("socat did not start " + what + " within " + READY_SECONDS + " s: " + log());
        }
    }

    /** Two pseudo-terminals joined back to back, reachable as {@code a} and {@code b}. */
    static Socat ptyPair(Path a, Path b) throws IOException, InterruptedException {
        Socat socat = new Socat("a pty pair " + a + " <-> " + b, List.of("socat", "-d", "-d",
                "pty,raw,echo=0,link=" + a, "pty,raw,echo=0,link=" + b));
        socat.awaitLinks(a, b);
        return socat;
    }

    /** A pseudo-terminal reachable as {@code link} whose other side talks to 127.0.0.1:port. */
    static Socat ptyToTcp(Path link, int port) throws IOException, InterruptedException {
        Socat socat = new Socat("a pty " + link + " <-> tcp:127.0.0.1:" + port, List.of("socat", "-d", "-d",
                "pty,raw,echo=0,link=" + link, "tcp:127.0.0.1:" + port));
        socat.awaitLinks(link);
        return socat;
    }

    private void awaitLinks(Path... links) {
        // socat creates the links before it says it is transferring data: this only confirms it.
        for (Path link : links) {
            if (!Files.exists(link)) {
                close();
                throw new AssertionError("socat said it was ready but " + link + " does not exist: " + log());
            }
        }
    }

    private void drain() {
        try (BufferedReader in = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                synchronized (log) {
                    log.add(line);
                }
                if (line.contains("starting data transfer loop")) {
                    ready.countDown();
                }
            }
        } catch (IOException e) {
            // process ended
        }
    }

    /** What socat said so far, for failure messages. */
    String log() {
        synchronized (log) {
            return String.join(" | ", log);
        }
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Ends socat (SIGTERM, then SIGKILL) and waits for it, so its ptys are gone when this returns. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "socat[" + process.pid() + ", " + what + "]";
    }
}
