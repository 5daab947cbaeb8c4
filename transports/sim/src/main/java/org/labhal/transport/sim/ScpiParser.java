package org.labhal.transport.sim;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Parses SCPI program messages: splits them into program message units and parses each unit into
 * a header and its parameters. Stateless; the SCPI path rule is applied by the caller, which
 * knows where a message starts.
 */
final class ScpiParser {

    /*
     * IEEE 488.2 7.7.2.4.1 limits for decimal numeric data. They also keep BigDecimal rounding of
     * hostile input such as 1e999999999 cheap.
     */
    private static final int MAX_MANTISSA_DIGITS = 255;
    private static final int MAX_EXPONENT = 32000;
    /**
     * The most channels the channel lists of one unit expand to. A range of ten characters names up
     * to 9,999 channels, so without a cap a short line builds a huge list; real switch frames have a
     * few hundred channels.
     */
    static final int MAX_CHANNELS = 10_000;

    private ScpiParser() {
    }

    /** One header mnemonic; {@code suffix} is -1 when no numeric suffix was written. */
    record Mnemonic(String name, int suffix) {
    }

    /**
     * A program header. Common headers ({@code *IDN?}) have one node named with its star;
     * compound headers are {@code absolute} when written with a leading colon.
     */
    record Header(boolean common, boolean absolute, List<Mnemonic> nodes, boolean query) {

        Header {
            nodes = List.copyOf(nodes);
        }
    }

    record ProgramUnit(Header header, List<Param> params) {

        ProgramUnit {
            params = List.copyOf(params);
        }
    }

    /**
     * Splits a program message (terminator removed) at the semicolons that separate its units,
     * leaving semicolons inside quoted strings alone.
     */
    static List<String> splitUnits(String message) {
        List<String> units = new ArrayList<>();
        int start = 0;
        char quote = 0;
        for (int i = 0; i < message.length(); i++) {
            char c = message.charAt(i);
            if (quote != 0) {
                if (c == quote) {
                    quote = 0; // a doubled quote closes and reopens, so it needs no special case
                }
            } else if (c == '"' || c == '\'') {
                quote = c;
            } else if (c == ';') {
                units.add(message.substring(start, i));
                start = i + 1;
            }
        }
        units.add(message.substring(start));
        return units;
    }

    /**
     * Parses one program message unit.
     *
     * @throws CommandException -100 for an empty unit, -102 for malformed syntax, -220 for an empty
     *         channel list
     */
    static ProgramUnit parseUnit(String unit) throws CommandException {
        Cursor in = new Cursor(unit);
        in.skipWhitespace();
        if (in.atEnd()) {
            throw new CommandException(ScpiError.COMMAND_ERROR);
        }
        Header header = header(in);
        List<Param> params = new ArrayList<>();
        int[] channels = {0}; // expanded so far in this unit, against MAX_CHANNELS
        if (!in.atEnd()) {
            if (!isWhitespace(in.peek())) {
                throw syntax();
            }
            in.skipWhitespace();
        }
        while (!in.atEnd()) {
            params.add(param(in, channels));
            in.skipWhitespace();
            if (in.atEnd()) {
                break;
            }
            if (in.next() != ',') {
                throw syntax();
            }
            in.skipWhitespace();
            if (in.atEnd()) {
                throw syntax();
            }
        }
        return new ProgramUnit(header, params);
    }

    private static Header header(Cursor in) throws CommandException {
        if (in.peek() == '*') {
            in.next();
            int start = in.position();
            while (!in.atEnd() && isLetter(in.peek())) {
                in.next();
            }
            if (in.position() == start) {
                throw syntax();
            }
            String name = "*" + in.text(start).toUpperCase(Locale.ROOT);
            boolean query = in.accept('?');
            return new Header(true, false, List.of(new Mnemonic(name, -1)), query);
        }
        boolean absolute = in.accept(':');
        List<Mnemonic> nodes = new ArrayList<>();
        do {
            nodes.add(mnemonic(in));
        } while (in.accept(':'));
        boolean query = in.accept('?');
        return new Header(false, absolute, nodes, query);
    }

