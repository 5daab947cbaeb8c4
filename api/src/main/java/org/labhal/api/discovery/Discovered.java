package org.labhal.api.discovery;

import java.util.Map;
import java.util.Objects;

import org.labhal.api.ResourceAddress;

/**
 * One instrument a {@link Discoverer} found.
 *
 * @param address where it is, as a resource an instrument configuration can use
 * @param source how it was found, for people: e.g. {@code mDNS _hislip._tcp on 127.0.0.1},
 *        {@code serial port /dev/ttyUSB0}
 * @param label what the finder says it is, e.g. an mDNS instance name or a USB product string; may be
 *        empty
 * @param details more of what the finder learnt (DNS-SD TXT records such as {@code Manufacturer} or
 *        {@code Model}, USB ids), in the order learnt
 * @param probeAllowed whether the inbox may send {@code *IDN?} to it: true where a query is harmless (LAN,
 *        USBTMC, an addressed GPIB device); false for serial ports not opted in to probing, since unsolicited
 *        bytes upset some instruments
 */
public record Discovered(ResourceAddress address, String source, String label, Map<String, String> details,
        boolean probeAllowed) {

    /** @throws NullPointerException for a null component */
    public Discovered {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(label, "label");
        details = Map.copyOf(Objects.requireNonNull(details, "details"));
    }
}
