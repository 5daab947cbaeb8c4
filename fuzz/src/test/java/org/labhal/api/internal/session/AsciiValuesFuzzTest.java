package org.labhal.api.internal.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.StringJoiner;
import java.util.regex.Pattern;

import org.labhal.api.MalformedResponseException;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * ASCII number lists ({@code queryAsciiValues}): the parser agrees with the IEEE 488.2 NR1/NR2/NR3
 * grammar written as a regular expression, element by element; it fails only with
 * {@link MalformedResponseException}, naming the element; and the values it returns parse back from
 * their own text.
 */
class AsciiValuesFuzzTest {
    private static final Pattern DECIMAL = Pattern.compile("[+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?");
    private static final Pattern SPACE = Pattern.compile("^[ \t\r\n]+|[ \t\r\n]+$");

    @FuzzTest(maxDuration = "10s")
    void parse(byte[] input) throws MalformedResponseException {
        String response = new String(input, StandardCharsets.ISO_8859_1);
        String[] elements = response.split(",", -1);
        boolean valid = response.isBlank()
                || Arrays.stream(elements).allMatch(e -> DECIMAL.matcher(SPACE.matcher(e).replaceAll("")).matches());
        double[] values;
        try {
            values = AsciiValues.parse(response, "fuzz", "A?");
        } catch (MalformedResponseException e) {
            assertFalse(valid, "a valid list was refused: " + e.getMessage());
            assertTrue(e.getMessage().contains("is not a decimal number"), e.getMessage());
            return;
        }
        assertTrue(valid, "an invalid list was taken: " + response);
        if (response.isBlank()) {
            assertEquals(0, values.length);
            return;
        }
        assertEquals(elements.length, values.length);
        StringJoiner text = new StringJoiner(",");
        for (int i = 0; i < values.length; i++) {
            assertEquals(Double.parseDouble(SPACE.matcher(elements[i]).replaceAll("")), values[i]);
            if (Double.isFinite(values[i])) {
                text.add(Double.toString(values[i]));
            }
        }
        double[] finite = Arrays.stream(values).filter(Double::isFinite).toArray();
        assertArrayEquals(finite, finite.length == 0 ? new double[0] : AsciiValues.parse(text.toString(), "fuzz", "A?"));
    }
}
