package org.labhal.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * PyVISA-py as a client of the interleaved comparison: {@code benchmarks/python/pyvisa_window.py} in a
 * child Python process that runs one window per request, timing it itself, and blocks on its stdin in
 * between.
 */
final class PyvisaClient implements AutoCloseable {
    private final Process process;
    private final BufferedReader from;
    private final Writer to;

    /**
     * @param python the interpreter with pyvisa and pyvisa-py, e.g. {@code /usr/bin/python3}
     * @param script {@code pyvisa_window.py}
     * @param expected the answer every query must get
     * @param crlf whether answers end with CR LF
     */
    PyvisaClient(String python, Path script, String resource, String query, String expected, boolean crlf)
            throws IOException {
        process = new ProcessBuilder(List.of(python, script.toString(), resource, query, expected,
                crlf ? "crlf" : "lf")).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        from = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII));
        to = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.US_ASCII);
        String ready = from.readLine();
        if (ready == null || !ready.equals("ready " + expected)) {
            close();
            throw new IOException("PyVISA-py did not start (" + python + " " + script + "): " + ready);
        }
    }

    /** @return queries per second over a window of about {@code nanos}, as the Python side timed it */
    double window(long nanos) throws IOException {
        to.write(String.format(Locale.ROOT, "window %.9f%n", nanos / 1e9));
        to.flush();
        String line = from.readLine();
        if (line == null) {
            throw new IOException("PyVISA-py ended (see its error above)");
        }
        String[] fields = line.trim().split(" ");
        return Long.parseLong(fields[0]) / Double.parseDouble(fields[1]);
    }

    @Override
    public void close() {
        try {
            to.write("quit\n");
            to.flush();
            if (process.waitFor(5, TimeUnit.SECONDS)) {
                return;
            }
        } catch (IOException | InterruptedException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
        }
        process.destroy();
    }
}
