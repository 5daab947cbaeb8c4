package org.labhal.benchmarks;

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
 * A socat process joining a pseudo-terminal, reachable as a symbolic link, to a TCP server on
 * 127.0.0.1: {@code socat -d -d pty,raw,echo=0,link=<link> tcp:127.0.0.1:<port>}, as the serial
 * transport's tests start it. Ready once socat says it is transferring data; {@link #close()} ends
 * this process (by its PID) and waits for it.
 */
final class SocatPty implements AutoCloseable {
    private static final long READY_SECONDS = 10;
    private final Process process;
    private final List<String> log = new ArrayList<>(); // guarded by itself
    private final CountDownLatch ready = new CountDownLatch(1);

    SocatPty(Path link, int port) throws IOException, InterruptedException {
        List<String> command = List.of("socat", "-d", "-d", "pty,raw,echo=0,link=" + link, "tcp:127.0.0.1:" + port);
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("cannot start socat, which makes the pseudo-terminal (apt-get install -y socat): "
                    + e.getMessage(), e);
        }
        process.getOutputStream().close();
        Thread reader = new Thread(this::readLog, "socat-log-" + process.pid());
        reader.setDaemon(true);
        reader.start();
        if (!ready.await(READY_SECONDS, TimeUnit.SECONDS) || !Files.exists(link)) {
            close();
            throw new IOException("socat did not make " + link + " within " + READY_SECONDS + " s: " + log());
        }
    }

    private void readLog() {
        try (BufferedReader in = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                synchronized (log) {
                    log.add(line);
                }
                if (line.contains("starting data transfer loop")) {
                    ready.countDown();
                }
            }
        } catch (IOException e) {
            // the process ended
        }
    }

    private String log() {
        synchronized (log) {
            return String.join(" | ", log);
        }
    }

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
}
