/**
 * Simulated SCPI instruments in plain Java, usable in-memory (the {@code SIM} transport) and, later,
 * behind sockets and pseudo-terminals: an SMW200A-style generator that keeps sessions independent,
 * and a shared-buffer meter whose sessions cross-talk like real ones.
 */
@Export
@Version("1.3.0")
package org.labhal.transport.sim;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
