/**
 * Advertising services on a LAN by mDNS / DNS-SD ({@link org.labhal.discovery.lxi.MdnsAdvertiser}), so that
 * LXI discovery (this bundle's {@link org.labhal.api.discovery.Discoverer}, or any DNS-SD browser) finds
 * them: the simulators served by a runtime advertise themselves this way. Finding instruments needs no API
 * here: the discoverer is a service of the api's discovery SPI.
 */
@Export
@Version("1.0.0")
package org.labhal.discovery.lxi;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
