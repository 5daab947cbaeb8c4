package org.labhal.faults;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.labhal.faults.Rig.Transport;

/**
 * The fault-injection matrix: every transport x every injection, each cell a fresh simulated
 * instrument, one fault or interrupt in one step, then the promises: the step ends within its
 * timeout plus {@link Case#GRACE} with the specific exception; the session lock is free; the
 * instrument-side lock is free (a second client takes it); no thread or file descriptor is left
 * over; the heap retained is bounded; the next steps, on the same session if it says it is open or
 * else on a new one, get their own answers. A cell that cannot exist is reported as skipped with
 * its reason, never silently. The table is printed at the end and written to
 * {@code target/fault-matrix.txt}.
 */
class FaultMatrixTest {
    private static final Matrix MATRIX = new Matrix();

    @TempDir
    Path dir;

    /**
     * Every cell; {@code -Dfaults.transports=SOCKET,HISLIP} and {@code -Dfaults.injections=stall,i:clear}
     * (column headings) run a part of the matrix, e.g. while fixing one transport. Cells not asked
     * for show as {@code -} in the printed matrix.
     */
    static Stream<Arguments> cells() {
        List<String> transports = List.of(System.getProperty("faults.transports", "").split(","));
        List<String> injections = List.of(System.getProperty("faults.injections", "").split(","));
        List<Arguments> all = new ArrayList<>();
        for (Transport t : Transport.values()) {
            for (Injection i : Injection.values()) {
                if ((transports.equals(List.of("")) || transports.contains(t.name()))
                        && (injections.equals(List.of("")) || injections.contains(i.column))) {
                    all.add(Arguments.of(t, i));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} x {1}")
    @MethodSource("cells")
    void promisesHold(Transport transport, Injection injection) throws Exception {
        String excluded = injection.excludedFor(transport);
        if (excluded != null) {
            MATRIX.excluded(transport, injection, excluded);
            Assumptions.abort(excluded);
        }
        List<String> broken;
        try {
            broken = new Case(transport, injection, dir).run();
        } catch (Exception | Error e) {
            StackTraceElement[] where = e.getStackTrace();
            MATRIX.failed(transport, injection, List.of("the case could not run: " + e + (where.length == 0 ? ""
                    : " at " + Arrays.stream(where).limit(4).map(String::valueOf).collect(Collectors.joining(" < ")))));
            throw e;
        }
        if (broken.isEmpty()) {
            MATRIX.passed(transport, injection);
        } else {
            MATRIX.failed(transport, injection, broken);
            fail(transport + " x " + injection.column + " (" + injection.description + ") broke "
                    + broken.size() + " promise(s):\n - " + String.join("\n - ", broken));
        }
    }

    @AfterAll
    static void printMatrix() throws IOException {
        String table = MATRIX.render();
        System.out.println(table);
        Path target = Path.of("target");
        Files.createDirectories(target);
        Files.writeString(target.resolve("fault-matrix.txt"), table);
    }
}
