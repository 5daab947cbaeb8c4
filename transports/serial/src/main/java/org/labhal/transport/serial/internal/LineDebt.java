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
 * it may draw an answer, which is then owed.</li>
 * <li><b>Unsettled</b>: the last connection ended while the instrument kept sending. The next
 * connection drains until the line falls quiet before its first step, and counts nothing.</li>
 * </ul>
 *
 * <p>One connection at a time is open on a device; the one closing and the one opening may still
 * overlap by a moment (a write watchdog closes the port under its writer), so every method is
 * synchronised.
 */
final class LineDebt {
    private int owed;
    private long owedSince; // System.nanoTime() when reads began missing answers; meaningful while owed > 0
    private boolean fragment;
    private boolean fragmentAsks;
    private boolean unsettled;

    /** A read gave up on its answer, or on the rest of one: it is discarded when it comes. */
    synchronized void owe() {
        if (owed == 0) {
            owedSince = System.nanoTime();
        }
        owed++;
    }

    /** A message nobody asked for ended (a read took it or a discard ate it): one debt less. */
    synchronized void paid() {
        if (owed > 0) {
            owed--;
        }
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

    /** The termination after the fragment went out: its answer, if it may draw one, is owed. */
    synchronized void fragmentEnded() {
        boolean asks = fragmentAsks;
        fragment = false;
        fragmentAsks = false;
        if (asks) {
            owe();
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
        return owed == 0 && !fragment && !unsettled;
    }

    @Override
    public synchronized String toString() {
        return "owed " + owed + (fragment ? ", a fragment" + (fragmentAsks ? " with a query" : "") : "")
                + (unsettled ? ", unsettled" : "");
    }
}
