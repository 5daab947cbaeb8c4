package org.labhal.benchmarks;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * lxi-tools' {@code lxi benchmark} (C, liblxi over the system's ONC RPC library) as a client of the
 * interleaved comparison: each window is one {@code lxi benchmark -a HOST -c N} run, with N sized
 * from the last run's rate so that the run lasts about a window. The rate is what lxi reports (its
 * own clock around its {@code *IDN?} loop). Its VXI-11 reaches the instrument through the
 * portmapper on port 111, the only port it knows.
 */
final class LxiClient {
    private static final Pattern RESULT = Pattern.compile("Result: ([0-9.]+) requests/second");

    private final String lxi;
    private final String host;
    private double lastRate = 5_000;

    /**
     * @param lxi the {@code lxi} command
     * @param host the instrument's address
     */
    LxiClient(String lxi, String host) {
        this.lxi = lxi;
        this.host = host;
    }

    /** @return queries per second of one run of about {@code nanos} */
    double window(long nanos) throws IOException, InterruptedException {
        long count = Math.max(200, Math.round(lastRate * nanos / 1e9));
        Process process = new ProcessBuilder(List.of(lxi, "benchmark", "-a", host, "-c", Long.toString(count)))
                .redirectErrorStream(true).start();
        String output;
        try (InputStream in = process.getInputStream()) {
            ByteArrayOutputStream tail = new ByteArrayOutputStream();
            byte[] buffer = new byte[65536];
            for (int n; (n = in.read(buffer)) > 0;) {
                tail.write(buffer, 0, n); // its progress counter, then the result line
                if (tail.size() > 1 << 20) {
                    tail.reset();
                }
            }
            output = tail.toString(StandardCharsets.US_ASCII);
        } finally {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
        Matcher result = RESULT.matcher(output);
        if (!result.find()) {
            String end = output.length() > 300 ? output.substring(output.length() - 300) : output;
            throw new IOException("lxi benchmark gave no result (exit " + process.exitValue() + "): " + end);
        }
        lastRate = Double.parseDouble(result.group(1));
        return lastRate;
    }
}
