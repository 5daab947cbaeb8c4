/**
 * The serial-line transport's own exceptions, thrown by {@code SessionFactory.open} for
 * {@code ASRL...::INSTR} resources so that callers can tell a busy port from a missing one. The
 * transport itself registers as a {@link org.labhal.api.transport.TransportFactory} service; its
 * implementation is private.
 */
@Export
@Version("1.0.0")
package org.labhal.transport.serial;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
