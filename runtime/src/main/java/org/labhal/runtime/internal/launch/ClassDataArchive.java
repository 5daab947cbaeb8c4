package org.labhal.runtime.internal.launch;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Builds the executable jar's class-data-sharing archive at package time ({@code runtime/target/labhal.jsa},
 * a JDK 17 dynamic AppCDS archive): one training run of the jar in a fresh working directory, the same
 * start-up a user's first command goes through, with {@code -XX:ArchiveClassesAtExit}. The JVM keeps the
 * classes it loaded, parsed and verified: the JDK's, the launcher's and Felix's, and those of the bundles
 * (Felix's bundle class loaders define them from the same bytes again, which the JVM checks).
 *
 * <p>The archive is written under a temporary name and renamed into place once a second JVM has mapped it
 * with {@code -Xshare:on}: a truncated archive crashes the JVM that maps it, so a half-written one must
 * never carry the final name. When anything fails, no archive is left (an old one would be stale) and the
 * build goes on: the jar runs without it. A JVM given an archive that no longer matches the jar or the
 * JDK ignores it; {@link #RUN_OPTIONS} move that warning to standard error, off the command's result.
 *
 * <p>Usage, from the Maven build: {@code java -cp target/classes
 * org.labhal.runtime.internal.launch.ClassDataArchive <jar> <archive> [arguments of the training run]}.
 * Not part of the running framework.
 */
public final class ClassDataArchive {
    /**
     * Options that use the archive: {@code -XX:SharedArchiveFile=<archive>} and these, which send the
     * JVM's own warnings (e.g. "Unable to use shared archive" when the jar was rebuilt) to standard error.
     */
    public static final List<String> RUN_OPTIONS = List.of("-Xlog:disable", "-Xlog:all=warning:stderr");
    /** The training run's command line when none is given: the start-up of a first command. */
    static final List<String> DEFAULT_TRAINING = List.of("instr:list");
    /**
     * Simulators on ephemeral ports during the training: their classes are archived, and the training
     * never collides with a runtime already serving the standard ports on this machine.
     */
    static final List<String> TRAINING_OPTIONS = List.of("-Dlabhal.simulators.hislip=SHARED@0 SMW200A@0",
            "-Dlabhal.simulators.vxi11=SHARED@0", "-Dlabhal.simulators.socket=SHARED@0 SMW200A@0");
    private static final Duration RUN_LIMIT = Duration.ofSeconds(120);

    private final Path java;
    private final Path jar;
    private final Path archive;
    private final List<String> trainingOptions;
    private final List<String> training;

    /**
     * @param java the {@code java} executable that dumps the archive: the JDK that will use it
     * @param jar the executable jar
     * @param archive where the archive goes
     * @param trainingOptions JVM options of the training run
     * @param training the training run's arguments (the jar's command line)
     */
    ClassDataArchive(Path java, Path jar, Path archive, List<String> trainingOptions, List<String> training) {
        this.java = java;
        this.jar = jar.toAbsolutePath();
        this.archive = archive.toAbsolutePath();
        this.trainingOptions = List.copyOf(trainingOptions);
        this.training = List.copyOf(training);
    }

    /**
     * Builds the archive; never fails the build (exit 0), but says why there is no archive.
     *
     * @param args the jar, the archive, then the training run's arguments (default {@code instr:list})
     */
    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: ClassDataArchive <jar> <archive> [training arguments]");
            System.exit(2);
        }
        List<String> training = args.length > 2 ? List.of(args).subList(2, args.length) : DEFAULT_TRAINING;
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ClassDataArchive builder = new ClassDataArchive(java, Path.of(args[0]), Path.of(args[1]), TRAINING_OPTIONS,
                training);
        long begin = System.nanoTime();
        try {
            long size = builder.build();
            System.out.printf(Locale.ROOT, "class-data archive %s: %,d KiB, built in %.1f s%n", builder.archive,
                    size / 1024, (System.nanoTime() - begin) / 1e9);
        } catch (IOException | InterruptedException | RuntimeException e) {
            System.out.println("warning: no class-data archive (" + e.getMessage() + "); " + builder.jar.getFileName()
                    + " runs without it, only slower to start");
        }
    }

    /**
     * @return the archive's size in bytes
     * @throws IOException when the training run or the check failed; no archive is left then
     * @throws InterruptedException when interrupted; no archive is left then
     */
    long build() throws IOException, InterruptedException {
        Path part = archive.resolveSibling(archive.getFileName() + ".part");
        Path log = archive.resolveSibling(archive.getFileName() + ".log");
        Files.deleteIfExists(part);
        Files.deleteIfExists(log);
        Files.deleteIfExists(archive); // it no longer matches the jar: better none than a stale one
        Path work = Files.createTempDirectory(archive.getParent(), "cds-training");
        boolean built = false;
        try {
            List<String> train = new ArrayList<>(List.of(java.toString(), "-XX:ArchiveClassesAtExit=" + part));
            train.addAll(trainingOptions);
            train.addAll(List.of("-jar", jar.toString()));
            train.addAll(training);
            run(train, work, log, "the training run");
            if (!Files.isRegularFile(part) || Files.size(part) == 0) {
                throw new IOException("the training run wrote no archive, see " + log);
            }
            // -Xshare:on: exit 1 unless the archive maps and matches the jar and the JDK
            run(List.of(java.toString(), "-XX:SharedArchiveFile=" + part, "-Xshare:on", "-cp", jar.toString(),
                    "-version"), work, log, "the check of the archive");
            Files.move(part, archive, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            built = true;
            return Files.size(archive);
        } finally {
            if (!built) {
                Files.deleteIfExists(part);
            }
            delete(work);
        }
    }

    private static void run(List<String> command, Path work, Path log, String what)
            throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).directory(work.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        if (!process.waitFor(RUN_LIMIT.toSeconds(), TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            throw new IOException(what + " did not end within " + RUN_LIMIT.toSeconds() + " s, see " + log);
        }
        if (process.exitValue() != 0) {
            throw new IOException(what + " exited with " + process.exitValue() + ", see " + log);
        }
    }

    private static void delete(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
