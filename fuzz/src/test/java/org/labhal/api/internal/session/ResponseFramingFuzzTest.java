package org.labhal.api.internal.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.labhal.api.BinaryFormat;
import org.labhal.api.BlockProgress;
import org.labhal.api.LabHalException;
import org.labhal.api.SessionClosedException;
import org.labhal.api.Session;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Response framing and the block reader, through a real session: any answer an instrument sends, in
 * any pieces, over a stream or a message transport, ends a step normally or with a
 * {@link LabHalException}; reads stay within the answer (no spinning, no buffer sized by the wire);
 * the step ends at a message end or clears the device, never in the middle of a message; the next
 * query gets its own answer; and the step gives its session lock back and closing the session closes
 * the link, so nothing of one input reaches the next (every input goes through one session factory
 * and lock service, made once: see {@link InstrumentScript#open}).
 *
 * <p>Input: byte 0 chooses the transport framing (bit 0), the step (bits 1-3), the piece size (bits
 * 4-5) and error checking (bit 6); byte 1 is the length of the error-queue answer taken from the end;
 * the bytes in between are the answer to the step.
 */
class ResponseFramingFuzzTest {
    private static final int[] PIECES = {1, 3, 64, Integer.MAX_VALUE};
    private static final byte[] NO_ERROR = "+0,\"No error\"\n".getBytes(StandardCharsets.ISO_8859_1);
    /** Reads a step may make beyond one per answer byte: timeouts and message ends with no data. */
    private static final int SPARE_READS = 8;

    @FuzzTest(maxDuration = "10s")
    void answer(byte[] input) throws LabHalException {
        int flags = input.length > 0 ? input[0] & 0xff : 0;
        int errorLength = input.length > 1 ? Math.min(input[1] & 0xff, input.length - 2) : 0;
        byte[] answer = Arrays.copyOfRange(input, Math.min(2, input.length), input.length - errorLength);
        byte[] errorAnswer = Arrays.copyOfRange(input, input.length - errorLength, input.length);
        boolean stream = (flags & 1) == 0;
        int step = flags >> 1 & 7;
        boolean errorChecking = (flags & 0x40) != 0;

        InstrumentScript instrument = new InstrumentScript(stream, PIECES[flags >> 4 & 3]);
        instrument.answer(answer).answer(errorAnswer).answer(NO_ERROR);
        String where = "step " + step + " over " + (stream ? "a stream" : "a message") + " transport";
        try (Session session = instrument.open(errorChecking)) {
            check(session, instrument, step, where);
        }
        // The session factory and lock service are shared by every input: nothing may stay behind.
        assertFalse(instrument.isOpen(), where + ": closing the session left its link open");
        assertEquals(0, InstrumentScript.openConnections(), where + ": closing the session left its connection open");
    }

    /** Runs the step and the next query on an open session, and checks what they leave. */
    private static void check(Session session, InstrumentScript instrument, int step, String where)
            throws LabHalException {
        try {
            run(session, step);
        } catch (LabHalException expected) {
            // a documented failure; what matters is the state it leaves
        } catch (RuntimeException | Error wrong) {
            fail(where + " threw " + wrong, wrong);
        }
        assertFalse(session.lock().isHeldByCurrentThread(), where + " kept its session lock");
        assertTrue(instrument.reads() <= instrument.bytesSent() + SPARE_READS,
                instrument.reads() + " reads for " + instrument.bytesSent() + " bytes: the session spins");
        assertTrue(instrument.largestRead() <= BlockReader.CHUNK,
                "a read was handed " + instrument.largestRead() + " bytes");

        if (!instrument.isOpen()) {
            return; // the session gave the link up, which drops what was on its way
        }
        if (instrument.unread() > 0) {
            // Bytes left over are further messages the instrument sent on its own, which only a
            // stream transport can get: a session stops at a message end, or clears the device.
            assertTrue(instrument.stream() && instrument.lastByteRead() == '\n', where + " stopped inside the answer "
                    + "with " + instrument.unread() + " bytes unread and no device clear");
            instrument.drop();
        }
        instrument.forgetUnsentAnswers();
        instrument.answer("NEXT\n".getBytes(StandardCharsets.ISO_8859_1)).answer(NO_ERROR);
        String next;
        try {
            next = session.query("NEXT?");
        } catch (SessionClosedException closed) {
            return; // a session that gave up its link may refuse; it must not answer wrongly
        }
        assertEquals("NEXT", next, "the step left bytes of its answer for the next one");
    }

    private static void run(Session session, int step) throws LabHalException {
        switch (step) {
            case 0 -> session.query("A?");
            case 1 -> session.queryBytes("A?");
            case 2 -> session.queryBlock("A?");
            case 3 -> {
                ByteArrayOutputStream sink = new ByteArrayOutputStream();
                long[] last = {0, 0};
                long length = session.queryBlock("A?", sink, (done, total) -> {
                    assertTrue(done >= last[0], "progress went back from " + last[0] + " to " + done);
                    last[0] = done;
                    last[1] = total;
                });
                assertEquals(length, sink.size(), "the block's length is not what reached the sink");
            }
            case 4 -> session.queryBinaryValues("A?", BinaryFormat.REAL32);
            case 5 -> session.queryBinaryValues("A?", BinaryFormat.INT16);
            case 6 -> session.queryAsciiValues("A?");
            default -> session.queryBlock("A?", new ByteArrayOutputStream(), BlockProgress.NONE);
        }
    }
}
