package org.labhal.itest.serial;

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
 * A pseudo-terminal whose other side is a TCP server on loopback, made by socat
 * ({@code socat pty,raw,echo=0,link=<link> tcp:127.0.0.1:<port>}). {@link #close()} ends socat by
 * its PID, which hangs the pty up. socat is a Debian package that {@code ./lab test} installs;
 * without it these tests fail, they never skip.
 */
public final class Pty implements AutoCloseable {
    private final Process socat;
    private final Path link;
    private final List<String> log = new ArrayList<>(); // guarded by itself
    private final CountDownLatch ready = new CountDownLatch(1);

    /**
     * @param link where the pty's link is made
     * @param tcpPort the loopback TCP port socat connects the pty to
     * @throws IOException when socat cannot be started
     * @throws InterruptedException when interrupted while waiting for it
     */
    public Pty(Path link, int tcpPort) throws IOException, InterruptedException {
        this.link = link;
        try {
            socat = new ProcessBuilder("socat", "-d", "-d", "pty,raw,echo=0,link=" + link,
                    "tcp:127.0.0.1:" + tcpPort).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError("socat is not installed, and the serial tests need it to make pseudo-terminals: "
                    + "run ./lab test, which installs it, or apt-get install -y socat (" + e.getMessage() + ")", e);
        }
        socat.getOutputStream().close();
        Thread drain = new Thread(this::drain, "socat-log-" + socat.pid());
        drain.setDaemon(true);
        drain.start();
        if (!ready.await(10, TimeUnit.SECONDS) || !Files.exists(link)) {
            close();
            throw new AssertionError("socat did not make " + link + " within 10 s: " + log());
        }
    }

    private void drain() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(socat.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                synchronized (log) {
                    log.add(line);
                }
                if (line.contains("starting data transfer loop")) { // both ends are open
                    ready.countDown();
                }
            }
        } catch (IOException e) {
            // socat ended
        }
    }

    private String log() {
        synchronized (log) {
            return String.join(" | ", log);
        }
    }

    /** @return the serial resource that reaches the pty, with {@code options} (e.g. "?baud=9600") */
    public String resource(String options) {
        return "ASRL" + link + "::INSTR" + options;
    }

    /** @return the pty's path */
    public Path link() {
        return link;
    }

    @Override
    public void close() {
        socat.destroy();
        try {
            if (!socat.waitFor(5, TimeUnit.SECONDS)) {
                socat.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            socat.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
