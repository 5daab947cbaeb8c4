/**
 * Framework tests of the LAN instrument transports (VXI-11, HiSLIP) against their simulator servers on
 * real loopback sockets: queries through the {@link org.labhal.api.SessionFactory} service, layered
 * locks across two sessions, and the transport bundle stopped under a blocked read. Not exported.
 */
package org.labhal.itest.lan;
