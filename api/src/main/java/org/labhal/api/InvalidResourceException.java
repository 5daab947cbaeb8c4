package org.labhal.api;

import java.util.Objects;

/**
 * A resource string is malformed. Thrown by {@link ResourceAddress#parse(String)}; the message names
 * the whole input, the offending part, its 0-based position and what was expected, then repeats the
 * input with a caret line under the offending part:
 *
 * <pre>
 * Invalid resource "TCPIP::10.0.0.5::70000::SOCKET": port "70000" at position 17 must be 1-65535
 *   TCPIP::10.0.0.5::70000::SOCKET
 *                    ^^^^^
 * </pre>
 *
 * <p>A missing part is reported as the empty string at the position where it should have been.
 * Instances are immutable.
 */
public final class InvalidResourceException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    /** The whole resource string as given. */
    private final String input;
    /** 0-based index of the offending part in {@link #input}. */
    private final int position;
    /** The offending text, empty for a missing part. */
    private final String part;

    /**
     * Creates the exception and formats its message as shown in the class description.
     *
     * @param input the whole resource string as given
     * @param position 0-based index in {@code input} of the offending part, at most
     *        {@code input.length()} (a part missing at the end)
     * @param part the offending text, empty when a required part is missing
     * @param reason what is wrong, naming the part and its position, e.g.
     *        {@code port "70000" at position 17 must be 1-65535}
     * @throws IndexOutOfBoundsException if {@code position} is outside {@code 0..input.length()}
     */
    public InvalidResourceException(String input, int position, String part, String reason) {
        super(format(Objects.requireNonNull(input, "input"), Objects.checkIndex(position, input.length() + 1),
                Objects.requireNonNull(part, "part"), Objects.requireNonNull(reason, "reason")));
        this.input = input;
        this.position = position;
        this.part = part;
    }

    /**
     * Returns the whole resource string that failed to parse.
     *
     * @return the input exactly as given, never {@code null}
     */
    public String input() {
        return input;
    }

    /**
     * Returns where the offending part starts.
     *
     * @return the 0-based index into {@link #input()}; equals {@code input().length()} when something is
     *         missing at the end
     */
    public int position() {
        return position;
    }

    /**
     * Returns the offending text.
     *
     * @return the substring of {@link #input()} that is wrong, or the empty string when a required part is
     *         missing at {@link #position()}
     */
    public String part() {
        return part;
    }

    private static String format(String input, int position, String part, String reason) {
        StringBuilder echo = new StringBuilder(input.length());
        // Control characters would break the column alignment of the caret line.
        input.chars().forEach(c -> echo.append(Character.isISOControl(c) ? '?' : (char) c));
        return "Invalid resource " + quote(input) + ": " + reason
                + "\n  " + echo
                + "\n  " + " ".repeat(position) + "^".repeat(Math.max(1, part.length()));
    }

    /**
     * Quotes text for a message, escaping control characters so that a stray newline or tab in a
     * configuration value is visible instead of breaking the message.
     */
    static String quote(String text) {
        StringBuilder out = new StringBuilder(text.length() + 2).append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '"' -> out.append("\\\"");
                default -> {
                    if (Character.isISOControl(c)) {
                        // "\\u%04x" by hand: String.format parses its format with a regular expression
                        // on every call, paid per control character, so a long garbage string paid it
                        // thousands of times per message (most of a fuzzer's time on this parser).
                        String hex = Integer.toHexString(c);
                        out.append("\\u").append("0000", hex.length(), 4).append(hex);
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
