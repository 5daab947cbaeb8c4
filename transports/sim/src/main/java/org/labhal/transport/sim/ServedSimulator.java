package org.labhal.transport.sim;

import java.util.Objects;

import org.labhal.api.TransportKind;

/**
 * A simulated instrument a runtime serves over a network protocol, published by {@link SimulatorLauncher#publish}
 * as an OSGi service (of this type) for as long as it is served, so that other bundles can tell the LAN about
 * it: the LXI discovery bundle advertises each one by mDNS.
 *
 * @param kind how it is reached: {@link TransportKind#HISLIP}, {@link TransportKind#VXI11} or
 *        {@link TransportKind#SOCKET}
 * @param protocol the protocol's name for people, e.g. {@code HiSLIP}
 * @param resource the resource string that reaches it, e.g. {@code TCPIP0::127.0.0.1::hislip0::INSTR}
 * @param port the port a client connects to first: the HiSLIP or socket port, or the VXI-11 portmapper's
 * @param identification its {@code *IDN?} answer ({@code manufacturer,model,serial,firmware}); empty when it
 *        could not be asked
 */
public record ServedSimulator(TransportKind kind, String protocol, String resource, int port, String identification) {

    /** @throws NullPointerException for a null component */
    public ServedSimulator {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(resource, "resource");
        Objects.requireNonNull(identification, "identification");
    }
}
