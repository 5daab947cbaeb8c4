/**
 * The typed SCPI multimeter driver, {@link org.labhal.driver.shared.ScpiMultimeter}, exported so that
 * other models of meters with the same {@code MEASure} commands (such as the simulated shared-buffer
 * meter) reuse it. The model registrations are private to this bundle.
 */
@Export
@Version("1.0.0")
package org.labhal.driver.shared;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
