/**
 * One TCP server base for every instrument-side server (the simulators now, the gateway later): a
 * {@link org.labhal.server.TcpServer} listens on loopback unless told otherwise, accepts on a thread of
 * its own that backs off and goes on when accepting fails (file descriptors run out), caps its
 * connections (refusing the rest politely or leaving them in the backlog, or giving the slot of a
 * connection idle long enough to a newcomer), closes connections whose client does not read its answers,
 * bounds each connection's send buffer, serves each connection with
 * a {@link org.labhal.server.ConnectionHandler} on threads it owns, counts what it does
 * ({@link org.labhal.server.ServerCounters}) and stops cleanly. {@link org.labhal.server.LineReader}
 * reads terminated lines with a bound on their length.
 */
@Export
@Version("1.2.0")
package org.labhal.server;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
