package org.labhal.transport.sim;

/**
 * The standard SCPI / IEEE 488.2 errors the simulators report, with the Standard Event Status
 * Register bit each one sets when it is queued.
 */
enum ScpiError {
    COMMAND_ERROR(-100, "Command error"),
    SYNTAX_ERROR(-102, "Syntax error"),
    DATA_TYPE_ERROR(-104, "Data type error"),
    PARAMETER_NOT_ALLOWED(-108, "Parameter not allowed"),
    MISSING_PARAMETER(-109, "Missing parameter"),
    UNDEFINED_HEADER(-113, "Undefined header"),
    EXPONENT_TOO_LARGE(-123, "Exponent too large"),
    TOO_MANY_DIGITS(-124, "Too many digits"),
    INVALID_SUFFIX(-131, "Invalid suffix"),
    PARAMETER_ERROR(-220, "Parameter error"),
    DATA_OUT_OF_RANGE(-222, "Data out of range"),
    TOO_MUCH_DATA(-223, "Too much data"),
    ILLEGAL_PARAMETER_VALUE(-224, "Illegal parameter value"),
    DATA_STALE(-230, "Data corrupt or stale"),
    QUEUE_OVERFLOW(-350, "Queue overflow"),
    INPUT_BUFFER_OVERRUN(-363, "Input buffer overrun"),
    QUERY_INTERRUPTED(-410, "Query INTERRUPTED"),
    QUERY_UNTERMINATED(-420, "Query UNTERMINATED");

    /** ESR bit 2: query error. */
    static final int QYE = 1 << 2;
    /** ESR bit 3: device-dependent error. */
    static final int DDE = 1 << 3;
    /** ESR bit 4: execution error. */
    static final int EXE = 1 << 4;
    /** ESR bit 5: command error. */
    static final int CME = 1 << 5;

    private final int code;
    private final String text;

    ScpiError(int code, String text) {
        this.code = code;
        this.text = text;
    }

    int code() {
        return code;
    }

    String text() {
        return text;
    }

    /**
     * The ESR bit this error sets. -350 sets none: it stands in for an error whose own bit was
     * already set when it happened.
     */
    int esrMask() {
        if (this == QUEUE_OVERFLOW) {
            return 0;
        }
        return esrMask(code);
    }

    /**
     * The ESR bit an error number sets: command errors (-100 to -199) CME, execution errors EXE,
     * device-specific errors (-300 to -399, and positive numbers, which instruments define) DDE, query
     * errors QYE; 0 (no error) and other negative numbers none.
     */
    static int esrMask(int code) {
        if (code > 0) {
            return DDE;
        }
        if (code <= -100 && code > -200) {
            return CME;
        }
        if (code <= -200 && code > -300) {
            return EXE;
        }
        if (code <= -300 && code > -400) {
            return DDE;
        }
        return code <= -400 && code > -500 ? QYE : 0;
    }

    /** The {@code SYSTem:ERRor?} response form: {@code -113,"Undefined header"}. */
    String formatted() {
        return code + ",\"" + text + "\"";
    }
}
