package org.labhal.transport.gpib.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A pseudo-terminal whose far side socat joins to a loopback TCP port: what a GPIB-USB controller
 * looks like to the host (a serial device), with the simulator behind it. Needs socat (a Debian
 * package); without it the pty tests fail, they never skip.
 */
final class PtyBridge implements AutoCloseable {
    private final Process process;

    private PtyBridge(Process process) {
        this.process = process;
    }

    static PtyBridge toTcp(Path link, int port) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(List.of("socat", "-d", "-d", "pty,raw,echo=0,link=" + link,
                    "tcp:127.0.0.1:" + port + ",nodelay")).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError("socat is needed for the pty tests: apt-get install -y socat", e);
        }
        p.getOutputStream().close();
        PtyBridge bridge = new PtyBridge(p);
        // socat says "starting data transfer loop" once both sides are open
        InputStream log = p.getInputStream();
        StringBuilder said = new StringBuilder();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!said.toString().contains("starting data transfer loop")) {
            int b = log.read();
            if (b < 0 || System.nanoTime() - end > 0) {
                bridge.close();
                throw new AssertionError("socat did not start: " + said);
            }
            said.append((char) b);
        }
        Thread drain = new Thread(() -> {
            try {
                log.transferTo(OutputStreamSink.INSTANCE);
            } catch (IOException e) {
                // socat ended
            }
        }, "socat-log");
        drain.setDaemon(true);
        drain.start();
        if (!Files.exists(link)) {
            bridge.close();
            throw new AssertionError("socat started but " + link + " is missing");
        }
        return bridge;
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

    /** Throws socat's later chatter away. */
    private static final class OutputStreamSink extends java.io.OutputStream {
        static final OutputStreamSink INSTANCE = new OutputStreamSink();

        @Override
        public void write(int b) {
            // discarded
        }
    }
}
