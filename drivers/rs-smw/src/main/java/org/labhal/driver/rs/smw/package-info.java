/**
 * The typed SMW200A driver, {@link org.labhal.driver.rs.smw.SmwSignalGenerator}, exported so that other
 * models of instruments that speak the SMW's command set (such as the simulated SMW200A) reuse it.
 * The model registration itself is private to this bundle.
 */
@Export
@Version("1.0.0")
package org.labhal.driver.rs.smw;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
