package org.labhal.runtime.internal.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.Version;
import org.osgi.service.log.Logger;

class JarReportsTest {
    private static final Duration SETTLE = Duration.ofMillis(300);
    private static final FileTime AN_HOUR_AGO = FileTime.from(Instant.now().minus(Duration.ofHours(1)));

    @TempDir
    Path work;

    private final BlockingQueue<String> log = new LinkedBlockingQueue<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    private Path deploy;
    private JarReports reports;

    @BeforeEach
    void watchAFolder() throws IOException {
        deploy = Files.createDirectories(work.resolve("deploy"));
        reports = new JarReports(List.of(deploy.toString()), SETTLE, timer, logger());
    }

    @AfterEach
    void stopTimer() {
        timer.shutdownNow();
    }

    @Test
    void everyKindOfNonBundleGetsItsReasonAndABundleNone() throws IOException {
        byte[] bundle = bundle("org.example.good");
        assertEquals(Optional.empty(), BundleFileCheck.problem(write("good.jar", bundle)));
        assertEquals(Optional.of("zip END header not found"), BundleFileCheck.problem(write("random.jar", random(3000))));
        assertEquals(Optional.of("zip END header not found"),
                BundleFileCheck.problem(write("truncated.jar", Arrays.copyOf(bundle, bundle.length / 2))));
        assertEquals(Optional.of("zip file is empty"), BundleFileCheck.problem(write("empty.jar", new byte[0])));
        assertEquals(Optional.of("it has no META-INF/MANIFEST.MF"),
                BundleFileCheck.problem(write("nomanifest.jar", zipWithoutManifest())));
        assertEquals(Optional.of("its manifest has no Bundle-SymbolicName (a plain jar, not an OSGi bundle)"),
                BundleFileCheck.problem(write("plain.jar", bundle(null))));
    }

    @Test
    void aJarThatIsNotABundleIsReportedOnceByNameUntilItsContentChanges() throws Exception {
        Path random = settled(write("random.jar", random(3000)));
        for (int poll = 0; poll < 5; poll++) {
            reports.offered(random);
        }
        assertEquals(deploy.resolve("random.jar") + " is not a bundle: zip END header not found"
                + " (ignored until the file changes)", log.poll());
        assertNull(log.poll(), "said once, not at every poll");

        settled(write("random.jar", random(4000)));
        reports.offered(random);
        reports.offered(random);
        assertTrue(log.poll().startsWith(deploy.resolve("random.jar") + " is not a bundle: "), "a new content: said again");
        assertNull(log.poll());
    }

    @Test
    void aJarRepairedAndBrokenAgainIsReportedAgainAndABundleNever() throws Exception {
        Path jar = settled(write("driver.jar", random(3000)));
        reports.offered(jar);
        assertNotNull(log.poll());
        settled(write("driver.jar", bundle("org.example.driver")));
        reports.offered(jar);
        assertNull(log.poll(), "a bundle is not reported");
        settled(write("driver.jar", random(3000)));
        reports.offered(jar);
        assertNotNull(log.poll(), "broken again: said again");
    }

    @Test
    void filesOutsideTheWatchedFoldersAndFilesThatAreNotJarsAreLeftAlone() throws Exception {
        reports.offered(settled(write("notes.txt", random(100))));
        reports.offered(settled(write("org.labhal.instrument-x.cfg", random(100))));
        Path elsewhere = Files.createDirectories(work.resolve("tmp")).resolve("jardir.jar");
        Files.write(elsewhere, random(100));
        Files.setLastModifiedTime(elsewhere, AN_HOUR_AGO);
        reports.offered(elsewhere); // FileInstall jars up directories into its temporary folder
        assertNull(log.poll());
    }

    @Test
    void aJarStillBeingWrittenIsJudgedOnlyOnceItHasSettled() throws Exception {
        Path jar = write("copying.jar", random(3000)); // modified now
        reports.offered(jar);
        assertNull(log.poll(), "not judged while it may still be copied");
        String line = log.poll(10, TimeUnit.SECONDS);
        assertEquals(deploy.resolve("copying.jar") + " is not a bundle: zip END header not found"
                + " (ignored until the file changes)", line);
        reports.offered(jar);
        assertNull(log.poll(2 * SETTLE.toMillis(), TimeUnit.MILLISECONDS));
    }

