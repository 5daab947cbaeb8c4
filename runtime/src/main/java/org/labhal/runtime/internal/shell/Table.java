package org.labhal.runtime.internal.shell;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A plain-text table with aligned columns for the shell: a header row, then rows. The last column is
 * not padded, so a long detail never widens the others. Not thread-safe; build and render in one go.
 */
final class Table {
    private static final Pattern LINE_BREAK = Pattern.compile("\\s*\\R\\s*");

    private final String[] header;
    private final List<String[]> rows = new ArrayList<>();

    Table(String... header) {
        this.header = header.clone();
    }

    /**
     * @param cells one value per column; {@code null} is shown as {@code -}
     * @return this table
     */
    Table row(Object... cells) {
        if (cells.length != header.length) {
            throw new IllegalArgumentException("expected " + header.length + " cells, got " + cells.length);
        }
        String[] texts = new String[cells.length];
        for (int i = 0; i < cells.length; i++) {
            String text = cells[i] == null ? "" : cells[i].toString();
            texts[i] = text.isEmpty() ? "-" : oneLine(text);
        }
        rows.add(texts);
        return this;
    }

    /** A thousand-instrument table has tens of thousands of cells: the pattern is compiled once. */
    private static String oneLine(String text) {
        Matcher breaks = LINE_BREAK.matcher(text);
        return breaks.find() ? breaks.replaceAll(" ") : text;
    }

    /** @return whether no row was added */
    boolean isEmpty() {
        return rows.isEmpty();
    }

    @Override
    public String toString() {
        int[] widths = new int[header.length];
        for (int i = 0; i < header.length; i++) {
            widths[i] = header[i].length();
            for (String[] row : rows) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        StringBuilder text = new StringBuilder();
        append(text, header, widths);
        for (String[] row : rows) {
            text.append('\n');
            append(text, row, widths);
        }
        return text.toString();
    }

    private static void append(StringBuilder text, String[] cells, int[] widths) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < cells.length; i++) {
            line.append(cells[i]);
            if (i < cells.length - 1) {
                line.append(" ".repeat(widths[i] - cells[i].length() + 2));
            }
        }
        text.append(line.toString().stripTrailing());
    }

    /**
     * Key-value lines with the keys padded to one width.
     *
     * @param pairs alternating keys and values
     * @return the lines
     */
    static String keyValues(List<String[]> pairs) {
        int width = pairs.stream().mapToInt(p -> p[0].length()).max().orElse(0);
        StringBuilder text = new StringBuilder();
        for (String[] pair : pairs) {
            if (text.length() > 0) {
                text.append('\n');
            }
            text.append(pair[0]).append(" ".repeat(width - pair[0].length() + 2)).append(pair[1]);
        }
        return text.toString();
    }
}
