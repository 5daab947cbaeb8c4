package org.labhal.transport.gpib.internal;

import java.nio.file.Files;
import java.nio.file.Path;

import org.labhal.api.transport.Connection;
import org.labhal.transport.gpib.PrologixSimulator;

/**
 * Measures queries per second through the transport and the simulator, by hand (not a test):
 * {@code java -cp ... org.labhal.transport.gpib.internal.QueryRate [queries]}. Alternates two
 * instruments, so every query also costs an {@code ++addr}.
 */
public final class QueryRate {
    private QueryRate() {
    }

    public static void main(String[] args) throws Exception {
        int queries = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        try (Bench bench = new Bench()) {
            report("TCP", bench, queries);
        }
        Path dir = Files.createTempDirectory("gpib-rate");
        PrologixSimulator simulator = PrologixSimulator.builder().instrument(22, "SHARED").instrument(5, "SMW200A").start();
        Path link = dir.resolve("tty");
        try (PtyBridge pty = PtyBridge.toTcp(link, simulator.port());
                Bench bench = new Bench(simulator, "ASRL" + link + "::INSTR")) {
            report("pty", bench, queries);
        }
    }

    private static void report(String what, Bench bench, int queries) throws Exception {
        try (Connection a = bench.open("GPIB0::22::INSTR"); Connection b = bench.open("GPIB0::5::INSTR")) {
            for (int i = 0; i < 200; i++) { // warm up
                Bench.query(i % 2 == 0 ? a : b, "SIM:ECHO? w" + i);
            }
            long start = System.nanoTime();
            int wrong = 0;
            for (int i = 0; i < queries; i++) {
                if (!Bench.query(i % 2 == 0 ? a : b, "SIM:ECHO? q" + i).equals("q" + i)) {
                    wrong++;
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("%s: %d queries alternating two instruments in %.2f s: %.0f/s, %.0f us each, %d wrong%n",
                    what, queries, seconds, queries / seconds, seconds * 1e6 / queries, wrong);
        }
    }
}