    @Test
    void aJarCompletedWhileSettlingIsNotReported() throws Exception {
        byte[] bundle = bundle("org.example.copied");
        Path jar = write("copied.jar", Arrays.copyOf(bundle, bundle.length / 2));
        reports.offered(jar);
        Files.write(jar, bundle);
        assertNull(log.poll(3 * SETTLE.toMillis(), TimeUnit.MILLISECONDS));
    }

    @Test
    void aBundleUninstalledBecauseItsJarWasReplacedByGarbageIsNamed() throws Exception {
        Path jar = settled(write("driver.jar", random(3000)));
        reports.uninstalled(bundle("org.example.driver", jar.toUri().toString()));
        assertEquals(deploy.resolve("driver.jar") + " is not a bundle: zip END header not found (ignored until the"
                + " file changes; FileInstall uninstalled org.example.driver 1.2.0, which it had installed from it)",
                log.poll());

        Files.delete(jar);
        reports.uninstalled(bundle("org.example.driver", jar.toUri().toString()));
        reports.uninstalled(bundle("org.example.other", "inputstream:other.jar"));
        assertNull(log.poll(), "a deleted jar or a bundle from elsewhere is an ordinary uninstall");
    }

    @Test
    void watchedFoldersAreFileInstallsCommaSeparatedList() {
        assertEquals(List.of("deploy"), DeployedJarCheck.folders("deploy"));
        assertEquals(List.of("/srv/a", "/srv/b"), DeployedJarCheck.folders(" /srv/a , /srv/b "));
        assertEquals(List.of("./load"), DeployedJarCheck.folders(null));
    }

    private Path write(String name, byte[] content) throws IOException {
        return Files.write(deploy.resolve(name), content);
    }

    private static Path settled(Path file) throws IOException {
        Files.setLastModifiedTime(file, AN_HOUR_AGO);
        return file;
    }

    private static byte[] random(int size) {
        byte[] bytes = new byte[size];
        new Random(size).nextBytes(bytes);
        return bytes;
    }

    /** @param symbolicName {@code null} for a plain jar with a manifest */
    private static byte[] bundle(String symbolicName) throws IOException {
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        if (symbolicName != null) {
            manifest.getMainAttributes().putValue("Bundle-ManifestVersion", "2");
            manifest.getMainAttributes().putValue("Bundle-SymbolicName", symbolicName);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarOutputStream jar = new JarOutputStream(bytes, manifest)) {
            jar.putNextEntry(new ZipEntry("readme.txt"));
            jar.write(random(2000));
        }
        return bytes.toByteArray();
    }

    private static byte[] zipWithoutManifest() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.putNextEntry(new ZipEntry("readme.txt"));
            zip.write("no manifest here".getBytes());
        }
        return bytes.toByteArray();
    }

    private static Bundle bundle(String symbolicName, String location) {
        return (Bundle) Proxy.newProxyInstance(JarReportsTest.class.getClassLoader(), new Class<?>[] { Bundle.class },
                (proxy, method, args) -> switch (method.getName()) {
                case "getSymbolicName" -> symbolicName;
                case "getLocation" -> location;
                case "getVersion" -> new Version(1, 2, 0);
                default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    /** A logger that keeps each formatted entry. */
    private Logger logger() {
        return (Logger) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] { Logger.class },
                (proxy, method, args) -> {
                    if (args != null && args.length > 0 && args[0] instanceof String format) {
                        String text = format;
                        for (int i = 1; i < args.length; i++) {
                            Object[] values = args[i] instanceof Object[] array ? array : new Object[] { args[i] };
                            for (Object value : values) {
                                text = text.replaceFirst("\\{}", java.util.regex.Matcher.quoteReplacement(String.valueOf(value)));
                            }
                        }
                        log.add(text);
                        return null;
                    }
                    return method.getName().startsWith("is") ? Boolean.TRUE : null;
                });
    }
}
