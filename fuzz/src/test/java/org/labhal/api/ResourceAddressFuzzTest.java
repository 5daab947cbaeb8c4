package org.labhal.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Resource strings: any text parses or fails with an {@link InvalidResourceException} that points
 * inside the input; a parsed address round-trips through its canonical form
 * ({@code parse(canonical(x)) == x}, with the same domain key and parts), and the parts its kind has
 * are present and in range.
 */
class ResourceAddressFuzzTest {

    @FuzzTest(maxDuration = "10s")
    void parse(byte[] input) {
        String resource = new String(input, StandardCharsets.UTF_8);
        ResourceAddress address;
        try {
            address = ResourceAddress.parse(resource);
        } catch (InvalidResourceException e) {
            assertEquals(resource, e.input());
            assertTrue(e.position() >= 0 && e.position() <= resource.length(),
                    "position " + e.position() + " outside the input of " + resource.length() + " characters");
            return;
        }
        ResourceAddress again = ResourceAddress.parse(address.canonical());
        assertEquals(address, again);
        assertEquals(address.canonical(), again.canonical());
        assertEquals(address.domainKey(), again.domainKey());
        assertEquals(address.kind(), again.kind());
        assertEquals(address.host(), again.host());
        assertEquals(address.port(), again.port());
        assertEquals(address.lanDevice(), again.lanDevice());
        assertEquals(address.gpibAddress(), again.gpibAddress());
        assertEquals(address.serialPort(), again.serialPort());
        assertEquals(address.simModel(), again.simModel());
        assertEquals(address.simInstance(), again.simInstance());
        assertEquals(address.options(), again.options());
        assertEquals(address.gpibSecondary(), again.gpibSecondary());
        assertEquals(address.usbVendorId(), again.usbVendorId());
        assertEquals(address.usbProductId(), again.usbProductId());
        assertEquals(address.usbSerial(), again.usbSerial());
        assertEquals(address.usbInterface(), again.usbInterface());
        assertEquals(address.busKey(), again.busKey());
        assertEquals(address.domainKey(), again.domainKey());

        switch (address.kind()) {
            case SOCKET, HISLIP -> {
                assertTrue(address.host().isPresent());
                int port = address.port().orElseThrow();
                assertTrue(port >= 1 && port <= 65535, "port " + port);
            }
            case VXI11 -> {
                assertTrue(address.host().isPresent());
                assertFalse(address.port().isPresent());
                address.gpibAddress().ifPresent(gpib -> assertTrue(gpib >= 0 && gpib <= 30, "GPIB address " + gpib));
            }
            case SERIAL -> assertTrue(address.serialPort().isPresent());
            case SIM -> assertTrue(address.simModel().isPresent() && address.simInstance().isPresent());
            case USBTMC, USB_RAW -> {
                assertTrue(address.usbVendorId().orElseThrow() <= 0xFFFF);
                assertTrue(address.usbProductId().orElseThrow() <= 0xFFFF);
                assertFalse(address.usbSerial().orElseThrow().isEmpty());
            }
            case GPIB -> {
                int primary = address.gpibAddress().orElseThrow();
                assertTrue(primary >= 0 && primary <= 30, "GPIB address " + primary);
                assertTrue(address.busKey().isPresent());
            }
            default -> throw new AssertionError(address.kind());
        }
        for (int i = 0; i < address.canonical().length(); i++) {
            assertFalse(Character.isWhitespace(address.canonical().charAt(i)), "whitespace in " + address);
        }
    }
}
