package org.labhal.benchmarks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where one thread's time and allocation go, from a JFR recording (JDK 17 has no {@code jfr view}):
 * execution samples by top frame (self) and by every method on the stack (total), native-method
 * samples by top frame (a thread blocked or busy in a system call), and sampled allocation by class
 * and first LabHAL frame.
 * <p>
 * Usage: {@code java -cp benchmarks.jar org.labhal.benchmarks.JfrTop recording.jfr [thread] [rows]}
 * (thread {@code main} and 25 rows by default).
 */
public final class JfrTop {
    private JfrTop() {
    }

    public static void main(String[] args) throws IOException {
        Path file = Path.of(args[0]);
        String thread = args.length > 1 ? args[1] : "main";
        int rows = args.length > 2 ? Integer.parseInt(args[2]) : 25;
        Map<String, Long> self = new HashMap<>();
        Map<String, Long> total = new HashMap<>();
        Map<String, Long> nativeTop = new HashMap<>();
        Map<String, Long> allocated = new HashMap<>();
        long samples = 0;
        long nativeSamples = 0;
        long allocatedBytes = 0;
        for (RecordedEvent event : RecordingFile.readAllEvents(file)) {
            String type = event.getEventType().getName();
            RecordedStackTrace stack = event.getStackTrace();
            if (stack == null || stack.getFrames().isEmpty()) {
                continue;
            }
            List<RecordedFrame> frames = stack.getFrames();
            switch (type) {
                case "jdk.ExecutionSample" -> {
                    if (!thread.equals(name(event.getThread("sampledThread")))) {
                        continue;
                    }
                    samples++;
                    self.merge(method(frames.get(0)), 1L, Long::sum);
                    Set<String> seen = new HashSet<>();
                    for (RecordedFrame frame : frames) {
                        if (seen.add(method(frame))) {
                            total.merge(method(frame), 1L, Long::sum);
                        }
                    }
                }
                case "jdk.NativeMethodSample" -> {
                    if (!thread.equals(name(event.getThread("sampledThread")))) {
                        continue;
                    }
                    nativeSamples++;
                    nativeTop.merge(method(frames.get(0)) + " <- " + caller(frames), 1L, Long::sum);
                }
                case "jdk.ObjectAllocationSample" -> {
                    if (!thread.equals(name(event.getThread("eventThread")))) {
                        continue;
                    }
                    long weight = event.getLong("weight");
                    allocatedBytes += weight;
                    String where = frames.stream().map(JfrTop::method).filter(m -> m.startsWith("org.labhal."))
                            .findFirst().orElse(method(frames.get(0)));
                    allocated.merge(event.getClass("objectClass").getName() + " @ " + where, weight, Long::sum);
                }
                default -> {
                }
            }
        }
        System.out.printf(Locale.ROOT, "%s, thread %s: %d execution samples, %d native-method samples, %d bytes of "
                + "sampled allocation%n", file, thread, samples, nativeSamples, allocatedBytes);
        print("execution samples by top frame (self)", self, samples, rows);
        print("execution samples by method anywhere on the stack (total)", total, samples, rows);
        print("native-method samples by top frame <- first non-JDK caller", nativeTop, nativeSamples, rows / 2);
        print("sampled allocation (bytes) by class @ first LabHAL frame", allocated, allocatedBytes, rows / 2);
    }

    private static void print(String title, Map<String, Long> counts, long all, int rows) {
        System.out.println("  " + title + ":");
        counts.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(rows)
                .forEach(e -> System.out.printf(Locale.ROOT, "    %5.1f%%  %8d  %s%n",
                        all == 0 ? 0 : 100.0 * e.getValue() / all, e.getValue(), e.getKey()));
    }

    private static String name(RecordedThread thread) {
        return thread == null ? "" : thread.getJavaName();
    }

    private static String method(RecordedFrame frame) {
        return frame.getMethod().getType().getName() + "." + frame.getMethod().getName();
    }

    /** The first frame outside the JDK, to tell whose system call it is. */
    private static String caller(List<RecordedFrame> frames) {
        return frames.stream().map(JfrTop::method)
                .filter(m -> !m.startsWith("java.") && !m.startsWith("sun.") && !m.startsWith("jdk."))
                .findFirst().orElse("?");
    }
}
