package org.labhal.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The C responder of {@code benchmarks/c/scpi_responder.c} as a child process: started on a free
 * loopback port, stopped with SIGTERM (by its own PID, through {@link Process#destroy()}).
 */
final class ScpiResponder implements AutoCloseable {
    /** Its {@code *IDN?} answer by default. */
    static final String IDN = "LabHAL-Bench,C-Responder,0,1.0";

    private final Process process;
    private final int port;

    /**
     * @param binary the built responder
     * @param crlf whether answers end with CR LF (else LF)
     * @param single one client at a time with blocking I/O (else poll(), several at once)
     */
    ScpiResponder(Path binary, boolean crlf, boolean single) throws IOException {
        this(command(binary, crlf, single));
    }

    /**
     * Starts another responder of {@code benchmarks/c} that prints "listening 127.0.0.1:<port>" as this
     * one does ({@code hislip_responder}).
     *
     * @param command the binary and its arguments, with {@code --port 0}
     */
    ScpiResponder(List<String> command) throws IOException {
        process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.US_ASCII));
        String line = out.readLine(); // "listening 127.0.0.1:<port>"
        if (line == null || !line.startsWith("listening 127.0.0.1:")) {
            process.destroy();
            throw new IOException(command.get(0) + " did not start: " + line);
        }
        port = Integer.parseInt(line.substring(line.lastIndexOf(':') + 1));
    }

    private static List<String> command(Path binary, boolean crlf, boolean single) {
        List<String> command = new ArrayList<>(List.of(binary.toString(), "--port", "0"));
        if (crlf) {
            command.add("--crlf");
        }
        if (single) {
            command.add("--single");
        }
        return command;
    }

    int port() {
        return port;
    }

    String resource() {
        return "TCPIP::127.0.0.1::" + port + "::SOCKET";
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy(); // SIGTERM: it closes its sockets and prints its counters to our stderr
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor();
        }
    }
}
