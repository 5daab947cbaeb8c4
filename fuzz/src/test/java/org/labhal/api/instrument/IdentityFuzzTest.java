package org.labhal.api.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * {@code *IDN?} parsing: any answer gives an identity or an {@link IllegalArgumentException} quoting
 * it; an identity has a manufacturer and a model, no field has surrounding whitespace, only the
 * firmware may hold commas, and an identity parses back from its own text.
 */
class IdentityFuzzTest {

    @FuzzTest(maxDuration = "10s")
    void parse(byte[] input) {
        String answer = new String(input, StandardCharsets.UTF_8);
        Identity identity;
        try {
            identity = Identity.parse(answer);
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().startsWith("*IDN? answer \""), e.getMessage());
            return;
        }
        assertFalse(identity.manufacturer().isBlank());
        assertFalse(identity.model().isBlank());
        for (String field : new String[] {identity.manufacturer(), identity.model(), identity.serialNumber(),
                identity.firmware()}) {
            assertEquals(field.strip(), field, "a field keeps surrounding whitespace");
        }
        for (String field : new String[] {identity.manufacturer(), identity.model(), identity.serialNumber()}) {
            assertFalse(field.contains(","), "a field before the firmware holds a comma: " + field);
        }
        assertEquals(identity, Identity.parse(identity.toString()));
        assertTrue(identity.manufacturerIs(identity.manufacturer()));
        assertTrue(identity.modelIs(identity.model()));
    }
}
