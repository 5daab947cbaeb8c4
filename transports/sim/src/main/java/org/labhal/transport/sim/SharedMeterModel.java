package org.labhal.transport.sim;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * A cheap DMM-like measurement box whose connections all share one message exchange. Readings
 * are deterministic so that tests can tell answers apart: channel {@code n} reads {@code n} mV.
 */
final class SharedMeterModel implements DeviceModel {

    static final String NAME = "SHARED";

    private static final List<Integer> DEFAULT_CHANNELS = List.of(1);
    private static final int MAX_CHANNEL = 999;

    private final Object lock = new Object();
    private List<Integer> scanList; // guarded by lock
    private List<Integer> measured; // guarded by lock; channels of the readings in memory, empty when none

    SharedMeterModel() {
        reset();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean sharesExchange() {
        return true;
    }

    @Override
    public String identification(String serialNumber) {
        return "LabHAL,SHARED-SIM," + serialNumber + ",1.0";
    }

    @Override
    public String options() {
        return "0";
    }

    @Override
    public void reset() {
        synchronized (lock) {
            scanList = DEFAULT_CHANNELS;
            measured = List.of();
        }
    }

    @Override
    public void register(CommandTable.Builder commands) {
        commands.compound("CONFigure:VOLTage[:DC]", in -> {
            List<Integer> channels = channels(in);
            synchronized (lock) {
                scanList = channels;
                measured = List.of();
            }
        }, null);
        commands.compound("MEASure:VOLTage[:DC]", null, in -> {
            List<Integer> channels = channels(in);
            synchronized (lock) {
                scanList = channels;
                measured = channels;
            }
            in.respond(readings(channels));
        });
        commands.compound("READ", null, in -> {
            in.expectParameters(0, 0);
            List<Integer> channels;
            synchronized (lock) {
                measured = scanList;
                channels = measured;
            }
            in.respond(readings(channels));
        });
        commands.compound("INITiate[:IMMediate]", in -> {
            in.expectParameters(0, 0);
            in.execution().startOperation();
            synchronized (lock) {
                measured = scanList;
            }
        }, null);
        // FETCh? waits for a running INITiate, as a DMM holds the bus until its readings exist
        commands.compound("FETCh", null, in -> {
            in.expectParameters(0, 0);
            in.execution().awaitOperations();
            List<Integer> channels;
            synchronized (lock) {
                channels = measured;
            }
            if (channels.isEmpty()) {
                throw new CommandException(ScpiError.DATA_STALE);
            }
            in.respond(readings(channels));
        });
    }

    /**
     * Parses {@code [<range>[,<resolution>]][,(@<channels>)]}. Range and resolution are checked
     * (numbers in volts, or MIN/MAX/DEF/AUTO) and otherwise ignored: readings do not depend on them.
     */
    private static List<Integer> channels(Invocation in) throws CommandException {
        in.expectParameters(0, 3);
        int settings = in.count();
        List<Integer> channels = DEFAULT_CHANNELS;
        if (settings > 0 && in.param(settings - 1) instanceof Param.ChannelList list) {
            for (int channel : list.channels()) {
                if (channel < 1 || channel > MAX_CHANNEL) {
                    throw new CommandException(ScpiError.DATA_OUT_OF_RANGE);
                }
            }
            channels = list.channels();
            settings--;
        }
        if (settings > 2) {
            throw new CommandException(ScpiError.PARAMETER_NOT_ALLOWED);
        }
        for (int i = 0; i < settings; i++) {
            Param p = in.param(i);
            if (p instanceof Param.DecimalData d) {
                Unit.VOLT.exponent(d.suffix());
            } else if (p instanceof Param.CharacterData c) {
                if (!c.is("MIN", "MINIMUM", "MAX", "MAXIMUM", "DEF", "DEFAULT", "AUTO")) {
                    throw new CommandException(ScpiError.ILLEGAL_PARAMETER_VALUE);
                }
            } else {
                throw new CommandException(ScpiError.DATA_TYPE_ERROR);
            }
        }
        return channels;
    }

    /** Channel {@code n} reads {@code n} mV, in the NR3 form DMMs answer: {@code +1.01000000E-01}. */
    static String readings(List<Integer> channels) {
        return channels.stream()
                .map(channel -> String.format(Locale.ROOT, "%+.8E", channel / 1000.0))
                .collect(Collectors.joining(","));
    }
}
