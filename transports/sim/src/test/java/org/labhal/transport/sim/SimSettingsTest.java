package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;

import org.junit.jupiter.api.Test;

class SimSettingsTest {

    @Test
    void hasDocumentedDefaults() {
        SimSettings defaults = SimSettings.defaults();
        assertEquals(Duration.ZERO, defaults.processingDelay());
        assertEquals(Duration.ofMillis(100), defaults.operationTime());
        assertEquals(Optional.empty(), defaults.idn());
        assertEquals("100001", defaults.serialNumber());
        assertEquals(10, defaults.errorQueueCapacity());
    }

    @Test
    void withersReturnChangedCopies() {
        SimSettings changed = SimSettings.defaults()
                .withProcessingDelay(Duration.ofMillis(3))
                .withOperationTime(Duration.ofSeconds(2))
                .withIdn("ACME,X1,7,2.0")
                .withSerialNumber("42")
                .withErrorQueueCapacity(5);
        assertEquals(Duration.ofMillis(3), changed.processingDelay());
        assertEquals(Duration.ofSeconds(2), changed.operationTime());
        assertEquals(Optional.of("ACME,X1,7,2.0"), changed.idn());
        assertEquals("42", changed.serialNumber());
        assertEquals(5, changed.errorQueueCapacity());
        assertNotEquals(SimSettings.defaults(), changed);
        assertEquals(SimSettings.defaults().withSerialNumber("42"), SimSettings.defaults().withSerialNumber("42"));
    }

    @Test
    void rejectsBadValuesNamingThem() {
        IllegalArgumentException delay = assertThrows(IllegalArgumentException.class,
                () -> SimSettings.defaults().withProcessingDelay(Duration.ofMillis(-1)));
        assertTrue(delay.getMessage().contains("processing delay"), delay.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SimSettings.defaults().withOperationTime(Duration.ofDays(2)));
        assertThrows(IllegalArgumentException.class, () -> SimSettings.defaults().withIdn("A;B"));
        assertThrows(IllegalArgumentException.class, () -> SimSettings.defaults().withIdn("line\n"));
        assertThrows(IllegalArgumentException.class, () -> SimSettings.defaults().withSerialNumber("1,2"));
        assertThrows(IllegalArgumentException.class, () -> SimSettings.defaults().withSerialNumber(" "));
        assertThrows(IllegalArgumentException.class, () -> SimSettings.defaults().withErrorQueueCapacity(0));
        assertThrows(NullPointerException.class, () -> SimSettings.defaults().withOperationTime(null));
    }
}
