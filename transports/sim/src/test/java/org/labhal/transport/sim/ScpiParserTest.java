package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.labhal.transport.sim.ScpiParser.Header;
import org.labhal.transport.sim.ScpiParser.Mnemonic;
import org.labhal.transport.sim.ScpiParser.ProgramUnit;

class ScpiParserTest {

    @Test
    void splitsUnitsAtSemicolonsOutsideQuotes() {
        assertEquals(List.of("FREQ 1GHz", "SIM:ECHO? 'a;b'", " *IDN?", ""),
                ScpiParser.splitUnits("FREQ 1GHz;SIM:ECHO? 'a;b'; *IDN?;"));
        assertEquals(List.of("SIM:ECHO? \"x\"\";y\""), ScpiParser.splitUnits("SIM:ECHO? \"x\"\";y\""));
    }

    @Test
    void parsesCommonQueryCaseInsensitively() throws Exception {
        Header header = ScpiParser.parseUnit("  *idn?").header();
        assertTrue(header.common());
        assertTrue(header.query());
        assertEquals(List.of(new Mnemonic("*IDN", -1)), header.nodes());
    }

    @Test
    void parsesCompoundHeaderWithSuffixesAndLeadingColon() throws Exception {
        ProgramUnit unit = ScpiParser.parseUnit(":sour2:FREQ:CW 1 GHz");
        Header header = unit.header();
        assertFalse(header.common());
        assertTrue(header.absolute());
        assertFalse(header.query());
        assertEquals(List.of(new Mnemonic("sour", 2), new Mnemonic("FREQ", -1), new Mnemonic("CW", -1)),
                header.nodes());
        Param.DecimalData value = assertInstanceOf(Param.DecimalData.class, unit.params().get(0));
        assertEquals(0, value.value().compareTo(BigDecimal.ONE));
        assertEquals("GHZ", value.suffix());
        assertEquals("1 GHz", value.text());
    }

    @ParameterizedTest
    @CsvSource({
        "X 1e9, 1000000000, ''",
        "X -10.5dBm, -10.5, DBM",
        "X +.5, 0.5, ''",
        "X 1., 1, ''",
        "X 2.5E-3 V, 0.0025, V",
        "X 150kHz, 150, KHZ",
        "X #HFF, 255, ''",
        "X #q17, 15, ''",
        "X #B101, 5, ''",
        "X 3EX, 3, EX",
    })
    void parsesNumbersAndSuffixes(String unit, String value, String suffix) throws Exception {
        Param.DecimalData number = assertInstanceOf(Param.DecimalData.class, ScpiParser.parseUnit(unit).params().get(0));
        assertEquals(0, number.value().compareTo(new BigDecimal(value)), () -> "value of " + unit + ": " + number.value());
        assertEquals(suffix, number.suffix());
    }

    @Test
    void parsesStringsCharacterDataAndSeveralParameters() throws Exception {
        List<Param> params = ScpiParser.parseUnit("X 'it''s' , ON,\"a;b\" ,Token_7").params();
        assertEquals(4, params.size());
        assertEquals("it's", assertInstanceOf(Param.StringData.class, params.get(0)).value());
        assertTrue(assertInstanceOf(Param.CharacterData.class, params.get(1)).is("on"));
        assertEquals("a;b", assertInstanceOf(Param.StringData.class, params.get(2)).value());
        assertEquals("Token_7", params.get(3).text());
    }

    @Test
    void expandsChannelLists() throws Exception {
        Param.ChannelList list = assertInstanceOf(Param.ChannelList.class,
                ScpiParser.parseUnit("MEAS? (@101, 102:105,3:1)").params().get(0));
        assertEquals(List.of(101, 102, 103, 104, 105, 3, 2, 1), list.channels());
    }

    @Test
    void channelListsExpandToAtMostTenThousandChannels() throws Exception {
        // Ten characters per range would otherwise build 10,000 channels each: a short line, a huge list.
        CommandException e = assertThrows(CommandException.class,
                () -> ScpiParser.parseUnit("ROUT:SCAN (@1:9999,1:9999)"));
        assertEquals(-223, e.error().code());
        CommandException perUnit = assertThrows(CommandException.class,
                () -> ScpiParser.parseUnit("ROUT:SCAN (@1:9999),(@1:9999)"));
        assertEquals(-223, perUnit.error().code());
        Param.ChannelList list = assertInstanceOf(Param.ChannelList.class,
                ScpiParser.parseUnit("ROUT:SCAN (@1:9999,1)").params().get(0));
        assertEquals(10_000, list.channels().size());
    }

    @Test
    void emptyChannelListIsParameterError() {
        CommandException e = assertThrows(CommandException.class, () -> ScpiParser.parseUnit("MEAS? (@)"));
        assertEquals(ScpiError.PARAMETER_ERROR, e.error());
    }

    @Test
    void limitsExponentAndMantissaAsIeee4882Does() throws Exception {
        assertEquals(0, new BigDecimal("1e32000").compareTo(
                ((Param.DecimalData) ScpiParser.parseUnit("X 1e+032000").params().get(0)).value()));
        CommandException exponent = assertThrows(CommandException.class, () -> ScpiParser.parseUnit("X 1e-32001"));
        assertEquals(ScpiError.EXPONENT_TOO_LARGE, exponent.error());
        CommandException huge = assertThrows(CommandException.class, () -> ScpiParser.parseUnit("X 1e999999999999"));
        assertEquals(ScpiError.EXPONENT_TOO_LARGE, huge.error());
        String digits = "1".repeat(256);
        assertEquals(ScpiError.TOO_MANY_DIGITS,
                assertThrows(CommandException.class, () -> ScpiParser.parseUnit("X " + digits)).error());
        assertEquals(255, ((Param.DecimalData) ScpiParser.parseUnit("X 000" + digits.substring(1) + ".").params()
                .get(0)).value().precision(), "leading zeros do not count");
    }

    @Test
    void emptyUnitIsCommandError() {
        CommandException e = assertThrows(CommandException.class, () -> ScpiParser.parseUnit("   "));
        assertEquals(ScpiError.COMMAND_ERROR, e.error());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "FREQ:", "FREQ,1", "FREQ 1,", "FREQ 1 2", "*", "* IDN?", "1FREQ", "FREQ 'abc", "FREQ ?",
        "FREQ?MAX", "::FREQ", "FREQ -", "FREQ .", "X (@1,)", "X (1)", "X #Z1", "X @", "SIM:ECHO? a*IDN?",
    })
    void rejectsMalformedUnitsWithSyntaxError(String unit) {
        CommandException e = assertThrows(CommandException.class, () -> ScpiParser.parseUnit(unit));
        assertEquals(ScpiError.SYNTAX_ERROR, e.error(), unit);
    }
}
