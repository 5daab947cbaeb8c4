package org.labhal.transport.hislip.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.transport.hislip.internal.MessageIds.Verdict.ACCEPT;
import static org.labhal.transport.hislip.internal.MessageIds.Verdict.STALE;
import static org.labhal.transport.hislip.internal.MessageIds.Verdict.UNEXPECTED;

import org.junit.jupiter.api.Test;

/** Which response belongs to which message, in both modes (IVI-6.1 3.1.2, 3.2.2), without sockets. */
class MessageIdsTest {
    private static final int F = MessageIds.FIRST;

    @Test
    void idsStartAt0xFFFFFF00StepByTwoAndWrap() {
        MessageIds ids = new MessageIds(false);
        assertEquals(MessageIds.NONE, ids.lastSent());
        assertFalse(ids.anySent());
        assertEquals(0xFFFFFF00, ids.next());
        assertEquals(0xFFFFFF02, ids.next());
        for (int i = 2; i < 128; i++) {
            ids.next();
        }
        assertEquals(0xFFFFFFFE, ids.lastSent());
        assertEquals(0x00000000, ids.next(), "wraps in the unsigned 32-bit sense");
        assertEquals(ACCEPT, ids.classify(0x00000000));
        assertEquals(STALE, ids.classify(0xFFFFFFFE), "the message before the wrap is older, not newer");
        assertEquals(UNEXPECTED, ids.classify(0x00000002), "not sent yet");
    }

    @Test
    void synchronizedModeTakesOnlyTheAnswerToTheLastMessage() {
        MessageIds ids = new MessageIds(false);
        ids.next();
        ids.next();
        int last = ids.next();
        assertEquals(ACCEPT, ids.classify(last));
        assertEquals(STALE, ids.classify(F), "an answer to an earlier message");
        assertEquals(STALE, ids.classify(F + 2));
        assertEquals(ACCEPT, ids.classify(MessageIds.UNSOLICITED));
        assertEquals(UNEXPECTED, ids.classify(last + 2), "never sent");
        assertEquals(UNEXPECTED, ids.classify(F + 1), "odd ids are never sent");
        String why = ids.describeUnexpected(last + 2);
        assertTrue(why.contains("0xFFFFFF06") && why.contains("0xFFFFFF04"), why);
        assertEquals(last, ids.statusQueryParameter(), "synchronized mode: the last id sent");
    }

    @Test
    void nothingSentMeansEveryIdButUnsolicitedIsUnexpected() {
        MessageIds ids = new MessageIds(false);
        assertEquals(UNEXPECTED, ids.classify(F));
        assertEquals(ACCEPT, ids.classify(MessageIds.UNSOLICITED));
        assertTrue(ids.describeUnexpected(F).contains("nothing was sent since the connection opened"),
                ids.describeUnexpected(F));
    }

    @Test
    void answersFromBeforeADeviceClearAreStaleInTheNewEpoch() {
        MessageIds ids = new MessageIds(false);
        for (int i = 0; i < 5; i++) {
            ids.next(); // F .. F+8
        }
        ids.cleared(false);
        assertEquals(MessageIds.NONE, ids.lastSent());
        assertEquals(STALE, ids.classify(F + 8), "sent before the clear, not since");
        assertEquals(UNEXPECTED, ids.classify(F + 10), "sent in neither epoch");
        assertTrue(ids.describeUnexpected(F + 10).contains("last device clear"), ids.describeUnexpected(F + 10));
        assertEquals(F, ids.next(), "ids start again after a clear");
        assertEquals(ACCEPT, ids.classify(F));
        assertEquals(STALE, ids.classify(F + 8), "still from the old epoch");
    }

    @Test
    void overlappedModeTakesAnswersInTheOrderOfTheMessages() {
        MessageIds ids = new MessageIds(true);
        int a = ids.next();
        int b = ids.next();
        int c = ids.next();
        assertEquals(ACCEPT, ids.classify(a), "pipelined: the first answer is the first message's");
        ids.accepted(a);
        assertEquals(ACCEPT, ids.classify(a), "more fragments or responses of the same message");
        assertEquals(ACCEPT, ids.classify(c), "b was a command without a response");
        ids.accepted(c);
        assertEquals(UNEXPECTED, ids.classify(b), "older than an answer already received");
        String why = ids.describeUnexpected(b);
        assertTrue(why.contains("0xFFFFFF02") && why.contains("0xFFFFFF04") && why.contains("order"), why);
        assertEquals(UNEXPECTED, ids.classify(c + 2), "never sent");
    }

    @Test
    void overlappedAnswersToATimedOutReadAreGivenUpOnlyWhenTheCallerSendsAgain() {
        MessageIds ids = new MessageIds(true);
        int old = ids.next();
        ids.readTimedOut();
        assertEquals(ACCEPT, ids.classify(old), "a repeated read still gets it");

        ids.readTimedOut();
        int fresh = ids.next(); // the caller moved on
        assertEquals(STALE, ids.classify(old));
        assertEquals(ACCEPT, ids.classify(fresh));

        ids.readTimedOut();
        ids.accepted(fresh); // a repeated read got its answer after all: nothing is given up
        int third = ids.next();
        assertEquals(ACCEPT, ids.classify(fresh));
        assertEquals(ACCEPT, ids.classify(third));
    }

    @Test
    void overlappedStatusQueryCarriesTheLastDeliveredResponse() {
        MessageIds ids = new MessageIds(true);
        assertEquals(MessageIds.NONE, ids.statusQueryParameter());
        int a = ids.next();
        ids.next();
        ids.accepted(a);
        ids.delivered(a);
        assertEquals(a, ids.statusQueryParameter(), "not the last sent (3.2.2 rule 1)");
        ids.cleared(true);
        assertEquals(MessageIds.NONE, ids.statusQueryParameter());
    }

    @Test
    void aDeviceClearMaySwitchTheMode() {
        MessageIds ids = new MessageIds(false);
        ids.cleared(true);
        assertTrue(ids.overlapped());
        int a = ids.next();
        int b = ids.next();
        assertEquals(ACCEPT, ids.classify(a), "overlapped now: not stale although b was sent since");
        ids.cleared(false);
        assertFalse(ids.overlapped());
        assertEquals(F, ids.next());
        assertEquals(STALE, ids.classify(b));
    }
}
