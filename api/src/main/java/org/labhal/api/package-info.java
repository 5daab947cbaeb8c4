/**
 * LabHAL's instrument API: VISA-style {@link org.labhal.api.ResourceAddress resource addresses},
 * {@link org.labhal.api.Session sessions} whose every communication step is atomic under a
 * {@link org.labhal.api.lock.SessionLock session lock}, and the {@link org.labhal.api.SessionFactory}
 * service that opens them.
 */
@Export
@Version("1.4.0")
package org.labhal.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
