/**
 * Session locks: fair, re-entrant, with timeouts, non-blocking tries, priorities with aging,
 * leases for multi-step work, deadlock detection and diagnostics; lock policies per instrument
 * model and the {@link org.labhal.api.lock.LockService} that hands out lock domains.
 */
@Export
@Version("1.0.0")
package org.labhal.api.lock;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
