/**
 * The transport service provider interface: a transport bundle registers a
 * {@link org.labhal.api.transport.TransportFactory} for the resource kinds it serves and hands out
 * raw {@link org.labhal.api.transport.Connection connections}; sessions add locking, termination,
 * error checking and framing on top.
 */
@Export
@Version("1.5.0")
package org.labhal.api.transport;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
