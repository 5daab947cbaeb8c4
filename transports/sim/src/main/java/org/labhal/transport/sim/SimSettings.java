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
 * error queue capacity {@value #DEFAULT_ERROR_QUEUE_CAPACITY}, input buffer {@value #DEFAULT_INPUT_BUFFER_SIZE} bytes.
 */
public final class SimSettings {

    /** Serial number used in the default {@code *IDN?} answer. */
    public static final String DEFAULT_SERIAL_NUMBER = "100001";

    /** Error queue entries, the last of which becomes -350 on overflow. */
    public static final int DEFAULT_ERROR_QUEUE_CAPACITY = 10;

    /**
     * Bytes of one program message the input buffer holds (2 MiB): a longer message is an input
     * buffer overrun, -363, and is discarded up to its terminator, as instruments do.
     */
    public static final int DEFAULT_INPUT_BUFFER_SIZE = 2 << 20;

    /** Upper bound of both durations, so that deadlines cannot overflow. */
    public static final Duration MAX_DURATION = Duration.ofHours(1);

    private static final SimSettings DEFAULTS = new SimSettings(Duration.ZERO, Duration.ofMillis(100), null,
            DEFAULT_SERIAL_NUMBER, DEFAULT_ERROR_QUEUE_CAPACITY, DEFAULT_INPUT_BUFFER_SIZE);

    private final Duration processingDelay;
    private final Duration operationTime;
    private final String idn; // null: the model's default
    private final String serialNumber;
    private final int errorQueueCapacity;
    private final int inputBufferSize;

    private SimSettings(Duration processingDelay, Duration operationTime, String idn, String serialNumber,
            int errorQueueCapacity, int inputBufferSize) {
        this.processingDelay = processingDelay;
        this.operationTime = operationTime;
        this.idn = idn;
        this.serialNumber = serialNumber;
        this.errorQueueCapacity = errorQueueCapacity;
        this.inputBufferSize = inputBufferSize;
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
                errorQueueCapacity, inputBufferSize);
    }

    /**
     * @param time how long {@code INITiate} operations last, 0 to {@link #MAX_DURATION}
     * @throws IllegalArgumentException when negative or longer than {@link #MAX_DURATION}
     */
    public SimSettings withOperationTime(Duration time) {
        return new SimSettings(processingDelay, checkDuration("operation time", time), idn, serialNumber,
                errorQueueCapacity, inputBufferSize);
    }

    /**
     * @param identification the complete {@code *IDN?} answer, printable ASCII without {@code ;}
     * @throws IllegalArgumentException when blank or containing other characters
     */
    public SimSettings withIdn(String identification) {
        return new SimSettings(processingDelay, operationTime, checkText("*IDN? answer", identification, ";"),
                serialNumber, errorQueueCapacity, inputBufferSize);
    }

    /**
     * @param serial the serial number for the default {@code *IDN?} answer, printable ASCII
     *        without {@code ,} or {@code ;}
     * @throws IllegalArgumentException when blank or containing other characters
     */
    public SimSettings withSerialNumber(String serial) {
        return new SimSettings(processingDelay, operationTime, idn, checkText("serial number", serial, ",;"),
                errorQueueCapacity, inputBufferSize);
    }

    /**
     * @param capacity error queue entries, 1 to 1000
     * @throws IllegalArgumentException when outside that range
     */
    public SimSettings withErrorQueueCapacity(int capacity) {
        if (capacity < 1 || capacity > 1000) {
            throw new IllegalArgumentException("error queue capacity must be 1 to 1000, was " + capacity);
        }
        return new SimSettings(processingDelay, operationTime, idn, serialNumber, capacity, inputBufferSize);
    }

    /**
     * How long one program message may be: the input buffer's size. The bytes of a longer message are
     * discarded as they arrive, up to its terminator; then -363 "Input buffer overrun" is queued and
     * the message is not executed. Memory per connection stays bounded however long a line a client
     * sends.
     *
     * @param bytes 1 KiB to 256 MiB; default {@value #DEFAULT_INPUT_BUFFER_SIZE}
     * @throws IllegalArgumentException when outside that range
     */
    public SimSettings withInputBufferSize(int bytes) {
        if (bytes < 1024 || bytes > 256 << 20) {
            throw new IllegalArgumentException("input buffer size must be 1024 to " + (256 << 20) + " bytes, was "
                    + bytes);
        }
        return new SimSettings(processingDelay, operationTime, idn, serialNumber, errorQueueCapacity, bytes);
    }

    /** How long one program message may be, in bytes; see {@link #withInputBufferSize(int)}. */
    public int inputBufferSize() {
        return inputBufferSize;
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
                && errorQueueCapacity == s.errorQueueCapacity
                && inputBufferSize == s.inputBufferSize;
    }

    @Override
    public int hashCode() {
        return Objects.hash(processingDelay, operationTime, idn, serialNumber, errorQueueCapacity, inputBufferSize);
    }

    @Override
    public String toString() {
        return "SimSettings[processingDelay=" + processingDelay + ", operationTime=" + operationTime
                + ", idn=" + (idn == null ? "<model default>" : idn) + ", serialNumber=" + serialNumber
                + ", errorQueueCapacity=" + errorQueueCapacity + ", inputBufferSize=" + inputBufferSize + "]";
    }
}
