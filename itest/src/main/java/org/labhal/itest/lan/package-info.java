/**
 * Framework tests of the LAN instrument transports (VXI-11, HiSLIP) against their simulator servers on
 * real loopback sockets: queries through the {@link org.labhal.api.SessionFactory} service, layered
 * locks across two sessions, the transport bundle stopped under a blocked read, a read ended from
 * another thread (HiSLIP device clear, VXI-11 device_abort), and an instrument dying in the middle of
 * an answer ({@link org.labhal.itest.lan.DyingPeer}). Not exported.
 */
package org.labhal.itest.lan;
