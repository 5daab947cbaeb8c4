package org.labhal.transport.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ErrorQueueTest {

    @Test
    void deliversOldestFirstThenNoError() {
        ErrorQueue queue = new ErrorQueue(10);
        queue.add(ScpiError.UNDEFINED_HEADER);
        queue.add(ScpiError.DATA_OUT_OF_RANGE);
        assertEquals("-113,\"Undefined header\"", queue.next());
        assertEquals("-222,\"Data out of range\"", queue.next());
        assertEquals("0,\"No error\"", queue.next());
        assertTrue(queue.isEmpty());
    }

    @Test
    void overflowReplacesNewestEntryWithQueueOverflowOnce() {
        ErrorQueue queue = new ErrorQueue(3);
        queue.add(ScpiError.SYNTAX_ERROR);
        queue.add(ScpiError.UNDEFINED_HEADER);
        queue.add(ScpiError.MISSING_PARAMETER);
        queue.add(ScpiError.DATA_OUT_OF_RANGE);
        queue.add(ScpiError.DATA_TYPE_ERROR);
        assertEquals(3, queue.size());
        assertEquals("-102,\"Syntax error\"", queue.next());
        assertEquals("-113,\"Undefined header\"", queue.next());
        assertEquals("-350,\"Queue overflow\"", queue.next());
        assertEquals(ErrorQueue.NO_ERROR, queue.next());
    }

    @Test
    void rejectsCapacityBelowOne() {
        assertThrows(IllegalArgumentException.class, () -> new ErrorQueue(0));
    }

    @Test
    void errorsSetTheirEventStatusBits() {
        assertEquals(ScpiError.CME, ScpiError.SYNTAX_ERROR.esrMask());
        assertEquals(ScpiError.CME, ScpiError.UNDEFINED_HEADER.esrMask());
        assertEquals(ScpiError.EXE, ScpiError.DATA_OUT_OF_RANGE.esrMask());
        assertEquals(ScpiError.EXE, ScpiError.DATA_STALE.esrMask());
        assertEquals(ScpiError.QYE, ScpiError.QUERY_INTERRUPTED.esrMask());
        assertEquals(ScpiError.QYE, ScpiError.QUERY_UNTERMINATED.esrMask());
        assertEquals(0, ScpiError.QUEUE_OVERFLOW.esrMask());
    }
}
