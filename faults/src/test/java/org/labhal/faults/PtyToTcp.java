package org.labhal.faults;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A pseudo-terminal whose far side is a TCP connection to the fault proxy, made by socat: the
 * serial transport opens the pty as it would a USB adapter, and every byte of the line crosses the
 * proxy. Ended by its PID on {@link #close()}.
 */
final class PtyToTcp implements AutoCloseable {
    private static final long READY_SECONDS = 10;
    private final Process socat;
    private final StringBuilder log = new StringBuilder(); // guarded by itself
    private final CountDownLatch ready = new CountDownLatch(1);

    private PtyToTcp(Path link, int port) throws IOException {
        try {
            socat = new ProcessBuilder(List.of("socat", "-d", "-d", "pty,raw,echo=0,link=" + link,
                    "tcp:127.0.0.1:" + port)).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("socat is needed for the serial rows of the fault matrix (./lab test installs it; "
                    + "apt-get install -y socat): " + e.getMessage(), e);
        }
        socat.getOutputStream().close();
        Thread reader = new Thread(this::readLog, "socat-log-" + socat.pid());
        reader.setDaemon(true);
        reader.start();
    }

    static PtyToTcp start(Path link, int port) throws IOException, InterruptedException {
        PtyToTcp relay = new PtyToTcp(link, port);
        if (!relay.ready.await(READY_SECONDS, TimeUnit.SECONDS) || !Files.exists(link)) {
            relay.close();
            throw new IOException("socat did not join " + link + " to port " + port + " within " + READY_SECONDS
                    + " s: " + relay.log());
        }
        return relay;
    }

    private void readLog() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(socat.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                synchronized (log) {
                    log.append(line).append(" | ");
                }
                if (line.contains("starting data transfer loop")) {
                    ready.countDown();
                }
            }
        } catch (IOException e) {
            // socat ended
        }
    }

    private String log() {
        synchronized (log) {
            return log.toString();
        }
    }

    @Override
    public void close() throws InterruptedException {
        socat.destroy();
        if (!socat.waitFor(5, TimeUnit.SECONDS)) {
            socat.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
