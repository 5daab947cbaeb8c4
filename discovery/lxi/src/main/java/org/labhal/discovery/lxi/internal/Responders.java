package org.labhal.discovery.lxi.internal;

import java.io.IOException;
import java.net.InetAddress;

import javax.jmdns.JmDNS;

/** Starts an mDNS responder bound to one local address: a seam so tests can count what was opened. */
@FunctionalInterface
interface Responders {
    /** The real one: a JmDNS instance, which opens a multicast socket and starts its threads. */
    Responders JMDNS = JmDNS::create;

    /**
     * @param address the local address to bind
     * @param hostName the host name the responder gives itself on the LAN (without {@code .local.})
     * @return the running responder; the caller closes it
     * @throws IOException when its socket cannot be opened
     */
    JmDNS open(InetAddress address, String hostName) throws IOException;
}
