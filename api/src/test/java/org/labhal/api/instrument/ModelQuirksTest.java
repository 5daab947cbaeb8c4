package org.labhal.api.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class ModelQuirksTest {

    @Test
    void defaultsAreDocumented() {
        ModelQuirks quirks = ModelQuirks.defaults();
        assertEquals(Duration.ofSeconds(5), quirks.ioTimeout());
        assertFalse(quirks.errorChecking());
        assertEquals(Duration.ofSeconds(60), quirks.opcTimeout());
        assertTrue(quirks.opcPolling());
        assertFalse(quirks.instrumentLock());
    }

    @Test
    void withersChangeOneValue() {
        ModelQuirks quirks = ModelQuirks.defaults().withIoTimeout(Duration.ofSeconds(10)).withErrorChecking(true)
                .withOpcTimeout(Duration.ofSeconds(30)).withOpcPolling(false);
        assertEquals(new ModelQuirks(Duration.ofSeconds(10), true, Duration.ofSeconds(30), false), quirks);
        assertEquals(ModelQuirks.defaults(), new ModelQuirks(Duration.ofSeconds(5), false, Duration.ofSeconds(60), true));
        assertEquals(new ModelQuirks(Duration.ofSeconds(10), true, Duration.ofSeconds(30), false, true),
                quirks.withInstrumentLock(true));
        assertTrue(quirks.withInstrumentLock(true).withIoTimeout(Duration.ofSeconds(1)).instrumentLock(),
                "the other withers keep the instrument lock");
    }

    @Test
    void timeoutsMustBePositive() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelQuirks.defaults().withIoTimeout(Duration.ZERO));
        assertTrue(e.getMessage().contains("ioTimeout"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ModelQuirks.defaults().withOpcTimeout(Duration.ofMillis(-1)));
        assertTrue(e.getMessage().contains("opcTimeout"), e.getMessage());
        assertThrows(NullPointerException.class, () -> ModelQuirks.defaults().withOpcTimeout(null));
    }
}
