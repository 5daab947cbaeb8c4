package org.labhal.api.internal.session;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class ExcerptTest {

    @Test
    void printableAsciiIsShownAsItIs() {
        byte[] text = " azAZ09~#".getBytes(StandardCharsets.ISO_8859_1);

        assertEquals("\" azAZ09~#\"", Excerpt.of(text, 0, text.length));
    }

    @Test
    void lineEndsTabsQuotesAndBackslashesHaveShortEscapes() {
        byte[] text = "\n\r\t\"\\".getBytes(StandardCharsets.ISO_8859_1);

        assertEquals("\"\\n\\r\\t\\\"\\\\\"", Excerpt.of(text, 0, text.length));
    }

    @Test
    void otherBytesAreTwoLowerCaseHexDigits() {
        byte[] bytes = {0x00, 0x01, 0x1b, 0x1f, 0x7f, (byte) 0x80, (byte) 0xa0, (byte) 0xfe, (byte) 0xff};

        assertEquals("\"\\x00\\x01\\x1b\\x1f\\x7f\\x80\\xa0\\xfe\\xff\"", Excerpt.of(bytes, 0, bytes.length));
    }

    @Test
    void aLongRunIsCutAfterMaxShownBytesAndSaysHowLongItWas() {
        byte[] bytes = new byte[Excerpt.MAX_SHOWN + 5];
        bytes[Excerpt.MAX_SHOWN - 1] = (byte) 0xff;

        assertEquals("\"" + "\\x00".repeat(Excerpt.MAX_SHOWN - 1) + "\\xff\"... (" + bytes.length + " bytes)",
                Excerpt.of(bytes, 0, bytes.length));
    }

    @Test
    void onlyTheGivenRangeIsQuoted() {
        byte[] bytes = "xxAB\u0007yy".getBytes(StandardCharsets.ISO_8859_1);

        assertEquals("\"AB\\x07\"", Excerpt.of(bytes, 2, 3));
    }
}
