package org.labhal.discovery.lxi.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.labhal.api.ResourceAddress;

/** Resource strings from DNS-SD services, and TXT records from the wire. */
class LanServiceTest {

    private static byte[] txt(String... entries) {
        int size = 0;
        for (String entry : entries) {
            size += 1 + entry.getBytes(StandardCharsets.UTF_8).length;
        }
        byte[] out = new byte[size];
        int at = 0;
        for (String entry : entries) {
            byte[] bytes = entry.getBytes(StandardCharsets.UTF_8);
            out[at++] = (byte) bytes.length;
            System.arraycopy(bytes, 0, out, at, bytes.length);
            at += bytes.length;
        }
        return out;
    }

    @Test
    void txtKeepsOrderFirstKeyWinsAndStopsAtMalformedBytes() {
        assertEquals(List.of("Manufacturer", "Model", "path", "flag"), List.copyOf(LanService
                .txt(txt("Manufacturer=R&S", "Model=SMW200A", "model=ignored", "path=/", "flag", "=novalue"))
                .keySet()));
        assertEquals("", LanService.txt(txt("flag")).get("flag"), "a key without '=' has an empty value");
        assertEquals("a=b", LanService.txt(txt("k=a=b")).get("k"), "only the first '=' separates");
        byte[] truncated = txt("ok=1", "cut=xxxx");
        truncated[5] = 100; // the second entry claims more bytes than there are
        assertEquals(Map.of("ok", "1"), LanService.txt(truncated));
        assertEquals(Map.of(), LanService.txt(new byte[] {0}), "an empty TXT record");
    }

    @Test
    void resourcesPreferIpv4AndBracketIpv6() throws Exception {
        InetAddress v6 = InetAddress.getByName("2001:db8::5");
        InetAddress v4 = InetAddress.getByName("192.0.2.7");
        assertEquals(Optional.of(ResourceAddress.parse("TCPIP::192.0.2.7::hislip0,4881::INSTR")),
                LanService.HISLIP.resource(List.of(v6, v4), 4881));
        assertEquals(Optional.of(ResourceAddress.parse("TCPIP::[2001:db8::5]::inst0::INSTR")),
                LanService.VXI11.resource(List.of(v6), 0), "VXI-11 needs no port: the portmapper has it");
        assertEquals(Optional.of(ResourceAddress.parse("TCPIP::192.0.2.7::inst0::INSTR")),
                LanService.LXI.resource(List.of(v4), 80), "an LXI service's port is its web server's");
        assertEquals(Optional.of(ResourceAddress.parse("TCPIP::192.0.2.7::inst0::INSTR")),
                LanService.VXI11.resource(List.of(v4), 111));
        assertEquals(Optional.of(ResourceAddress.parse("TCPIP::192.0.2.7::inst0::INSTR?portmapper=1111")),
                LanService.VXI11.resource(List.of(v4), 1111), "a portmapper elsewhere than 111");
        assertEquals(Optional.empty(), LanService.SCPI_RAW.resource(List.of(v4), 0), "a socket needs a port");
        assertEquals(Optional.empty(), LanService.SCPI_RAW.resource(List.of(), 5025), "no address, no resource");
    }
}
