package org.labhal.transport.sim;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import org.labhal.transport.sim.ScpiParser.Header;
import org.labhal.transport.sim.ScpiParser.Mnemonic;

/**
 * The commands an instrument understands: common commands by name, compound commands by
 * {@link HeaderPattern}, each with an optional set form and an optional query form. Immutable
 * once built.
 */
final class CommandTable {

    /** Executes one program message unit. */
    @FunctionalInterface
    interface Handler {
        void handle(Invocation invocation) throws CommandException, IOException, InterruptedException;
    }

    /** The handler for a header and the numeric suffixes written in it. */
    record Resolved(Handler handler, int[] suffixes) {
    }

    private record Forms(Handler set, Handler query) {

        Handler of(boolean query) {
            return query ? this.query : set;
        }
    }

    private record Compound(HeaderPattern pattern, Forms forms) {
    }

    private static final int[] NO_SUFFIXES = new int[0];

    private final Map<String, Forms> common;
    private final List<Compound> compound;

    private CommandTable(Map<String, Forms> common, List<Compound> compound) {
        this.common = Map.copyOf(common);
        this.compound = List.copyOf(compound);
    }

    static Builder builder() {
        return new Builder();
    }

    /**
     * Finds the handler for a header.
     *
     * @param absolute the header's nodes after the SCPI path rule was applied
     * @throws CommandException -113 when no command, or no command in that (set/query) form, matches
     */
    Resolved resolve(Header header, List<Mnemonic> absolute) throws CommandException {
        if (header.common()) {
            Forms forms = common.get(header.nodes().get(0).name());
            if (forms != null && forms.of(header.query()) != null) {
                return new Resolved(forms.of(header.query()), NO_SUFFIXES);
            }
            throw new CommandException(ScpiError.UNDEFINED_HEADER);
        }
        for (Compound command : compound) {
            Handler handler = command.forms().of(header.query());
            if (handler == null) {
                continue;
            }
            Optional<int[]> suffixes = command.pattern().match(absolute);
            if (suffixes.isPresent()) {
                return new Resolved(handler, suffixes.get());
            }
        }
        throw new CommandException(ScpiError.UNDEFINED_HEADER);
    }

    static final class Builder {

        private final Map<String, Forms> common = new HashMap<>();
        private final List<Compound> compound = new ArrayList<>();

        private Builder() {
        }

        /**
         * @param name the common command with its star, e.g. {@code *IDN}
         * @param set handler of the command form, {@code null} when there is none
         * @param query handler of the query form, {@code null} when there is none
         */
        Builder common(String name, Handler set, Handler query) {
            if (!name.startsWith("*") || common.putIfAbsent(name.toUpperCase(Locale.ROOT), new Forms(set, query)) != null) {
                throw new IllegalArgumentException("bad or duplicate common command " + name);
            }
            return this;
        }

        /**
         * @param pattern the header in {@link HeaderPattern} notation
         * @param set handler of the command form, {@code null} when there is none
         * @param query handler of the query form, {@code null} when there is none
         */
        Builder compound(String pattern, Handler set, Handler query) {
            compound.add(new Compound(HeaderPattern.compile(pattern), new Forms(set, query)));
            return this;
        }

        CommandTable build() {
            return new CommandTable(common, compound);
        }
    }
}
