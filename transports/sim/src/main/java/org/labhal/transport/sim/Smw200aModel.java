package org.labhal.transport.sim;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * An R&amp;S SMW200A-style two-path signal generator. Each connection gets its own message
 * exchange; frequency, level and output state are the one physical state all sessions share.
 */
final class Smw200aModel implements DeviceModel {

    static final String NAME = "SMW200A";

    /** Hz; the SMW-B106 frequency option. */
    static final NumericRange FREQUENCY = NumericRange.of("100e3", "6e9", "1e9");
    /** dBm. */
    static final NumericRange LEVEL = NumericRange.of("-145", "30", "-30");

    private static final int FREQUENCY_DECIMALS = 3; // 1 mHz resolution
    private static final int LEVEL_DECIMALS = 2; // 0.01 dB resolution
    private static final int PATHS = 2;

    private final Object lock = new Object();
    private final BigDecimal[] frequency = new BigDecimal[PATHS]; // guarded by lock
    private final BigDecimal[] level = new BigDecimal[PATHS]; // guarded by lock
    private final boolean[] output = new boolean[PATHS]; // guarded by lock

    Smw200aModel() {
        reset();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean sharesExchange() {
        return false;
    }

    @Override
    public String identification(String serialNumber) {
        return "LabHAL,SMW200A-SIM," + serialNumber + ",1.0";
    }

    @Override
    public String options() {
        return "SMW-B10,SMW-B106";
    }

    @Override
    public void reset() {
        synchronized (lock) {
            for (int path = 0; path < PATHS; path++) {
                frequency[path] = FREQUENCY.preset();
                level[path] = LEVEL.preset();
                output[path] = false;
            }
        }
    }

    @Override
    public void register(CommandTable.Builder commands) {
        commands.compound("[SOURce{1-2}]:FREQuency[:CW|:FIXed]", in -> {
            in.expectParameters(1, 1);
            BigDecimal value = in.decimal(0, Unit.HERTZ, FREQUENCY).setScale(FREQUENCY_DECIMALS, RoundingMode.HALF_EVEN);
            synchronized (lock) {
                frequency[in.suffix(0) - 1] = value;
            }
        }, in -> {
            in.expectParameters(0, 1);
            BigDecimal value;
            if (in.count() == 1) {
                value = in.limit(0, FREQUENCY);
            } else {
                synchronized (lock) {
                    value = frequency[in.suffix(0) - 1];
                }
            }
            in.respond(number(value));
        });
        commands.compound("[SOURce{1-2}]:POWer[:LEVel][:IMMediate][:AMPLitude]", in -> {
            in.expectParameters(1, 1);
            BigDecimal value = in.decimal(0, Unit.DECIBEL_MILLIWATT, LEVEL).setScale(LEVEL_DECIMALS, RoundingMode.HALF_EVEN);
            synchronized (lock) {
                level[in.suffix(0) - 1] = value;
            }
        }, in -> {
            in.expectParameters(0, 1);
            BigDecimal value;
            if (in.count() == 1) {
                value = in.limit(0, LEVEL);
            } else {
                synchronized (lock) {
                    value = level[in.suffix(0) - 1];
                }
            }
            in.respond(number(value));
        });
        commands.compound("OUTPut{1-2}[:STATe]", in -> {
            in.expectParameters(1, 1);
            boolean on = in.bool(0);
            synchronized (lock) {
                output[in.suffix(0) - 1] = on;
            }
        }, in -> {
            in.expectParameters(0, 0);
            boolean on;
            synchronized (lock) {
                on = output[in.suffix(0) - 1];
            }
            in.respond(on ? "1" : "0");
        });
        commands.compound("INITiate[:IMMediate]", in -> {
            in.expectParameters(0, 0);
            in.execution().startOperation();
        }, null);
    }

    /** As the SMW answers: plain decimal, no exponent, no trailing zeros ({@code 1000000000}, {@code -10.5}). */
    static String number(BigDecimal value) {
        return value.stripTrailingZeros().toPlainString();
    }
}