    private static Mnemonic mnemonic(Cursor in) throws CommandException {
        int start = in.position();
        if (in.atEnd() || !isLetter(in.peek())) {
            throw syntax();
        }
        while (!in.atEnd() && isWordChar(in.peek())) {
            in.next();
        }
        String word = in.text(start);
        int digits = word.length();
        while (Character.isDigit(word.charAt(digits - 1))) {
            digits--;
        }
        if (digits == word.length()) {
            return new Mnemonic(word, -1);
        }
        String suffix = word.substring(digits);
        if (suffix.length() > 6) {
            throw syntax();
        }
        return new Mnemonic(word.substring(0, digits), Integer.parseInt(suffix));
    }

    private static Param param(Cursor in, int[] channels) throws CommandException {
        char c = in.peek();
        if (c == '"' || c == '\'') {
            return string(in);
        }
        if (c == '(') {
            return channelList(in, channels);
        }
        if (c == '#') {
            return nonDecimal(in);
        }
        if (isDigit(c) || c == '+' || c == '-' || c == '.') {
            return decimal(in);
        }
        if (isLetter(c)) {
            int start = in.position();
            while (!in.atEnd() && isWordChar(in.peek())) {
                in.next();
            }
            return new Param.CharacterData(in.text(start));
        }
        throw syntax();
    }

    private static Param string(Cursor in) throws CommandException {
        int start = in.position();
        char quote = in.next();
        StringBuilder value = new StringBuilder();
        while (true) {
            if (in.atEnd()) {
                throw syntax();
            }
            char c = in.next();
            if (c == quote) {
                if (!in.accept(quote)) {
                    return new Param.StringData(value.toString(), in.text(start));
                }
            }
            value.append(c);
        }
    }

    private static Param decimal(Cursor in) throws CommandException {
        int start = in.position();
        if (in.peek() == '+' || in.peek() == '-') {
            in.next();
        }
        int mantissaStart = in.position();
        int digits = skipDigits(in);
        if (in.accept('.')) {
            digits += skipDigits(in);
        }
        if (digits == 0) {
            throw syntax();
        }
        String mantissa = in.text(mantissaStart).replace(".", "").replaceFirst("^0+", "");
        if (mantissa.length() > MAX_MANTISSA_DIGITS) {
            throw new CommandException(ScpiError.TOO_MANY_DIGITS);
        }
        if (!in.atEnd() && (in.peek() == 'e' || in.peek() == 'E')) {
            // An E followed by neither sign nor digit begins a suffix such as EX (exa)
            int mark = in.position();
            in.next();
            if (!in.atEnd() && (in.peek() == '+' || in.peek() == '-')) {
                in.next();
            }
            int exponentStart = in.position();
            if (skipDigits(in) == 0) {
                in.reset(mark);
            } else {
                String exponent = in.text(exponentStart).replaceFirst("^0+", "");
                if (exponent.length() > 5 || (!exponent.isEmpty() && Integer.parseInt(exponent) > MAX_EXPONENT)) {
                    throw new CommandException(ScpiError.EXPONENT_TOO_LARGE);
                }
            }
        }
        BigDecimal value = new BigDecimal(in.text(start));
        int beforeSuffix = in.position();
        in.skipWhitespace();
        String suffix = "";
        if (!in.atEnd() && isLetter(in.peek())) {
            int suffixStart = in.position();
            while (!in.atEnd() && isLetter(in.peek())) {
                in.next();
            }
            suffix = in.text(suffixStart).toUpperCase(Locale.ROOT);
        } else {
            in.reset(beforeSuffix);
        }
        return new Param.DecimalData(value, suffix, in.text(start));
    }

