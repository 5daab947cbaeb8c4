package org.labhal.discovery.lxi.internal;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportKind;

/**
 * The DNS-SD service types an instrument on a LAN advertises, and the VISA resource each one gives: LXI
 * (IVI LXI Device Specification 2022, section 10) has instruments announce {@code _lxi._tcp} and one service
 * per SCPI protocol they speak.
 */
enum LanService {
    /**
     * An LXI device; it speaks VXI-11 (every LXI device does, up to LXI 1.5; later ones mostly still do) through
     * the standard portmapper. The service's port is its web server's, not part of the resource.
     */
    LXI("_lxi._tcp.local.", TransportKind.VXI11),
    /** HiSLIP; the port is given unless it is the standard 4880. */
    HISLIP("_hislip._tcp.local.", TransportKind.HISLIP),
    /**
     * VXI-11: reached through the portmapper, whose port the service gives (111, the standard one, is left out
     * of the resource; another, such as a simulator's, becomes {@code ?portmapper=}).
     */
    VXI11("_vxi-11._tcp.local.", TransportKind.VXI11),
    /** SCPI over a raw TCP socket. */
    SCPI_RAW("_scpi-raw._tcp.local.", TransportKind.SOCKET);

    /** HiSLIP's IANA port, left out of the resource. */
    static final int HISLIP_PORT = 4880;
    /** The portmapper's well-known port, left out of the resource. */
    static final int PORTMAPPER_PORT = 111;

    final String type;
    final TransportKind kind;

    LanService(String type, TransportKind kind) {
        this.type = type;
        this.kind = kind;
    }

    /**
     * @param addresses the service's addresses, IPv4 ones first if any
     * @param port the advertised port
     * @return the resource, or empty when there is no address or no usable port
     */
    Optional<ResourceAddress> resource(List<? extends InetAddress> addresses, int port) {
        Optional<String> host = host(addresses);
        if (host.isEmpty() || (this == HISLIP || this == SCPI_RAW) && (port < 1 || port > 65535)) {
            return Optional.empty();
        }
        String text = switch (this) {
            case HISLIP -> "TCPIP::" + host.get() + "::hislip0" + (port == HISLIP_PORT ? "" : "," + port) + "::INSTR";
            case LXI -> "TCPIP::" + host.get() + "::inst0::INSTR";
            case VXI11 -> "TCPIP::" + host.get() + "::inst0::INSTR"
                    + (port > 0 && port <= 65535 && port != PORTMAPPER_PORT ? "?portmapper=" + port : "");
            case SCPI_RAW -> "TCPIP::" + host.get() + "::" + port + "::SOCKET";
        };
        return Optional.of(ResourceAddress.parse(text));
    }

    /** The first IPv4 address; else the first IPv6 one, bracketed (with its zone: link-local ones need it). */
    static Optional<String> host(List<? extends InetAddress> addresses) {
        for (InetAddress address : addresses) {
            if (address instanceof Inet4Address) {
                return Optional.of(address.getHostAddress());
            }
        }
        for (InetAddress address : addresses) {
            if (address instanceof Inet6Address) {
                return Optional.of("[" + address.getHostAddress() + "]");
            }
        }
        return Optional.empty();
    }

    /**
     * Decodes a TXT record's strings (RFC 6763 section 6: each a length byte then {@code key=value}, the key
     * case-insensitive, the first occurrence of a key the one that counts). A key without {@code =} maps to
     * the empty string. Malformed bytes end the decoding, keeping what came before.
     *
     * @param text the TXT record's rdata, at most what one DNS record can hold
     * @return the entries in record order
     */
    static Map<String, String> txt(byte[] text) {
        Map<String, String> entries = new LinkedHashMap<>();
        int at = 0;
        while (at < text.length) {
            int length = text[at] & 0xFF;
            if (at + 1 + length > text.length) {
                break;
            }
            String entry = new String(text, at + 1, length, StandardCharsets.UTF_8);
            at += 1 + length;
            int equals = entry.indexOf('=');
            String key = equals < 0 ? entry : entry.substring(0, equals);
            if (key.isEmpty() || containsKey(entries, key)) {
                continue;
            }
            entries.put(key, equals < 0 ? "" : entry.substring(equals + 1));
        }
        return entries;
    }

    private static boolean containsKey(Map<String, String> entries, String key) {
        String lower = key.toLowerCase(Locale.ROOT);
        return entries.keySet().stream().anyMatch(k -> k.toLowerCase(Locale.ROOT).equals(lower));
    }
}
