package org.labhal.runtime.internal.launch;

import java.io.File;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.labhal.runtime.internal.instrument.InstrumentConnection;
import org.labhal.runtime.internal.instrument.InstrumentDirectory;
import org.labhal.runtime.internal.instrument.InstrumentSettings;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * Decides when the runtime is up for a command or a prompt: the bundles and {@code .cfg} files in the
 * watched folder have been picked up, and every configured instrument has finished its first connect
 * (online, offline, waiting for its model, or refused as invalid). Waits are bounded: a slow
 * instrument delays the first command by at most the given timeout.
 */
final class RuntimeReadiness {
    // A command waits for this at most once per start; a look costs a configuration listing and a folder
    // listing, well under a millisecond
    private static final long POLL_MILLIS = 10;

    private final BundleContext context;
    private final ConfigurationAdmin configurations;
    private final InstrumentDirectory directory;

    RuntimeReadiness(BundleContext context, ConfigurationAdmin configurations, InstrumentDirectory directory) {
        this.context = context;
        this.configurations = configurations;
        this.directory = directory;
    }

    /**
     * @param timeout the longest wait
     * @return what was still pending when the wait ended, empty when everything settled
     * @throws InterruptedException when interrupted
     */
    List<String> await(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<String> pending;
        Object monitor = new Object();
        while (true) {
            long started = System.nanoTime();
            pending = pending();
            if (pending.isEmpty() || System.nanoTime() > deadline) {
                return pending;
            }
            // Nothing signals "FileInstall has scanned": poll, briefly, but never taking more than a tenth
            // of a core from the instruments connecting (a pass over a thousand takes milliseconds).
            long pass = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            synchronized (monitor) {
                monitor.wait(Math.max(POLL_MILLIS, pass * 10));
            }
        }
    }

    /**
     * One pass over the configurations, the watched folder and the running instruments, each read once
     * into a map or set: linear in their number, since it runs every {@value #POLL_MILLIS} ms while a
     * lab of a thousand instruments is connecting (a pass that searched the instruments for every
     * configuration took a core of its own then).
     */
    private List<String> pending() {
        List<String> pending = new ArrayList<>();
        String watched = context.getProperty("felix.fileinstall.dir");
        Set<String> fileNames = new HashSet<>();
        Map<String, Configuration> byPid = new HashMap<>();
        try {
            Configuration[] found = configurations.listConfigurations(
                    "(service.factoryPid=" + InstrumentSettings.FACTORY_PID + ")");
            for (Configuration configuration : found == null ? new Configuration[0] : found) {
                byPid.put(configuration.getPid(), configuration);
                Object file = configuration.getProperties().get(InstrumentSettings.FILEINSTALL_FILENAME);
                if (file != null) {
                    String location = file.toString();
                    fileNames.add(location.substring(location.lastIndexOf('/') + 1));
                }
            }
        } catch (IOException | InvalidSyntaxException e) {
            pending.add("configurations: " + e.getMessage());
            return pending;
        }
        if (watched != null) {
            File[] files = new File(watched).listFiles();
            for (File file : files == null ? new File[0] : files) {
                String name = file.getName();
                if (name.startsWith(InstrumentSettings.FACTORY_PID + "-") && name.endsWith(".cfg")
                        && !fileNames.contains(name)) {
                    pending.add("configuration file " + file);
                } else if (name.endsWith(".jar") && !installed(name)) {
                    pending.add("bundle " + file);
                }
            }
        }
        Map<String, InstrumentConnection> running = new HashMap<>();
        for (InstrumentConnection connection : directory.all()) {
            running.put(connection.settings().pid(), connection);
        }
        for (Configuration configuration : byPid.values()) {
            InstrumentConnection connection = running.get(configuration.getPid());
            if (connection != null) {
                if (!connection.settled()) {
                    pending.add("instrument " + connection.settings().id() + " (connecting)");
                }
            } else if (valid(configuration.getProperties())) {
                pending.add("instrument configuration " + configuration.getPid() + " (starting)");
            }
        }
        return pending;
    }

    private boolean installed(String jar) {
        for (Bundle bundle : context.getBundles()) {
            if (bundle.getLocation().endsWith("/" + jar)) {
                return bundle.getState() == Bundle.ACTIVE || bundle.getHeaders().get("Fragment-Host") != null;
            }
        }
        return false;
    }

    /** A configuration that is invalid or whose id is taken will never start: don't wait for it. */
    private boolean valid(Dictionary<String, Object> properties) {
        Map<String, Object> map = new HashMap<>();
        for (String key : Collections.list(properties.keys())) {
            map.put(key, properties.get(key));
        }
        try {
            InstrumentSettings settings = InstrumentSettings.from(map);
            return directory.find(settings.id()).isEmpty();
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
