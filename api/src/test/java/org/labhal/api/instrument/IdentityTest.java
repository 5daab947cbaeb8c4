package org.labhal.api.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IdentityTest {

    @Test
    void parsesTheFourFields() {
        Identity smw = Identity.parse("Rohde&Schwarz,SMW200A,1412.0000K02/101234,5.30.047.28\n");
        assertEquals(new Identity("Rohde&Schwarz", "SMW200A", "1412.0000K02/101234", "5.30.047.28"), smw);
        assertEquals("Rohde&Schwarz,SMW200A,1412.0000K02/101234,5.30.047.28", smw.toString());
    }

    @Test
    void stripsWhitespaceAroundFields() {
        Identity counter = Identity.parse("  HEWLETT-PACKARD, 53131A,0,3944 \r\n");
        assertEquals("HEWLETT-PACKARD", counter.manufacturer());
        assertEquals("53131A", counter.model());
        assertEquals("0", counter.serialNumber());
        assertEquals("3944", counter.firmware());
    }

    @Test
    void keepsCommasAfterTheThirdInTheFirmware() {
        Identity scope = Identity.parse("TEKTRONIX,DPO4034,C010123,CF:91.1CT FV:v2.11,TDG:1.0");
        assertEquals("C010123", scope.serialNumber());
        assertEquals("CF:91.1CT FV:v2.11,TDG:1.0", scope.firmware());
    }

    @Test
    void keepsEmptySerialAndFirmware() {
        Identity bare = Identity.parse("ACME,BOX1,,");
        assertEquals("", bare.serialNumber());
        assertEquals("", bare.firmware());
    }

    @ParameterizedTest
    @ValueSource(strings = { "", "   ", "HEWLETT-PACKARD", "Rohde&Schwarz,SMW200A,101234" })
    void tooFewFieldsAreRejectedQuotingTheAnswer(String answer) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Identity.parse(answer));
        assertTrue(e.getMessage().contains("\"" + answer.strip() + "\""), e.getMessage());
        assertTrue(e.getMessage().contains("manufacturer,model,serial,firmware"), e.getMessage());
    }

    @Test
    void nullIsAnEmptyAnswer() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Identity.parse(null));
        assertTrue(e.getMessage().contains("\"\" has 1"), e.getMessage());
    }

    @Test
    void emptyManufacturerOrModelIsRejected() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Identity.parse(",SMW200A,1,2")).getMessage()
                .contains("empty manufacturer"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Identity.parse("Rohde&Schwarz, ,1,2"))
                .getMessage().contains("empty model"));
        assertThrows(IllegalArgumentException.class, () -> new Identity(" ", "M", "0", "0"));
        assertThrows(NullPointerException.class, () -> new Identity("A", "M", null, "0"));
    }

    @Test
    void manufacturerComparisonIgnoresCaseAndSpaces() {
        Identity shouting = Identity.parse("ROHDE&SCHWARZ,SMW200A,1,2");
        Identity spaced = Identity.parse("Rohde & Schwarz,SMW200A,1,2");
        assertTrue(shouting.manufacturerIs("Rohde&Schwarz"));
        assertTrue(spaced.manufacturerIs("Agilent Technologies", "Rohde&Schwarz"));
        assertFalse(spaced.manufacturerIs("Rohde"));
        assertFalse(spaced.manufacturerIs());
    }

    @Test
    void modelComparisonIgnoresCaseOnly() {
        Identity smw = Identity.parse("Rohde&Schwarz,smw200a,1,2");
        assertTrue(smw.modelIs("SMW200A"));
        assertTrue(smw.modelIs("SMBV100A", "SMW200A"));
        assertFalse(smw.modelIs("SMW200"));
        assertFalse(smw.modelIs("SMW 200A"));
    }
}
