package org.labhal.transport.sim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * One IEEE 488.2 message exchange: input buffer, output queue, error queue, status registers and
 * the command processor's turn. The SMW200A model gives every connection its own exchange; the
 * SHARED model gives all its connections the same one, which is what makes their traffic collide.
 *
 * <p>Thread-safe. {@link #lock} guards the buffers and registers and is never held while
 * waiting for anything but its own condition; {@link #processor} is held for the whole
 * execution of one program message, so messages on one exchange execute one at a time.
 */
final class MessageExchange {

    /** ESR bit 0: operation complete. */
    static final int OPC = 1;
    /** STB bit 2: error/event queue not empty. */
    static final int EAV = 1 << 2;
    /** STB bit 4: message available. */
    static final int MAV = 1 << 4;
    /** STB bit 5: event status summary. */
    static final int ESB = 1 << 5;
    /** STB bit 6: master summary status. */
    static final int MSS = 1 << 6;

    /** A complete program message and the device-clear generation it arrived in. */
    record Message(String text, long generation) {
    }

    /** A response message being read, possibly in several parts. */
    private static final class Response {

        private final byte[] bytes;
        private int position;

        Response(byte[] bytes) {
            this.bytes = bytes;
        }

        int copyTo(byte[] buffer, int offset, int length) {
            int count = Math.min(length, bytes.length - position);
            System.arraycopy(bytes, position, buffer, offset, count);
            position += count;
            return count;
        }

        boolean consumed() {
            return position == bytes.length;
        }
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    // Fair, so that waiting writers get their messages executed in arrival order
    private final ReentrantLock processor = new ReentrantLock(true);

    /** The input buffer's size while messages are short, and the most it keeps after a longer one. */
    private static final int INPUT_START = 256;
    private static final int INPUT_KEPT = 8 * 1024;

    /** The input buffer: grows with a long message up to its limit, and is let go after it. */
    private byte[] input = new byte[INPUT_START];
    private int inputLength;
    private final int inputLimit;
    /** The message in the input buffer outgrew it: its bytes are discarded up to its terminator. */
    private boolean overrun;
    private final ArrayDeque<Response> output = new ArrayDeque<>();
    private final ErrorQueue errors;
    private int esr;
    private int ese;
    private int sre;
    private boolean opcArmed;
    private long opcDeadline;
    /** Incremented by device clear; messages and waits of an older generation are discarded. */
    private long generation;

    MessageExchange(int errorQueueCapacity, int inputLimit) {
        this.errors = new ErrorQueue(errorQueueCapacity);
        this.inputLimit = inputLimit;
    }

    ReentrantLock processor() {
        return processor;
    }

    /**
     * Appends bytes to the input buffer. A newline completes a program message, and so does
     * {@code end} (IEEE 488.2 accepts NL, END, or both as the terminator). A message longer than
     * the input buffer is an overrun: its bytes are dropped as they come, and at its terminator
     * -363 "Input buffer overrun" is queued instead of executing it, so the buffer never grows past
     * its limit whatever a client sends; and a buffer grown for a long message is let go when the
     * message is taken or overruns, so it does not stay at megabytes for the rest of the connection.
     *
     * @return the program messages this write completed, in order; blank ones are dropped
     */
    List<Message> accept(byte[] data, int offset, int length, boolean end) {
        List<Message> complete = new ArrayList<>(1);
        lock.lock();
        try {
            int start = offset;
            for (int i = offset; i < offset + length; i++) {
                if (data[i] == '\n') {
                    append(data, start, i - start);
                    takeMessage(complete);
                    start = i + 1;
                }
            }
            append(data, start, offset + length - start);
            if (end) {
                takeMessage(complete);
            }
        } finally {
            lock.unlock();
        }
        return complete;
    }

    /** Adds bytes of the message being received, or drops them once it has outgrown the buffer. */
    private void append(byte[] data, int offset, int count) {
        if (overrun || count == 0) {
            return; // discarded up to the terminator
        }
        if (count > inputLimit - inputLength) {
            overrun = true;
            clearInput(); // nothing more of this message is kept, and an endless one never ends
            return;
        }
        if (input.length < inputLength + count) {
            input = Arrays.copyOf(input, (int) Math.min(inputLimit, Math.max(inputLength + count, 2L * input.length)));
        }
        System.arraycopy(data, offset, input, inputLength, count);
        inputLength += count;
    }

    /** Empties the input buffer, letting go of one grown for a long message. */
    private void clearInput() {
        inputLength = 0;
        if (input.length > INPUT_KEPT) {
            input = new byte[INPUT_START];
        }
    }

    /** @return the bytes the input buffer holds now (tests look at it) */
    int inputCapacity() {
        lock.lock();
        try {
            return input.length;
        } finally {
            lock.unlock();
        }
    }

    private void takeMessage(List<Message> into) {
        if (overrun) {
            overrun = false;
            queueErrorLocked(ScpiError.INPUT_BUFFER_OVERRUN);
            return;
        }
        String text = new String(input, 0, inputLength, StandardCharsets.ISO_8859_1);
        clearInput();
        if (!text.isBlank()) {
            into.add(new Message(text, generation));
        }
    }

    /**
     * Called with the processor held when a message starts executing: applies IEEE 488.2
     * 6.3.2.3, a new message while a response is unread clears the output queue and queues -410.
     *
     * @return {@code false} when a device clear discarded the message before it got its turn
     */
    boolean begin(Message message) {
        lock.lock();
        try {
            if (message.generation() != generation) {
                return false;
            }
            if (!output.isEmpty()) {
                output.clear();
                queueErrorLocked(ScpiError.QUERY_INTERRUPTED);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Puts a message's query answers in the output queue as one response message. */
    void complete(Message message, List<String> responses) {
        if (responses.isEmpty()) {
            return;
        }
        byte[] bytes = (String.join(";", responses) + "\n").getBytes(StandardCharsets.ISO_8859_1);
        lock.lock();
        try {
            if (message.generation() == generation) {
                output.addLast(new Response(bytes));
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Reads from the response at the head of the output queue, waiting up to {@code timeout} for
     * one. Never crosses into the next response message.
     *
     * @throws TimeoutException when no response arrived in time; -420 is queued
     * @throws IOException when {@code reader} is or gets closed
     */
    SimRead read(byte[] buffer, int offset, int length, Duration timeout, ExchangeConnection reader)
            throws IOException, TimeoutException, InterruptedException {
        long remaining = nanos(timeout);
        lock.lockInterruptibly();
        try {
            while (true) {
                reader.ensureOpen();
                Response head = output.peekFirst();
                if (head != null) {
                    int count = head.copyTo(buffer, offset, length);
                    boolean end = head.consumed();
                    if (end) {
                        output.removeFirst();
                    }
                    return new SimRead(count, end);
                }
                if (remaining <= 0L) {
                    queueErrorLocked(ScpiError.QUERY_UNTERMINATED);
                    throw new TimeoutException("no response message within " + timeout
                            + "; the instrument queued -420,\"Query UNTERMINATED\"");
                }
                remaining = changed.awaitNanos(remaining);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits, as the command processor, until {@code deadline} (a {@link System#nanoTime()} value,
     * read again after every wake-up because it may move).
     *
     * @throws IOException when {@code connection} is or gets closed
     * @throws MessageDiscarded when a device clear discards the executing message
     */
    void awaitUntil(LongSupplier deadline, ExchangeConnection connection, long messageGeneration)
            throws IOException, InterruptedException {
        lock.lockInterruptibly();
        try {
            while (true) {
                connection.ensureOpen();
                if (messageGeneration != generation) {
                    throw new MessageDiscarded();
                }
                long remaining = deadline.getAsLong() - System.nanoTime();
                if (remaining <= 0L) {
                    return;
                }
                changed.awaitNanos(remaining);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * IEEE 488.2 device clear: empties the input buffer and output queue, discards the message
     * being executed and returns the {@code *OPC} state machine to idle. The error queue and
     * status registers are kept.
     */
    void clear() {
        lock.lock();
        try {
            clearInput();
            overrun = false;
            output.clear();
            generation++;
            opcArmed = false;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Wakes every waiter so it re-checks its connection, its message and its deadline. */
    void wake() {
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void queueError(ScpiError error) {
        lock.lock();
        try {
            queueErrorLocked(error);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Queues an error as recorded, e.g. {@code -222,"Data out of range"}, setting the ESR bit its number
     * says (none when it does not start with one).
     */
    void queueRecordedError(String entry) {
        int comma = entry.indexOf(',');
        int mask = 0;
        try {
            mask = ScpiError.esrMask(Integer.parseInt((comma < 0 ? entry : entry.substring(0, comma)).strip()));
        } catch (NumberFormatException e) {
            // not a SCPI error number: queued as it is, with no status bit
        }
        lock.lock();
        try {
            errors.add(entry);
            esr |= mask;
        } finally {
            lock.unlock();
        }
    }

    private void queueErrorLocked(ScpiError error) {
        errors.add(error);
        esr |= error.esrMask();
    }

    /** {@code SYSTem:ERRor?}: the oldest entry, removed. */
    String nextError() {
        lock.lock();
        try {
            return errors.next();
        } finally {
            lock.unlock();
        }
    }

    /** {@code *CLS}: empties the error queue, clears the ESR and cancels a pending {@code *OPC}. */
    void clearStatus() {
        lock.lock();
        try {
            errors.clear();
            esr = 0;
            opcArmed = false;
        } finally {
            lock.unlock();
        }
    }

    /** {@code *OPC}: ESR bit 0 gets set once {@code operationsEnd} (nano time) has passed. */
    void armOperationComplete(long operationsEnd) {
        lock.lock();
        try {
            opcArmed = true;
            opcDeadline = operationsEnd;
        } finally {
            lock.unlock();
        }
    }

    void disarmOperationComplete() {
        lock.lock();
        try {
            opcArmed = false;
        } finally {
            lock.unlock();
        }
    }

    /** The instrument's pending operations were cancelled at {@code now}: they are complete. */
    void operationsCancelled(long now) {
        lock.lock();
        try {
            if (opcArmed && opcDeadline - now > 0) {
                opcDeadline = now;
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** {@code *ESR?}: the register, then cleared. */
    int takeEventStatus() {
        lock.lock();
        try {
            updateOperationComplete();
            int value = esr;
            esr = 0;
            return value;
        } finally {
            lock.unlock();
        }
    }

    /**
     * {@code *STB?}.
     *
     * @param responsePending whether the executing message already produced query answers, which
     *        a real device would have in its output queue
     */
    int statusByte(boolean responsePending) {
        lock.lock();
        try {
            updateOperationComplete();
            int stb = 0;
            if (!errors.isEmpty()) {
                stb |= EAV;
            }
            if (responsePending || !output.isEmpty()) {
                stb |= MAV;
            }
            if ((esr & ese) != 0) {
                stb |= ESB;
            }
            if ((stb & sre) != 0) {
                stb |= MSS;
            }
            return stb;
        } finally {
            lock.unlock();
        }
    }

    private void updateOperationComplete() {
        if (opcArmed && System.nanoTime() - opcDeadline >= 0) {
            esr |= OPC;
            opcArmed = false;
        }
    }

    int eventStatusEnable() {
        lock.lock();
        try {
            return ese;
        } finally {
            lock.unlock();
        }
    }

    void eventStatusEnable(int mask) {
        lock.lock();
        try {
            ese = mask;
        } finally {
            lock.unlock();
        }
    }

    int serviceRequestEnable() {
        lock.lock();
        try {
            return sre;
        } finally {
            lock.unlock();
        }
    }

    /** Bit 6 (MSS) cannot be enabled, as IEEE 488.2 11.3.2.3 requires. */
    void serviceRequestEnable(int mask) {
        lock.lock();
        try {
            sre = mask & ~MSS;
        } finally {
            lock.unlock();
        }
    }

    /** {@link Duration#toNanos()} that saturates instead of overflowing; negative is zero. */
    static long nanos(Duration duration) {
        if (duration.isNegative()) {
            return 0L;
        }
        try {
            return duration.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }
}
