package org.labhal.transport.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.labhal.transport.sim.ScpiParser.Mnemonic;

/**
 * A compound header in SCPI manual notation, matched against parsed header nodes.
 *
 * <p>Notation: nodes separated by {@code :}; the upper-case part of a node is its short form and
 * the whole node its long form; {@code [...]} marks an optional node, {@code |} separates
 * alternatives inside brackets; {@code {1-2}} after a node allows a numeric suffix in that range
 * (omitted suffix means 1). Example: {@code [SOURce{1-2}]:FREQuency[:CW|:FIXed]}.
 *
 * <p>Immutable and thread-safe.
 */
final class HeaderPattern {

    private record Node(String shortForm, String longForm, int minSuffix, int maxSuffix) {

        boolean suffixed() {
            return maxSuffix > 0;
        }

        boolean accepts(Mnemonic m) {
            if (!m.name().equalsIgnoreCase(shortForm) && !m.name().equalsIgnoreCase(longForm)) {
                return false;
            }
            return m.suffix() < 0 || (suffixed() && m.suffix() >= minSuffix && m.suffix() <= maxSuffix);
        }
    }

    /** One position in the header; {@code slot} is its index among suffix values, or -1. */
    private record Element(List<Node> alternatives, boolean optional, int slot) {
    }

    /** {@code {min-max}} or {@code {n}}: ASCII digits, as many as a SCPI suffix may have. */
    private static final Pattern SUFFIX_RANGE = Pattern.compile("\\{([0-9]{1,4})(?:-([0-9]{1,4}))?\\}");

    private final String notation;
    private final List<Element> elements;
    private final int slots;

    private HeaderPattern(String notation, List<Element> elements, int slots) {
        this.notation = notation;
        this.elements = List.copyOf(elements);
        this.slots = slots;
    }

    /**
     * @throws IllegalArgumentException naming the notation when it is malformed
     */
    static HeaderPattern compile(String notation) {
        List<Element> elements = new ArrayList<>();
        int slots = 0;
        int i = 0;
        while (i < notation.length()) {
            boolean optional = notation.charAt(i) == '[';
            int end;
            String body;
            if (optional) {
                end = notation.indexOf(']', i);
                if (end < 0) {
                    throw malformed(notation);
                }
                body = notation.substring(i + 1, end);
                end++;
            } else {
                end = nextBoundary(notation, notation.charAt(i) == ':' ? i + 1 : i);
                body = notation.substring(i, end);
            }
            List<Node> alternatives = new ArrayList<>();
            for (String alternative : body.split("\\|", -1)) {
                boolean colon = alternative.startsWith(":");
                if (!elements.isEmpty() && !colon) {
                    throw malformed(notation); // every node after the first is introduced by a colon
                }
                alternatives.add(node(colon ? alternative.substring(1) : alternative, notation));
            }
            boolean suffixed = alternatives.stream().anyMatch(Node::suffixed);
            elements.add(new Element(alternatives, optional, suffixed ? slots++ : -1));
            i = end;
        }
        if (elements.isEmpty()) {
            throw malformed(notation);
        }
        return new HeaderPattern(notation, elements, slots);
    }

    private static int nextBoundary(String notation, int from) {
        int end = from;
        while (end < notation.length() && notation.charAt(end) != ':' && notation.charAt(end) != '[') {
            end++;
        }
        return end;
    }

    private static Node node(String text, String notation) {
        String word = text;
        int min = 0;
        int max = 0;
        int brace = text.indexOf('{');
        if (brace >= 0) {
            if (!text.endsWith("}")) {
                throw malformed(notation);
            }
            // Checked against a strict form: split("-") would take "{1-2-3}" and fail on "{-}" with an
            // index error, and parseInt would take "+1" and digits of other scripts.
            Matcher range = SUFFIX_RANGE.matcher(text.substring(brace));
            if (!range.matches()) {
                throw malformed(notation);
            }
            min = Integer.parseInt(range.group(1));
            max = range.group(2) == null ? min : Integer.parseInt(range.group(2));
            if (min < 1 || max < min) {
                throw malformed(notation);
            }
            word = text.substring(0, brace);
        }
        int shortLength = 0;
        while (shortLength < word.length() && Character.isUpperCase(word.charAt(shortLength))) {
            shortLength++;
        }
        if (shortLength == 0 || !word.chars().allMatch(Character::isLetter)) {
            throw malformed(notation);
        }
        return new Node(word.substring(0, shortLength), word.toUpperCase(Locale.ROOT), min, max);
    }

    private static IllegalArgumentException malformed(String notation) {
        return new IllegalArgumentException("malformed SCPI header pattern '" + notation + "'");
    }

    /**
     * Matches complete (absolute) header nodes.
     *
     * @return the numeric suffix of every suffixed position in pattern order (1 where omitted),
     *         or empty when the header is not this command
     */
    Optional<int[]> match(List<Mnemonic> nodes) {
        int[] suffixes = new int[slots];
        Arrays.fill(suffixes, 1);
        return match(0, 0, nodes, suffixes) ? Optional.of(suffixes) : Optional.empty();
    }

    private boolean match(int element, int node, List<Mnemonic> nodes, int[] suffixes) {
        if (element == elements.size()) {
            return node == nodes.size();
        }
        Element e = elements.get(element);
        if (node < nodes.size()) {
            Mnemonic m = nodes.get(node);
            for (Node alternative : e.alternatives()) {
                if (alternative.accepts(m) && match(element + 1, node + 1, nodes, suffixes)) {
                    if (e.slot() >= 0) {
                        suffixes[e.slot()] = m.suffix() < 0 ? 1 : m.suffix();
                    }
                    return true;
                }
            }
        }
        if (e.optional() && match(element + 1, node, nodes, suffixes)) {
            if (e.slot() >= 0) {
                suffixes[e.slot()] = 1;
            }
            return true;
        }
        return false;
    }

    @Override
    public String toString() {
        return notation;
    }
}
