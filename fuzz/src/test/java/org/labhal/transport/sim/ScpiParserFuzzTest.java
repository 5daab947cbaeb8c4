package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.StringJoiner;

import org.labhal.transport.sim.ScpiParser.Mnemonic;
import org.labhal.transport.sim.ScpiParser.ProgramUnit;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * The simulators' SCPI parser on any program message: units split at the semicolons outside strings
 * and join back to the message; a unit parses or fails with a {@link CommandException}; a parsed unit
 * written back from its header and its parameters' text parses to the same unit; and what a unit holds
 * stays within the IEEE 488.2 limits (255 mantissa digits, 4-digit channels, a bounded channel list),
 * so a short message can never make the simulator build something huge.
 */
class ScpiParserFuzzTest {

    @FuzzTest(maxDuration = "10s")
    void message(byte[] input) {
        String message = new String(input, StandardCharsets.ISO_8859_1);
        List<String> units = ScpiParser.splitUnits(message);
        assertEquals(message, String.join(";", units));
        for (String text : units) {
            ProgramUnit unit;
            try {
                unit = ScpiParser.parseUnit(text);
            } catch (CommandException e) {
                continue;
            }
            check(unit, text);
            String written = write(unit);
            try {
                assertEquals(unit, ScpiParser.parseUnit(written), "written back as " + written);
            } catch (CommandException e) {
                throw new AssertionError("\"" + text + "\" parsed, but written back as \"" + written
                        + "\" it fails with " + e.error(), e);
            }
        }
    }

    private static void check(ProgramUnit unit, String text) {
        assertTrue(!unit.header().nodes().isEmpty());
        int channels = 0;
        for (Param p : unit.params()) {
            assertTrue(text.contains(p.text()), "parameter text " + p.text() + " is not in " + text);
            if (p instanceof Param.DecimalData d) {
                assertTrue(d.value().precision() <= 300, "a number of " + d.value().precision() + " digits");
            } else if (p instanceof Param.ChannelList list) {
                assertTrue(!list.channels().isEmpty());
                for (int channel : list.channels()) {
                    assertTrue(channel >= 0 && channel <= 9999, "channel " + channel);
                }
                channels += list.channels().size();
            }
        }
        assertTrue(channels <= ScpiParser.MAX_CHANNELS, channels + " channels from " + text.length() + " characters");
    }

    /** Writes a unit in a normal form: its header, one space, its parameters' text separated by commas. */
    private static String write(ProgramUnit unit) {
        StringBuilder out = new StringBuilder();
        if (unit.header().absolute()) {
            out.append(':');
        }
        StringJoiner nodes = new StringJoiner(":");
        for (Mnemonic m : unit.header().nodes()) {
            nodes.add(m.suffix() < 0 ? m.name() : m.name() + m.suffix());
        }
        out.append(nodes);
        if (unit.header().query()) {
            out.append('?');
        }
        StringJoiner params = new StringJoiner(",", " ", "").setEmptyValue("");
        unit.params().forEach(p -> params.add(p.text()));
        return out.append(params).toString();
    }
}
