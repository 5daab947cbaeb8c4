package org.labhal.api.internal.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.labhal.api.MalformedResponseException;
import org.labhal.api.Session;
import org.labhal.api.internal.session.ScriptedConnection.Framing;

/** Comma-separated NR1/NR2/NR3 lists through {@link Session#queryAsciiValues}. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AsciiValuesTest {

    private static double[] query(String response) throws Exception {
        ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).then(response);
        try (Session session = connection.open()) {
            return session.queryAsciiValues("FETC?");
        }
    }

    @Test
    void parsesEveryDecimalFormWithWhitespaceAround() throws Exception {
        assertArrayEquals(new double[] {1, 2.5, -0.003, 400, 5, 0.5, 7, -12, 9.9e37},
                query("1,2.5,-3.0E-3, +4e2 ,\t5 ,.5,7.,-12,9.9E+37\r\n"));
    }

    @Test
    void anEmptyResponseIsAnEmptyList() throws Exception {
        assertEquals(0, query("\n").length);
        assertEquals(0, query("  \n").length);
    }

    @Test
    void parsesALongList() throws Exception {
        StringBuilder response = new StringBuilder();
        double[] expected = new double[100_000];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = i * 0.25 - 7;
            response.append(i == 0 ? "" : ",").append(expected[i]);
        }
        assertArrayEquals(expected, query(response.append('\n').toString()));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '\'', value = {
        "'1,abc,3'        | element 2 of 3 | '\"abc\" at character 2'",
        "'1,,3'           | element 2 of 3 | '\"\" at character 2'",
        "'1,2,'           | element 3 of 3 | '\"\" at character 4'",
        "'NaN'            | element 1 of 1 | '\"NaN\"'",
        "'1,Infinity'     | element 2 of 2 | '\"Infinity\"'",
        "'0x10'           | element 1 of 1 | '\"0x10\"'",
        "'1d'             | element 1 of 1 | '\"1d\"'",
        "'1e'             | element 1 of 1 | '\"1e\"'",
        "'.'              | element 1 of 1 | '\".\"'",
        "'-'              | element 1 of 1 | '\"-\"'",
        "'1.2.3'          | element 1 of 1 | '\"1.2.3\"'",
        "'1 2,3'          | element 1 of 2 | '\"1 2\"'",
        "'1;2'            | element 1 of 1 | '\"1;2\"'",
        "'+-1'            | element 1 of 1 | '\"+-1\"'",
        "'1E5.5'          | element 1 of 1 | '\"1E5.5\"'",
    })
    void namesTheFirstElementThatIsNotANumber(String response, String which, String shown) throws Exception {
        ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).then(response + "\n");
        try (Session session = connection.open()) {
            MalformedResponseException e = assertThrows(MalformedResponseException.class,
                    () -> session.queryAsciiValues("FETC?"));
            assertTrue(e.getMessage().startsWith(session.name() + ": " + which + " in the response to \"FETC?\""),
                    e.getMessage());
            assertTrue(e.getMessage().contains(shown), e.getMessage());
            assertTrue(e.getMessage().endsWith("is not a decimal number (NR1, NR2 or NR3)"), e.getMessage());
        }
    }

    @Test
    void cutsALongBadElementInTheMessage() throws Exception {
        String junk = "x".repeat(10_000);
        ScriptedConnection connection = new ScriptedConnection(Framing.STREAM).then("1," + junk + "\n");
        try (Session session = connection.open()) {
            MalformedResponseException e = assertThrows(MalformedResponseException.class,
                    () -> session.queryAsciiValues("FETC?"));
            assertTrue(e.getMessage().length() < 300, e.getMessage());
            assertTrue(e.getMessage().contains("(10000 characters)"), e.getMessage());
        }
    }
}
