package org.labhal.api.internal.session;

/**
 * Wire bytes quoted for an error message: printable ASCII as is, everything else escaped, long
 * runs cut, so that a garbage response can neither flood a log nor hide in it.
 */
final class Excerpt {
    /** Bytes shown before the excerpt is cut. */
    static final int MAX_SHOWN = 40;
    private static final char[] HEX_DIGITS = "0123456789abcdef".toCharArray();

    private Excerpt() {
    }

    /** @return the bytes in double quotes, e.g. {@code "#3a\x00\n"} */
    static String of(byte[] data, int offset, int length) {
        StringBuilder out = new StringBuilder(Math.min(length, MAX_SHOWN) * 2 + 16).append('"');
        int shown = Math.min(length, MAX_SHOWN);
        for (int i = offset; i < offset + shown; i++) {
            int b = data[i] & 0xFF;
            switch (b) {
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (b >= 0x20 && b < 0x7F) {
                        out.append((char) b);
                    } else {
                        // "\\x%02x" by hand: String.format parses its format with a regular expression
                        // on every call, the most of what quoting a garbage answer cost.
                        out.append("\\x").append(HEX_DIGITS[b >> 4]).append(HEX_DIGITS[b & 0xF]);
                    }
                }
            }
        }
        out.append('"');
        if (shown < length) {
            out.append("... (").append(length).append(" bytes)");
        }
        return out.toString();
    }

    /** @return the text quoted as {@link #of} would quote its ISO-8859-1 bytes */
    static String of(String text) {
        int shown = Math.min(text.length(), MAX_SHOWN);
        byte[] bytes = new byte[shown];
        for (int i = 0; i < shown; i++) {
            char c = text.charAt(i);
            bytes[i] = c < 256 ? (byte) c : (byte) '?';
        }
        String quoted = of(bytes, 0, shown);
        return shown < text.length() ? quoted + "... (" + text.length() + " characters)" : quoted;
    }
}
