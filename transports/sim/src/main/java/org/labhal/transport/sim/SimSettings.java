package org.labhal.transport.sim;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How a {@link SimulatedInstrument} behaves in time and what it calls itself. Immutable and
 * thread-safe; start from {@link #defaults()} and change one value at a time with the
 * {@code with...} methods, each of which returns a new value.
 *
 * <p>Defaults: processing delay 0, operation time 100 ms, no {@code *IDN?} override (the model's
 * {@code LabHAL,<MODEL>-SIM,<serial>,1.0}), serial number {@value #DEFAULT_SERIAL_NUMBER},
 * error queue capacity {@value #DEFAULT_ERROR_QUEUE_CAPACITY}.
 */
public final class SimSettings {

    /** Serial number used in the default {@code *IDN?} answer. */
    public static final String DEFAULT_SERIAL_NUMBER = "100001";

    /** Error queue entries, the last of which becomes -350 on overflow. */
    public static final int DEFAULT_ERROR_QUEUE_CAPACITY = 10;

    /** Upper bound of both durations, so that deadlines cannot overflow. */
    public static final Duration MAX_DURATION = Duration.ofHours(1);

    private static final SimSettings DEFAULTS = new SimSettings(Duration.ZERO, Duration.ofMillis(100), null,
            DEFAULT_SERIAL_NUMBER, DEFAULT_ERROR_QUEUE_CAPACITY);

    private final Duration processingDelay;
    private final Duration operationTime;
    private final String idn; // null: the model's default
    private final String serialNumber;
    private final int errorQueueCapacity;

    private SimSettings(Duration processingDelay, Duration operationTime, String idn, String serialNumber,
            int errorQueueCapacity) {
        this.processingDelay = processingDelay;
        this.operationTime = operationTime;
        this.idn = idn;
        this.serialNumber = serialNumber;
        this.errorQueueCapacity = errorQueueCapacity;
    }

    /** The default settings. */
    public static SimSettings defaults() {
        return DEFAULTS;
    }

    /** How long the instrument takes before it executes each program message; default 0. */
    public Duration processingDelay() {
        return processingDelay;
    }

    /** How long an overlapped operation started by {@code INITiate} lasts; default 100 ms. */
    public Duration operationTime() {
        return operationTime;
    }

    /** The {@code *IDN?} answer replacing the model's default, if one was set. */
    public Optional<String> idn() {
        return Optional.ofNullable(idn);
    }

    /** The serial number in the model's default {@code *IDN?} answer. */
    public String serialNumber() {
        return serialNumber;
    }

    /** How many entries the error queue holds, including the -350 that ends an overflowed queue. */
    public int errorQueueCapacity() {
        return errorQueueCapacity;
    }

    /**
     * @param delay the time each program message takes before it executes, 0 to {@link #MAX_DURATION}
     * @throws IllegalArgumentException when negative or longer than {@link #MAX_DURATION}
     */
    public SimSettings withProcessingDelay(Duration delay) {
        return new SimSettings(checkDuration("processing delay", delay), operationTime, idn, serialNumber,
                errorQueueCapacity);
    }

    /**
     * @param time how long {@code INITiate} operations last, 0 to {@link #MAX_DURATION}
     * @throws IllegalArgumentException when negative or longer than {@link #MAX_DURATION}
     */
    public SimSettings withOperationTime(Duration time) {
        return new SimSettings(processingDelay, checkDuration("operation time", time), idn, serialNumber,
                errorQueueCapacity);
    }

    /**
     * @param identification the complete {@code *IDN?} answer, printable ASCII without {@code ;}
     * @throws IllegalArgumentException when blank or containing other characters
     */
    public SimSettings withIdn(String identification) {
        return new SimSettings(processingDelay, operationTime, checkText("*IDN? answer", identification, ";"),
                serialNumber, errorQueueCapacity);
    }

    /**
     * @param serial the serial number for the default {@code *IDN?} answer, printable ASCII
     *        without {@code ,} or {@code ;}
     * @throws IllegalArgumentException when blank or containing other characters
     */
    public SimSettings withSerialNumber(String serial) {
        return new SimSettings(processingDelay, operationTime, idn, checkText("serial number", serial, ",;"),
                errorQueueCapacity);
    }

    /**
     * @param capacity error queue entries, 1 to 1000
     * @throws IllegalArgumentException when outside that range
     */
    public SimSettings withErrorQueueCapacity(int capacity) {
        if (capacity < 1 || capacity > 1000) {
            throw new IllegalArgumentException("error queue capacity must be 1 to 1000, was " + capacity);
        }
        return new SimSettings(processingDelay, operationTime, idn, serialNumber, capacity);
    }

    private static Duration checkDuration(String what, Duration value) {
        Objects.requireNonNull(value, what);
        if (value.isNegative() || value.compareTo(MAX_DURATION) > 0) {
            throw new IllegalArgumentException(what + " must be between 0 and " + MAX_DURATION + ", was " + value);
        }
        return value;
    }

    private static String checkText(String what, String value, String forbidden) {
        Objects.requireNonNull(value, what);
        boolean printable = value.chars().allMatch(c -> c >= ' ' && c < 127 && forbidden.indexOf(c) < 0);
        if (value.isBlank() || !printable) {
            throw new IllegalArgumentException(what + " must be non-blank printable ASCII without "
                    + String.join(" or ", forbidden.split("")) + ", was '" + value + "'");
        }
        return value;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof SimSettings s
                && processingDelay.equals(s.processingDelay)
                && operationTime.equals(s.operationTime)
                && Objects.equals(idn, s.idn)
                && serialNumber.equals(s.serialNumber)
                && errorQueueCapacity == s.errorQueueCapacity;
    }

    @Override
    public int hashCode() {
        return Objects.hash(processingDelay, operationTime, idn, serialNumber, errorQueueCapacity);
    }

    @Override
    public String toString() {
        return "SimSettings[processingDelay=" + processingDelay + ", operationTime=" + operationTime
                + ", idn=" + (idn == null ? "<model default>" : idn) + ", serialNumber=" + serialNumber
                + ", errorQueueCapacity=" + errorQueueCapacity + "]";
    }
}
