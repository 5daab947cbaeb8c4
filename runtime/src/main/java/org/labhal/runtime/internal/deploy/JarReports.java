package org.labhal.runtime.internal.deploy;

import static java.util.concurrent.TimeUnit.MILLISECONDS;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;

import org.osgi.framework.Bundle;
import org.osgi.service.log.Logger;

/**
 * Says at error level, once per content of a file, that a jar in a watched folder is not a bundle and
 * why: {@code deploy/foo.jar is not a bundle: zip END header not found (ignored until the file changes)}.
 * FileInstall looks at such a file at every poll and says nothing; this is the one line a user gets.
 * <p>
 * A file is judged only once it has been left alone for the settle time, so a jar caught half-copied
 * (which FileInstall installs a poll later) is not reported. A file counts as changed when its length or
 * modification time changes, as FileInstall's own scanner tells changes apart.
 * <p>
 * Thread-safe: FileInstall's watcher thread, the framework's event thread and the re-check timer call it.
 */
final class JarReports {
    /** One content of a file, as FileInstall tells contents apart. */
    private record Stamp(long length, long modified) {
    }

    private final Map<Path, String> folders = new LinkedHashMap<>();
    private final long settleMillis;
    private final ScheduledExecutorService timer;
    private final Logger logger;
    // guarded by this: what was said of each file, and the files waiting to settle with their note
    private final Map<Path, Stamp> reported = new HashMap<>();
    private final Map<Path, String> settling = new HashMap<>();

    /**
     * @param folders the watched folders as configured (relative to the working directory or absolute);
     *            only jars in them are judged, and they are named as seen from there ({@code deploy/foo.jar})
     * @param settle how long a file must have been left alone before it is judged
     * @param timer runs the re-check of a file that has not settled yet
     * @param logger where the report goes
     */
    JarReports(List<String> folders, Duration settle, ScheduledExecutorService timer, Logger logger) {
        for (String folder : folders) {
            this.folders.put(Path.of(folder).toAbsolutePath().normalize(), folder);
        }
        this.settleMillis = settle.toMillis();
        this.timer = timer;
        this.logger = logger;
    }

    /**
     * FileInstall offers the file to a handler: it has no handler yet (a new or changed file that it
     * did not install) or it asks every handler before its own bundle handler.
     *
     * @param file the file as FileInstall names it
     */
    void offered(Path file) {
        look(file, "");
    }

    /**
     * A bundle was uninstalled. FileInstall uninstalls the bundle of a jar that was replaced by something
     * that is not a bundle, without a word, and then leaves the file alone until it changes again.
     *
     * @param bundle the uninstalled bundle
     */
    void uninstalled(Bundle bundle) {
        Path file = fileOf(bundle.getLocation());
        if (file != null && Files.exists(file)) {
            look(file, "; FileInstall uninstalled " + bundle.getSymbolicName() + " " + bundle.getVersion()
                    + ", which it had installed from it");
        }
    }

    private void look(Path file, String note) {
        // FileInstall offers every file nothing claimed at every poll: a file that is not a jar costs a
        // name check, a jar already reported and unchanged a stat, never a second look inside
        if (!isJar(file)) {
            return;
        }
        Path absolute = file.toAbsolutePath().normalize();
        String shown = shown(absolute);
        if (shown == null) {
            return;
        }
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(absolute, BasicFileAttributes.class);
        } catch (IOException e) {
            return; // gone again
        }
        if (!attributes.isRegularFile()) {
            return;
        }
        Stamp stamp = new Stamp(attributes.size(), attributes.lastModifiedTime().toMillis());
        synchronized (this) {
            if (stamp.equals(reported.get(absolute))) {
                return; // this content was reported: the same answer again, and nothing to say
            }
        }
        Optional<String> problem = BundleFileCheck.problem(absolute);
        synchronized (this) {
            reported.keySet().removeIf(path -> !Files.exists(path));
            if (problem.isEmpty()) {
                reported.remove(absolute);
                return;
            }
            if (stamp.equals(reported.get(absolute))) {
                return;
            }
            long age = System.currentTimeMillis() - stamp.modified();
            if (Math.abs(age) < settleMillis) {
                settleThenLook(absolute, note, settleMillis - age);
                return;
            }
            reported.put(absolute, stamp);
        }
        logger.error("{} is not a bundle: {} (ignored until the file changes{})", shown, problem.get(), note);
    }

    // Under this. One re-check per file; a note (which bundle was uninstalled) is kept for it.
    private void settleThenLook(Path file, String note, long delayMillis) {
        String earlier = settling.get(file);
        settling.put(file, earlier == null || earlier.isEmpty() ? note : earlier);
        if (earlier != null) {
            return;
        }
        try {
            timer.schedule(() -> {
                String kept;
                synchronized (this) {
                    kept = settling.remove(file);
                }
                look(file, kept == null ? "" : kept);
            }, delayMillis, MILLISECONDS);
        } catch (RejectedExecutionException e) {
            settling.remove(file); // the component is going away
        }
    }

    private static boolean isJar(Path file) {
        Path name = file.getFileName();
        return name != null && name.toString().toLowerCase(Locale.ROOT).endsWith(".jar");
    }

    /** @return the file as seen from its watched folder, {@code null} when it is not a jar in one */
    private String shown(Path absolute) {
        if (!isJar(absolute)) {
            return null;
        }
        for (Map.Entry<Path, String> folder : folders.entrySet()) {
            if (absolute.startsWith(folder.getKey()) && !absolute.equals(folder.getKey())) {
                return Path.of(folder.getValue()).resolve(folder.getKey().relativize(absolute)).toString();
            }
        }
        return null;
    }

    /** @return the file a bundle was installed from, {@code null} when its location is not a file URL */
    private static Path fileOf(String location) {
        if (location == null || !location.startsWith("file:")) {
            return null;
        }
        try {
            return Path.of(URI.create(location));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
