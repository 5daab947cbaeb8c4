package org.labhal.benchmarks.runtime;

import java.io.File;
import java.net.URISyntaxException;
import java.nio.file.Path;

import org.labhal.benchmarks.driver.BenchDriverModel;

import aQute.bnd.osgi.Builder;
import aQute.bnd.osgi.Constants;
import aQute.bnd.osgi.Jar;

/**
 * Makes the driver bundle that the runtime benchmark drops into the watched folder: the package of
 * {@link BenchDriverModel}, taken from this benchmark jar and wrapped by bnd, which writes the
 * manifest (imports with version ranges from the API's {@code @Version} annotations) and the DS
 * descriptor from {@code @Component}, as the driver builds do.
 */
final class DriverBundle {
    static final String SYMBOLIC_NAME = "org.labhal.benchmarks.driver";

    private DriverBundle() {
    }

    /**
     * @param target where to write the bundle
     * @throws IllegalStateException with bnd's errors when it cannot make the bundle
     */
    static void write(Path target) throws Exception {
        write(target, SYMBOLIC_NAME, "LabHAL benchmark driver", BenchDriverModel.class);
    }

    /**
     * Wraps the package of {@code member}, a package of this benchmark jar, into a bundle.
     *
     * @param target where to write the bundle
     * @param symbolicName its symbolic name
     * @param name its human name
     * @param member a class of the package to wrap
     * @throws IllegalStateException with bnd's errors when it cannot make the bundle
     */
    static void write(Path target, String symbolicName, String name, Class<?> member) throws Exception {
        try (Builder builder = new Builder()) {
            builder.setProperty(Constants.BUNDLE_SYMBOLICNAME, symbolicName);
            builder.setProperty(Constants.BUNDLE_VERSION, "1.0.0");
            builder.setProperty(Constants.BUNDLE_NAME, name);
            builder.setProperty(Constants.PRIVATEPACKAGE, member.getPackageName());
            // The API inside this shaded jar has lost its manifest, so bnd cannot see its export versions:
            // the consumer range of the API's 1.x packages, as a driver build would compute it.
            builder.setProperty(Constants.IMPORT_PACKAGE, "org.labhal.api.*;version=\"[1.0,2)\",*");
            builder.setProperty(Constants.NOIMPORTJAVA, "true"); // java.* comes from the boot class path
            builder.addClasspath(codeSource());
            Jar jar = builder.build();
            if (!builder.isOk()) {
                throw new IllegalStateException("bnd could not make the bundle " + symbolicName + ": "
                        + builder.getErrors());
            }
            jar.write(target.toFile());
        }
    }

    private static File codeSource() throws URISyntaxException {
        return new File(BenchDriverModel.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }
}
