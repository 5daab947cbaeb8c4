package org.labhal.runtime.internal.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * Tells why a file is not a bundle, by the same test FileInstall uses to decide whether it installs a
 * file as one (its {@code BundleTransformer}: the file opens as a jar and its manifest names a
 * {@code Bundle-SymbolicName}). FileInstall itself says nothing when the test fails; this says what failed.
 */
final class BundleFileCheck {
    private BundleFileCheck() {
    }

    /**
     * @param file a file
     * @return why FileInstall will not install it as a bundle, e.g. {@code zip END header not found};
     *         empty when it will
     */
    static Optional<String> problem(Path file) {
        if (!Files.isReadable(file)) {
            return Optional.of("it cannot be read");
        }
        try (JarFile jar = new JarFile(file.toFile())) {
            Manifest manifest = jar.getManifest();
            if (manifest == null) {
                return Optional.of("it has no META-INF/MANIFEST.MF");
            }
            if (manifest.getMainAttributes().getValue("Bundle-SymbolicName") == null) {
                return Optional.of("its manifest has no Bundle-SymbolicName (a plain jar, not an OSGi bundle)");
            }
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            // ZipException "zip END header not found" (random bytes, a truncated copy), "zip file is empty",
            // a manifest that does not parse, a signature that does not verify
            return Optional.of(e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }
}
