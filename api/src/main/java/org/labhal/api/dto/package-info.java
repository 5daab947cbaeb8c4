/**
 * Immutable snapshots of lock state for diagnostics (shell, logs, monitoring).
 */
@Export
@Version("1.0.0")
package org.labhal.api.dto;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
