package org.labhal.runtime.internal.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import org.labhal.api.ResourceAddress;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Instrument configurations as ConfigAdmin hands them over (from a {@code .cfg} file, the shell or a
 * management agent): any properties give settings or one {@link IllegalArgumentException} naming the
 * configuration; accepted settings hold a valid id, a parsed resource and timeouts in their ranges.
 *
 * <p>Input: lines {@code key=value}; a value starting {@code L:}, {@code I:} or {@code B:} is passed
 * as a Long, an Integer or a Boolean, as typed configuration values are, any other as a String.
 */
class InstrumentSettingsFuzzTest {
    private static final Duration HOUR = Duration.ofHours(1);

    @FuzzTest(maxDuration = "10s")
    void properties(byte[] input) {
        Map<String, Object> properties = new LinkedHashMap<>();
        for (String line : new String(input, StandardCharsets.UTF_8).split("\n", -1)) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                properties.put(line.substring(0, eq), value(line.substring(eq + 1)));
            }
        }
        InstrumentSettings settings;
        try {
            settings = InstrumentSettings.from(properties);
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().startsWith("Instrument configuration "), e.getMessage());
            return;
        }
        assertTrue(settings.id().matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}"), settings.id());
        assertEquals(settings.address(), ResourceAddress.parse(settings.address().canonical()));
        settings.ioTimeout().ifPresent(t -> assertTrue(t.toMillis() >= 1 && t.compareTo(HOUR) <= 0, t.toString()));
        assertTrue(!settings.lockTimeout().isNegative() && settings.lockTimeout().compareTo(HOUR) <= 0);
        assertTrue(settings.driverWait().toMillis() >= 1 && settings.driverWait().compareTo(HOUR) <= 0);
        assertTrue(settings.origin().equals("configuration") || settings.origin().equals("shell")
                || settings.origin().startsWith("file ") || !settings.origin().isBlank());
    }

    private static Object value(String text) {
        if (text.length() >= 2 && text.charAt(1) == ':') {
            String rest = text.substring(2);
            try {
                switch (text.charAt(0)) {
                    case 'L':
                        return Long.parseLong(rest);
                    case 'I':
                        return Integer.parseInt(rest);
                    case 'B':
                        return Boolean.parseBoolean(rest);
                    default:
                        break;
                }
            } catch (NumberFormatException e) {
                return text;
            }
        }
        return text;
    }
}
