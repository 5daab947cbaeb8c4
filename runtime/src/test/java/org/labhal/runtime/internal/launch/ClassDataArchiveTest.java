package org.labhal.runtime.internal.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The class-data archive builder on a small jar (one class, {@link TrainingMain}) with the JDK running
 * the tests: the archive it builds is used, a stale one is ignored without touching the program's
 * output, and a failed training leaves no archive at all, not even the old one.
 */
class ClassDataArchiveTest {
    private static final Path JAVA = Path.of(System.getProperty("java.home"), "bin", "java");
    private static final String SHARED = TrainingMain.class.getName() + " source: shared objects file (top)";

    @TempDir
    Path dir;

    @Test
    void theArchiveItBuildsHoldsTheJarsClassesAndIsMapped() throws Exception {
        Path jar = jar();
        Path archive = dir.resolve("app.jsa");

        long size = builder(jar, archive, "first").build();

        assertEquals(Files.size(archive), size);
        assertFalse(Files.exists(dir.resolve("app.jsa.part")), "no temporary file left");
        // -Xshare:on: the JVM fails rather than run without the archive
        Result run = run(List.of("-XX:SharedArchiveFile=" + archive, "-Xshare:on", "-Xlog:class+load"), jar, "again");
        assertEquals(0, run.exit, run.out);
        assertTrue(run.out.contains(SHARED), run.out);
        assertTrue(run.out.contains("trained again"), run.out);
    }

    @Test
    void aStaleArchiveIsIgnoredAndSaysSoOnStandardErrorOnly() throws Exception {
        Path jar = jar();
        Path archive = dir.resolve("app.jsa");
        builder(jar, archive, "first").build();
        // The same jar rebuilt: the archive records its time and size
        Files.setLastModifiedTime(jar, FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() + 2000));

        List<String> options = new ArrayList<>(List.of("-XX:SharedArchiveFile=" + archive));
        options.addAll(ClassDataArchive.RUN_OPTIONS);
        Result run = run(options, jar, "stale");

        assertEquals(0, run.exit, run.out + run.err);
        assertEquals("trained stale\n", run.out, "standard output is the program's alone");
        assertTrue(run.err.contains("Unable to use shared archive"), run.err);

        options.add("-Xlog:class+load:file=" + dir.resolve("classes.log"));
        assertEquals(0, run(options, jar, "stale").exit);
        String classes = Files.readString(dir.resolve("classes.log"));
        assertTrue(classes.contains(TrainingMain.class.getName() + " source: "), classes);
        assertFalse(classes.contains(SHARED), "not from the stale archive");
    }

    @Test
    void theJarRunsWithoutAnArchive() throws Exception {
        Path jar = jar();
        Result run = run(List.of(), jar, "plain");
        assertEquals(0, run.exit);
        assertEquals("trained plain\n", run.out);
    }

    @Test
    void aFailedTrainingRunLeavesNoArchiveNotEvenTheOldOne() throws Exception {
        Path jar = jar();
        Path archive = dir.resolve("app.jsa");
        builder(jar, archive, "first").build();
        assertTrue(Files.exists(archive));

        IOException failure = assertThrows(IOException.class, () -> builder(jar, archive, "exit=3").build());

        assertTrue(failure.getMessage().contains("exited with 3"), failure.getMessage());
        assertFalse(Files.exists(archive), "the old archive no longer matches the jar");
        assertFalse(Files.exists(dir.resolve("app.jsa.part")));
        try (var left = Files.list(dir)) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().startsWith("cds-training")),
                    "the training directory is deleted");
        }
    }

    private static ClassDataArchive builder(Path jar, Path archive, String argument) {
        return new ClassDataArchive(JAVA, jar, archive, List.of(), List.of(argument));
    }

    /** @return a jar holding {@link TrainingMain} as its main class */
    private Path jar() throws IOException {
        Path jar = dir.resolve("app.jar");
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, TrainingMain.class.getName());
        String entry = TrainingMain.class.getName().replace('.', '/') + ".class";
        try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file, manifest);
                InputStream in = TrainingMain.class.getClassLoader().getResourceAsStream(entry)) {
            out.putNextEntry(new JarEntry(entry));
            in.transferTo(out);
            out.closeEntry();
        }
        return jar;
    }

    private record Result(int exit, String out, String err) {
    }

    private Result run(List<String> options, Path jar, String argument) throws Exception {
        List<String> command = new ArrayList<>(List.of(JAVA.toString()));
        command.addAll(options);
        command.addAll(List.of("-jar", jar.toString(), argument));
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        Process process = new ProcessBuilder(command).directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("java did not exit: " + command);
        }
        return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }
}
