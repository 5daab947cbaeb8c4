/**
 * Finding instruments instead of typing their addresses: the {@link org.labhal.api.discovery.Discoverer}
 * services transport bundles contribute (LXI mDNS, serial ports, USB, a GPIB controller's bus), what they
 * report ({@link org.labhal.api.discovery.Discovered}) and how a search is asked for
 * ({@link org.labhal.api.discovery.DiscoveryRequest}). The runtime's inbox ({@code instr:discover},
 * {@code instr:inbox}) runs them.
 */
@Export
@Version("1.0.0")
package org.labhal.api.discovery;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
