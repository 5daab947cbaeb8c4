package org.labhal.runtime.internal.launch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.apache.felix.service.command.CommandProcessor;
import org.labhal.runtime.internal.NamedThreadFactory;
import org.labhal.runtime.internal.instrument.InstrumentDirectory;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.framework.startlevel.FrameworkStartLevel;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * Chooses between the executable jar's modes once the bnd launcher has started every bundle. First it
 * makes the watched folder and raises the framework to {@value #FILEINSTALL_START_LEVEL}, where FileInstall
 * sits. With
 * command-line arguments it registers a {@code main.thread} {@link Callable} that the launcher runs on
 * its main thread: the arguments are run as one Gogo command line once the runtime is up, and the
 * process exits with the command's status. Without arguments it raises the framework to the start
 * level in {@value #SHELL_START_LEVEL}, where the Gogo shell bundle sits, so the prompt (or, with
 * {@code gosh.args=--nointeractive}, the console-less daemon) starts after the runtime is up and all
 * {@code instr:} commands exist. Inactive when the property is not set (framework tests).
 */
@Component(immediate = true)
public final class LaunchMode {
    /** Framework property: the start level of the Gogo shell bundle. */
    public static final String SHELL_START_LEVEL = "labhal.shell.startlevel";
    /** Framework property: the start level of FileInstall, raised to once the watched folder exists. */
    public static final String FILEINSTALL_START_LEVEL = "labhal.fileinstall.startlevel";
    private static final Duration STARTUP = Duration.ofSeconds(20);

    private final ExecutorService starter = Executors.newSingleThreadExecutor(new NamedThreadFactory("labhal-launch"));
    private final ServiceRegistration<?> mainThread;

    /**
     * @param context raises the start level or registers the command-line runner
     * @param launcher the bnd launcher's service properties: {@code launcher.arguments} holds the command line
     * @param processor runs the command line
     * @param configurations tells which instruments are configured
     * @param directory tells when they have connected
     * @param defaults the built-in instruments, created before this runs
     * @param logger where the mode is logged
     */
    @Activate
    public LaunchMode(BundleContext context,
            @Reference(service = Object.class, target = "(launcher.ready=true)") Map<String, Object> launcher,
            @Reference CommandProcessor processor, @Reference ConfigurationAdmin configurations,
            @Reference InstrumentDirectory directory, @Reference DefaultInstruments defaults,
            @Reference(service = LoggerFactory.class) Logger logger) {
        String shellLevel = context.getProperty(SHELL_START_LEVEL);
        if (shellLevel == null) {
            mainThread = null;
            return;
        }
        RuntimeReadiness readiness = new RuntimeReadiness(context, configurations, directory);
        String[] arguments = launcher.get("launcher.arguments") instanceof String[] args ? args : new String[0];
        FrameworkStartLevel levels = context.getBundle(0).adapt(FrameworkStartLevel.class);
        String fileInstallLevel = context.getProperty(FILEINSTALL_START_LEVEL);
        starter.execute(() -> {
            String watched = context.getProperty("felix.fileinstall.dir");
            if (watched != null) {
                try {
                    Files.createDirectories(Path.of(watched));
                } catch (IOException e) {
                    logger.error("Cannot create the watched folder {}: {}", watched, e.toString());
                }
            }
            if (fileInstallLevel != null) {
                levels.setStartLevel(Integer.parseInt(fileInstallLevel.strip()));
            }
        });
        if (arguments.length > 0) {
            Hashtable<String, Object> properties = new Hashtable<>();
            properties.put("main.thread", "true");
            mainThread = context.registerService(Callable.class,
                    new CommandLine(CommandLine.join(arguments), processor, readiness, STARTUP), properties);
            return;
        }
        mainThread = null;
        starter.execute(() -> {
            try {
                List<String> pending = readiness.await(STARTUP);
                if (!pending.isEmpty()) {
                    logger.warn("Starting the shell although these are not ready after {} s: {}", STARTUP.toSeconds(),
                            pending);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            levels.setStartLevel(Integer.parseInt(shellLevel.strip()));
        });
    }

    /** Withdraws the command-line runner and stops waiting to start the shell (or FileInstall). */
    @Deactivate
    public void deactivate() {
        starter.shutdownNow();
        if (mainThread != null) {
            try {
                mainThread.unregister();
            } catch (IllegalStateException e) {
                // gone with the bundle
            }
        }
    }
}