    private static Param nonDecimal(Cursor in) throws CommandException {
        int start = in.position();
        in.next();
        if (in.atEnd()) {
            throw syntax();
        }
        int radix;
        switch (Character.toUpperCase(in.next())) {
            case 'H': radix = 16; break;
            case 'Q': radix = 8; break;
            case 'B': radix = 2; break;
            default: throw syntax(); // arbitrary block data is not supported by these models
        }
        int digitsStart = in.position();
        while (!in.atEnd() && Character.digit(in.peek(), radix) >= 0) {
            in.next();
        }
        if (in.position() == digitsStart || in.position() - digitsStart > 64) {
            throw syntax();
        }
        BigInteger value = new BigInteger(in.text(digitsStart), radix);
        return new Param.DecimalData(new BigDecimal(value), "", in.text(start));
    }

    /**
     * @param expanded channels the unit's earlier lists expanded to; this list's are added
     * @throws CommandException -223 when the unit's lists name more than {@link #MAX_CHANNELS}
     */
    private static Param channelList(Cursor in, int[] expanded) throws CommandException {
        int start = in.position();
        in.next();
        if (!in.accept('@')) {
            throw syntax();
        }
        List<Integer> channels = new ArrayList<>();
        in.skipWhitespace();
        if (in.accept(')')) {
            throw new CommandException(ScpiError.PARAMETER_ERROR);
        }
        while (true) {
            int first = channel(in);
            in.skipWhitespace();
            if (in.accept(':')) {
                in.skipWhitespace();
                int last = channel(in);
                reserve(expanded, Math.abs(last - first) + 1);
                int step = last >= first ? 1 : -1;
                for (int ch = first; ch != last + step; ch += step) {
                    channels.add(ch);
                }
                in.skipWhitespace();
            } else {
                reserve(expanded, 1);
                channels.add(first);
            }
            if (in.accept(')')) {
                return new Param.ChannelList(channels, in.text(start));
            }
            if (!in.accept(',')) {
                throw syntax();
            }
            in.skipWhitespace();
        }
    }

    /** Counts channels before they are built, so a list never grows past the cap. */
    private static void reserve(int[] expanded, int count) throws CommandException {
        expanded[0] += count;
        if (expanded[0] > MAX_CHANNELS) {
            throw new CommandException(ScpiError.TOO_MUCH_DATA);
        }
    }

    private static int channel(Cursor in) throws CommandException {
        int start = in.position();
        int digits = skipDigits(in);
        if (digits == 0 || digits > 4) { // four digits: slot and channel of the largest switch frames
            throw syntax();
        }
        return Integer.parseInt(in.text(start));
    }

    private static int skipDigits(Cursor in) {
        int count = 0;
        while (!in.atEnd() && isDigit(in.peek())) {
            in.next();
            count++;
        }
        return count;
    }

    /** IEEE 488.2 7.4.1.2: white space is any 7-bit code 0-32 except newline (the terminator). */
    static boolean isWhitespace(char c) {
        return c <= ' ' && c != '\n';
    }

    private static boolean isLetter(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isWordChar(char c) {
        return isLetter(c) || isDigit(c) || c == '_';
    }

    private static CommandException syntax() {
        return new CommandException(ScpiError.SYNTAX_ERROR);
    }

    /** A read position in one unit's text. */
    private static final class Cursor {

        private final String text;
        private int position;

        Cursor(String text) {
            this.text = text;
        }

        boolean atEnd() {
            return position >= text.length();
        }

        char peek() {
            return text.charAt(position);
        }

        char next() {
            return text.charAt(position++);
        }

        boolean accept(char c) {
            if (!atEnd() && peek() == c) {
                position++;
                return true;
            }
            return false;
        }

        void skipWhitespace() {
            while (!atEnd() && isWhitespace(peek())) {
                position++;
            }
        }

        int position() {
            return position;
        }

        void reset(int mark) {
            position = mark;
        }

        String text(int start) {
            return text.substring(start, position);
        }
    }
}
