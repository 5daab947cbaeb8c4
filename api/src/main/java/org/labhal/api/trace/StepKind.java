package org.labhal.api.trace;

/** What a step did; one per {@link org.labhal.api.Session} operation that takes the lock. */
public enum StepKind {
    /** {@code write}, {@code writeBytes}: a command, with the error-queue check when it is on */
    WRITE,
    /** {@code query}, {@code queryBytes}, {@code queryAsciiValues}: a message and its whole answer */
    QUERY,
    /** {@code read}: one answer to an earlier write */
    READ,
    /** {@code errors}: the error queue read until it is empty */
    ERROR_QUEUE,
    /** {@code queryBlock}, {@code queryBinaryValues}: a query answered with an IEEE 488.2 block */
    QUERY_BLOCK,
    /** {@code writeBlock}: a command carrying a block */
    WRITE_BLOCK,
    /** {@code clear}: device clear */
    CLEAR,
    /** {@code readStatusByte}: a serial poll */
    STATUS_BYTE,
    /** {@code trigger}: a bus trigger */
    TRIGGER,
    /** {@code remoteLocal}: remote / local control */
    REMOTE_LOCAL
}
