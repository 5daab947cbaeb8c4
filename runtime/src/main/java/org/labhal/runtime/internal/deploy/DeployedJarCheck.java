package org.labhal.runtime.internal.deploy;

import java.io.File;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import org.apache.felix.fileinstall.ArtifactInstaller;
import org.labhal.runtime.internal.NamedThreadFactory;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.BundleListener;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * Reports jars in the watched folder that FileInstall cannot install because they are not bundles (random
 * bytes, a truncated copy, a zip without a manifest, a plain library jar), which FileInstall skips without a
 * word: one error line per file and content, naming the file and why ({@link JarReports}).
 * <p>
 * It is a FileInstall {@link ArtifactInstaller} that claims nothing: FileInstall offers every new or changed
 * file, and every file nothing claimed at each poll, to its handlers in ranking order and to its own bundle
 * handler last; ranked lowest, this one sees what no other handler took. A bundle whose jar was replaced by
 * one that is not a bundle is uninstalled by FileInstall without offering the file again; a bundle listener
 * catches that case.
 */
@Component(service = ArtifactInstaller.class, immediate = true,
        property = Constants.SERVICE_RANKING + ":Integer=" + Integer.MIN_VALUE)
public final class DeployedJarCheck implements ArtifactInstaller {
    /** Framework property: FileInstall's watched folders, separated by commas. */
    static final String WATCHED = "felix.fileinstall.dir";
    /** A jar modified more recently than this may still be being copied; it is judged after it. */
    static final Duration SETTLE = Duration.ofSeconds(1);

    private final BundleContext context;
    private final ScheduledExecutorService timer = Executors
            .newSingleThreadScheduledExecutor(new NamedThreadFactory("labhal-deploy-check"));
    private final JarReports reports;
    private final BundleListener uninstalls;

    /**
     * @param context gives the watched folders and the bundle events
     * @param logger where a jar that is not a bundle is reported
     */
    @Activate
    public DeployedJarCheck(BundleContext context, @Reference(service = LoggerFactory.class) Logger logger) {
        this.context = context;
        this.reports = new JarReports(folders(context.getProperty(WATCHED)), SETTLE, timer, logger);
        JarReports jars = reports;
        this.uninstalls = event -> {
            if (event.getType() == BundleEvent.UNINSTALLED) {
                jars.uninstalled(event.getBundle());
            }
        };
        context.addBundleListener(uninstalls);
    }

    /** Stops listening and drops the pending re-checks. */
    @Deactivate
    public void deactivate() {
        context.removeBundleListener(uninstalls);
        timer.shutdownNow();
    }

    /** Reports the file if it is a jar in a watched folder that is not a bundle; never claims it. */
    @Override
    public boolean canHandle(File artifact) {
        reports.offered(artifact.toPath());
        return false;
    }

    /** Never called: this handler claims no file. */
    @Override
    public void install(File artifact) {
        // claims nothing (canHandle is false), so FileInstall never hands it a file
    }

    /** Never called: this handler claims no file. */
    @Override
    public void update(File artifact) {
        // claims nothing
    }

    /** Never called: this handler claims no file. */
    @Override
    public void uninstall(File artifact) {
        // claims nothing
    }

    /**
     * @param property {@value #WATCHED}, e.g. {@code deploy} or {@code /srv/a,/srv/b}; {@code null} when unset
     * @return the folders, FileInstall's default {@code ./load} when unset
     */
    static List<String> folders(String property) {
        if (property == null || property.isBlank()) {
            return List.of("./load");
        }
        return Arrays.stream(property.split(",")).map(String::strip).filter(folder -> !folder.isEmpty()).toList();
    }
}
