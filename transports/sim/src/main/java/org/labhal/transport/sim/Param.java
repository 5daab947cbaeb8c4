package org.labhal.transport.sim;

import java.math.BigDecimal;
import java.util.List;

/** One parsed program data element (IEEE 488.2 7.7 and SCPI channel lists). */
sealed interface Param permits Param.DecimalData, Param.CharacterData, Param.StringData, Param.ChannelList {

    /** The element as sent, without surrounding whitespace. */
    String text();

    /**
     * Decimal (NR1/NR2/NR3) or non-decimal ({@code #H}, {@code #Q}, {@code #B}) numeric data.
     *
     * @param value the number as written, before any suffix multiplier
     * @param suffix the suffix unit in upper case ({@code "MHZ"}, {@code "DBM"}), empty when none
     */
    record DecimalData(BigDecimal value, String suffix, String text) implements Param {
    }

    /** Character program data: {@code ON}, {@code MAX}, {@code token_1}. */
    record CharacterData(String text) implements Param {

        boolean is(String... words) {
            for (String word : words) {
                if (word.equalsIgnoreCase(text)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** String program data with its quotes removed and doubled quotes undone. */
    record StringData(String value, String text) implements Param {
    }

    /** A channel list {@code (@101,102:105)} expanded in order, ranges inclusive. */
    record ChannelList(List<Integer> channels, String text) implements Param {

        public ChannelList {
            channels = List.copyOf(channels);
        }
    }
}
