package org.labhal.transport.hislip.internal;

/**
 * The client's HiSLIP message ids (IVI-6.1 3.1.2 "Synchronized Mode Client Requirements", 3.2.2
 * "Overlap Mode Client Requirements") and the decision which Data/DataEND from the instrument
 * answers what was sent.
 *
 * <p>Every Data, DataEND and Trigger sent takes the next id, from {@link #FIRST} stepping by 2 in
 * the unsigned 32-bit sense; a device clear starts them again (an <em>epoch</em>). The instrument
 * tags each response with the id of the message that produced it ({@link #UNSOLICITED} for data no
 * message asked for). A response is then:
 * <ul>
 * <li><b>accepted</b>: synchronized mode, it answers the last message sent; overlapped mode, it
 * answers a message sent in this epoch, not before the last response accepted (the instrument
 * answers in order), and not one whose reader gave up;</li>
 * <li><b>stale</b>, discarded: it answers a message sent earlier in this epoch (synchronized mode:
 * any but the last; overlapped mode: one abandoned by a read that timed out before the caller sent
 * again), or a message of the epoch before the last device clear;</li>
 * <li><b>unexpected</b>: an id this client never sent, or (overlapped) an answer older than one
 * already received. The instrument and the client disagree about what was asked, so no answer can
 * be trusted to belong to its question: a protocol error.</li>
 * </ul>
 * Ids are told apart by their position in the epoch; more than 2^31 messages in one epoch would make
 * them repeat, which no connection reaches (at a million messages a second, 36 minutes without a
 * single device clear only gets a quarter of the way).
 *
 * <p>Not thread-safe: the synchronous side's owner uses it; {@link #statusQueryParameter()} reads a
 * volatile snapshot for the asynchronous side.
 */
final class MessageIds {
    /** The first message id of an epoch. */
    static final int FIRST = 0xFFFFFF00;
    /** "Before the first": the last-sent and last-delivered id when there is none in this epoch. */
    static final int NONE = FIRST - 2;
    /** The id of Data the instrument sends without a message asking for it. */
    static final int UNSOLICITED = 0xFFFFFFFF;

    /** What to do with a response. */
    enum Verdict {
        ACCEPT, STALE, UNEXPECTED
    }

    private boolean overlapped;
    private long sent; // messages sent in this epoch
    private long sentBefore; // messages sent in the epoch before the last device clear
    private long lastAccepted = -1; // index in this epoch, -1 for none
    private long abandonedThrough = -1; // overlapped: indices up to this one are abandoned
    private long abandonOnNextSend = -1; // overlapped: set by a read that timed out
    private volatile int lastSentId = NONE;
    private volatile int lastDeliveredId = NONE;

    MessageIds(boolean overlapped) {
        this.overlapped = overlapped;
    }

    /** @return the id for the next Data, DataEND or Trigger, counting it as sent */
    int next() {
        if (abandonOnNextSend >= 0) {
            abandonedThrough = Math.max(abandonedThrough, abandonOnNextSend);
            abandonOnNextSend = -1;
        }
        int id = idAt(sent);
        sent++;
        lastSentId = id;
        return id;
    }

    /** @return the id of the last message sent in this epoch, or {@link #NONE} */
    int lastSent() {
        return lastSentId;
    }

    /** @return whether anything was sent since the connection opened or the last device clear */
    boolean anySent() {
        return sent > 0;
    }

    boolean overlapped() {
        return overlapped;
    }

    /**
     * The message parameter of AsyncStatusQuery: in overlapped mode the id of the last response
     * delivered whole to the caller (3.2.2 rule 1), in synchronized mode the last id sent.
     */
    int statusQueryParameter() {
        return overlapped ? lastDeliveredId : lastSentId;
    }

    /** @return how a response with this id is to be treated */
    Verdict classify(int id) {
        if (id == UNSOLICITED) {
            return Verdict.ACCEPT;
        }
        long index = indexOf(id);
        if (index < sent) {
            if (!overlapped) {
                return index == sent - 1 ? Verdict.ACCEPT : Verdict.STALE;
            }
            if (index <= abandonedThrough) {
                return Verdict.STALE;
            }
            return index < lastAccepted ? Verdict.UNEXPECTED : Verdict.ACCEPT;
        }
        return index < sentBefore ? Verdict.STALE : Verdict.UNEXPECTED;
    }

    /** Records that a response (or a fragment of one) with this id was taken. */
    void accepted(int id) {
        if (id != UNSOLICITED) {
            lastAccepted = Math.max(lastAccepted, indexOf(id));
        }
        abandonOnNextSend = -1; // a read got an answer after all: nothing was given up
    }

    /** Records that a whole response with this id reached the caller. */
    void delivered(int id) {
        if (id != UNSOLICITED) {
            lastDeliveredId = id;
        }
    }

    /**
     * A read timed out: in overlapped mode, the answers to everything sent so far are given up once
     * the caller sends again (a repeated read before that still gets them). Synchronized mode needs
     * nothing: sending again makes them stale anyway.
     */
    void readTimedOut() {
        if (overlapped && sent > 0) {
            abandonOnNextSend = sent - 1;
        }
    }

    /** A device clear finished: a new epoch in the mode the instrument acknowledged. */
    void cleared(boolean overlappedNow) {
        overlapped = overlappedNow;
        sentBefore = sent;
        sent = 0;
        lastAccepted = -1;
        abandonedThrough = -1;
        abandonOnNextSend = -1;
        lastSentId = NONE;
        lastDeliveredId = NONE;
    }

    /** @return why a response with this id is unexpected, naming what was expected and what came */
    String describeUnexpected(int id) {
        String got = "the instrument sent a response with message id " + hex(id);
        if (sent == 0) {
            return got + ", but nothing was sent since the " + (sentBefore > 0 ? "last device clear" : "connection opened")
                    + (sentBefore > 0 ? " and that id is not one of " + range(sentBefore) + " sent before it" : "");
        }
        if (!overlapped) {
            return got + " while the response to message id " + hex(lastSentId)
                    + " (the last one sent) was expected; ids sent in this epoch are " + range(sent);
        }
        long index = indexOf(id);
        if (index < sent) {
            return got + " after already receiving the response to message id " + hex(idAt(lastAccepted))
                    + ": overlapped responses must come in the order of the messages; expected an id from "
                    + hex(idAt(lastAccepted)) + " to " + hex(lastSentId);
        }
        return got + ", which this client never sent: expected an id from "
                + hex(idAt(Math.max(Math.max(lastAccepted, abandonedThrough + 1), 0))) + " to " + hex(lastSentId);
    }

    private static String range(long count) {
        return count == 1 ? hex(FIRST) : hex(FIRST) + " to " + hex(idAt(count - 1));
    }

    /** @return the position of an id in an epoch: 0 for {@link #FIRST}, 1 for the next, ...; odd ids far away */
    private static long indexOf(int id) {
        long distance = Integer.toUnsignedLong(id - FIRST);
        return (distance & 1) == 0 ? distance >>> 1 : Long.MAX_VALUE;
    }

    private static int idAt(long index) {
        return FIRST + (int) (index * 2);
    }

    static String hex(int id) {
        return String.format("0x%08X", id);
    }
}
