package org.labhal.discovery.lxi.internal;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import org.labhal.api.LabHalException;

/**
 * Turns what a user writes for an interface ({@code 127.0.0.1}, {@code fe80::1%lo}, {@code lo}, {@code eth0})
 * into the local address an mDNS responder binds, without ever asking DNS: an address must be a literal
 * that belongs to a local interface, a name must be an interface's name (its first IPv4 address is used,
 * else its first address).
 */
final class LocalInterface {
    /** IPv4 dotted quad, or anything with a colon (IPv6): literals only, so no name lookup ever happens. */
    private static final Pattern LITERAL = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.%\\w]*");

    private LocalInterface() {
    }

    /**
     * @param spec an address literal or an interface name
     * @return the local address to bind
     * @throws LabHalException naming {@code spec} when no local interface has that address or name
     */
    static InetAddress resolve(String spec) throws LabHalException {
        String text = spec == null ? "" : spec.strip();
        if (text.isEmpty()) {
            throw new LabHalException("An empty interface was given: expected a local address such as 127.0.0.1 "
                    + "or an interface name such as lo or eth0");
        }
        try {
            if (LITERAL.matcher(text).matches()) {
                InetAddress address = InetAddress.getByName(text); // a literal: parsed, not looked up
                if (NetworkInterface.getByInetAddress(address) == null) {
                    throw new LabHalException("No local network interface has the address " + text + " (local "
                            + "addresses: " + localAddresses() + ")");
                }
                return address;
            }
            NetworkInterface named = NetworkInterface.getByName(text);
            if (named == null) {
                throw new LabHalException("There is no network interface named '" + text + "' (local addresses: "
                        + localAddresses() + ")");
            }
            List<InetAddress> addresses = named.inetAddresses().toList();
            if (addresses.isEmpty()) {
                throw new LabHalException("The network interface " + text + " has no address");
            }
            return addresses.stream().filter(a -> a instanceof Inet4Address).findFirst().orElse(addresses.get(0));
        } catch (UnknownHostException | SocketException e) {
            throw new LabHalException("Cannot use the network interface '" + text + "': " + e.getMessage(), e);
        }
    }

    /** @return the local addresses, for messages */
    private static String localAddresses() {
        List<String> all = new ArrayList<>();
        try {
            for (NetworkInterface nic : NetworkInterface.networkInterfaces().toList()) {
                nic.inetAddresses().forEach(a -> all.add(nic.getName() + " " + a.getHostAddress()));
            }
        } catch (SocketException e) {
            return "unknown: " + e.getMessage();
        }
        return String.join(", ", all);
    }
}
