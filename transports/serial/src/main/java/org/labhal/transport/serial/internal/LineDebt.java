package org.labhal.transport.serial.internal;

import java.time.Duration;

import org.labhal.api.transport.Deadline;

/**
 * What the instrument on one serial device still owes this side, or still holds from it, carried
 * from one connection on the device to the next. Closing and reopening a serial port does not
 * reset the instrument: an answer given up on arrives on the next port opened, and a message cut
 * short waits in the instrument's parser for the rest. So this lives with the device in the
 * factory, not with the connection.
 *
 * <ul>
 * <li><b>Owed answers</b>: messages (each ending with the read termination) that reads gave up on.
 * A read that follows a write discards them, however late they come, before it reads its own;
 * they are forgotten once {@code late_ms} have passed since reads began missing answers without
 * one getting its own answer since (the instrument may never send them).</li>
 * <li><b>A fragment</b>: part of a message went out when its write failed. The next write ends it
 * with the write termination first, so the instrument parses it as a message of its own (and
 * reports its error) instead of joining the next command to it; when the fragment held a {@code ?}
 * it may draw an answer or not, so the line is then out of step (below).</li>
 * <li><b>Unsettled</b>: the last connection ended while the instrument kept sending. The next
 * connection drains until the line falls quiet before its first step, and counts nothing.</li>
 * <li><b>Out of step</b>: the line cannot tell whether the instrument will still send something,
 * so the debt is dropped and no message goes out until the line has been silent for
 * {@code late_ms}: whatever the instrument still owed has come (and was thrown away) or never will,
 * and the next answer is the next question's. Three things put a line out of step. A read that got
 * part of its answer and then nothing until its timeout: the answer's end was lost (a cut or
 * corrupted terminator) or its rest is late. {@value #MISSES_OUT_OF_STEP} reads in a row that gave
 * up on their own answer after a message paid an earlier debt: the mark of an end lost where no read
 * saw it, which joined the next answer into one message that paid the debt, so that each question
 * waits for an answer already taken, times out and owes one again, for good; an instrument whose
 * every answer comes later than the I/O timeout looks the same, and there merely forgetting the debt
 * would hand its late answer to the next question. And a fragment with a {@code ?} ended by the
 * write termination, which may draw an answer or not.</li>
 * </ul>
 *
 * <p>One connection at a time is open on a device; the one closing and the one opening may still
 * overlap by a moment (a write watchdog closes the port under its writer), so every method is
 * synchronised.
 */
final class LineDebt {
    /** Reads in a row that missed their own answer, each after a debt was paid, that put the line out of step. */
    static final int MISSES_OUT_OF_STEP = 3;

    private int owed;
    private long owedSince; // System.nanoTime() when reads began missing answers; meaningful while owed > 0
    private boolean fragment;
    private boolean fragmentAsks;
    private boolean unsettled;
    private boolean paidSinceMiss; // a debt was paid since the last read that missed its own answer
    private int paidMisses; // reads in a row that missed their own answer after a debt was paid
    private volatile boolean outOfStep;
    private long heardAt; // System.nanoTime() of the last input seen while out of step

    /**
     * A read gave up on its answer, or on the rest of one: it is discarded when it comes. Nothing is
     * counted while out of step: the silence the next question waits for covers it.
     */
    synchronized void owe() {
        if (outOfStep) {
            return;
        }
        if (owed == 0) {
            owedSince = System.nanoTime();
        }
        owed++;
    }

    /**
     * A read that waited for the answer to its own question timed out: that answer is owed, or, when
     * part of it had come or this is the {@value #MISSES_OUT_OF_STEP}th such read in a row to miss
     * after a debt was paid, the line is out of step (see the class comment).
     *
     * @param partAnswered whether part of the answer had come
     */
    synchronized void missed(boolean partAnswered) {
        owe();
        paidMisses = paidSinceMiss ? paidMisses + 1 : 0;
        paidSinceMiss = false;
        if (partAnswered || paidMisses >= MISSES_OUT_OF_STEP) {
            outOfStep();
        }
    }

    /** Nothing owed can be counted any more: the next message waits for {@code late_ms} of silence. */
    private void outOfStep() {
        paidMisses = 0;
        paidSinceMiss = false;
        owed = 0;
        outOfStep = true;
        heardAt = System.nanoTime();
    }

    /** A message nobody asked for ended (a read took it or a discard ate it): one debt less. */
    synchronized void paid() {
        if (owed > 0) {
            owed--;
            paidSinceMiss = true;
        }
    }

    /** @return whether no question may go out until the line has been silent for {@code late_ms} */
    boolean isOutOfStep() {
        return outOfStep;
    }

    /** Input arrived (and was thrown away) while out of step: the silence starts again. */
    synchronized void heard() {
        heardAt = System.nanoTime();
    }

    /**
     * The caller read what had arrived first ({@link #heard}), so that input the kernel holds counts.
     *
     * @param late the silence that puts an out-of-step line back in step
     * @return the silence still needed, in nanoseconds; 0 when the line is in step (again)
     */
    synchronized long silenceNeeded(Duration late) {
        if (!outOfStep) {
            return 0;
        }
        long left = Deadline.nanos(late) - (System.nanoTime() - heardAt);
        if (left > 0) {
            return left;
        }
        outOfStep = false; // in step with nothing owed: whatever was owed has come and gone, or never will
        owed = 0;
        paidMisses = 0;
        paidSinceMiss = false;
        return 0;
    }

    /**
     * @param late how long a debt is kept since reads began missing answers
     * @return the messages still owed, after forgetting a debt older than {@code late}
     */
    synchronized int owed(Duration late) {
        if (owed > 0 && System.nanoTime() - owedSince >= Deadline.nanos(late)) {
            owed = 0;
        }
        return owed;
    }

    /** The age of the debt restarts: a read got its own answer, so the instrument answers again. */
    synchronized void inStep() {
        if (owed > 0) {
            owedSince = System.nanoTime();
        }
        paidMisses = 0;
        paidSinceMiss = false;
    }

    /** Part of a message went out and the rest never will. */
    synchronized void fragment(boolean asks) {
        fragment = true;
        fragmentAsks |= asks;
    }

    /**
     * Takes the fragment for ending: the caller writes the termination and, on success, calls
     * {@link #fragmentEnded()}.
     *
     * @return whether a fragment waits to be ended
     */
    synchronized boolean hasFragment() {
        return fragment;
    }

    /** The termination after the fragment went out: when it may draw an answer, the line is out of step. */
    synchronized void fragmentEnded() {
        boolean asks = fragmentAsks;
        fragment = false;
        fragmentAsks = false;
        if (asks) {
            outOfStep();
        }
    }

    /** The instrument would not stop sending: nothing can be counted until it falls quiet. */
    synchronized void unsettled() {
        unsettled = true;
        owed = 0;
    }

    /** @return whether the line must be drained to quiet before a step */
    synchronized boolean isUnsettled() {
        return unsettled;
    }

    /** The line fell quiet after it was unsettled. */
    synchronized void settled() {
        unsettled = false;
    }

    /** @return whether nothing is owed or held: a new port may throw away stale input */
    synchronized boolean isClean() {
        return owed == 0 && !fragment && !unsettled && !outOfStep;
    }

    @Override
    public synchronized String toString() {
        return "owed " + owed + (fragment ? ", a fragment" + (fragmentAsks ? " with a query" : "") : "")
                + (unsettled ? ", unsettled" : "") + (outOfStep ? ", out of step" : "");
    }
}
