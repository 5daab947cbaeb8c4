package org.labhal.runtime.internal.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.lock.LockPolicy;

/** The sessiontest verdicts against fake instruments that behave as the three kinds of real ones. */
class SessionProbeTest {
    private static final String IDN = "ACME,BOX-1,42,1.0";

    /** An instrument's answers to the probe's questions; echo only if it is a simulator. */
    private static String answer(String message, boolean echo) {
        if (message.startsWith("SIM:ECHO? ")) {
            return echo ? message.substring(10) : null;
        }
        return switch (message) {
            case "*IDN?" -> IDN;
            case "SYST:ERR?" -> "0,\"No error\"";
            default -> null;
        };
    }

    /** A link with its own output queue, or a shared one. */
    private static class FakeLink implements SessionProbe.Link {
        private final Deque<String> output;
        private final boolean echo;
        private final boolean silent;

        FakeLink(Deque<String> output, boolean echo, boolean silent) {
            this.output = output;
            this.echo = echo;
            this.silent = silent;
        }

        @Override
        public void send(String message) {
            synchronized (output) {
                output.clear(); // a new message discards an unread response, as IEEE 488.2 says
                String response = silent ? null : answer(message, echo);
                if (response != null) {
                    output.add(response);
                }
            }
        }

        @Override
        public String receive() throws LabHalException {
            synchronized (output) {
                String response = output.poll();
                if (response == null) {
                    throw new IoTimeoutException("no answer", Duration.ofMillis(1));
                }
                return response;
            }
        }

        @Override
        public void drain() {
            synchronized (output) {
                output.clear();
            }
        }

        @Override
        public void close() {
        }
    }

    @Test
    void separateBuffersAreIndependentSessions() throws Exception {
        SessionProbe.Verdict verdict = new SessionProbe(3, true)
                .run(() -> new FakeLink(new ArrayDeque<>(), true, false));
        assertEquals(Optional.of(LockPolicy.INDEPENDENT_SESSIONS), verdict.policy());
        assertEquals("SIM:ECHO? tokens", verdict.method());
        assertTrue(verdict.evidence().contains(
                "round 2: A asked SIM:ECHO? a2 and got \"a2\" (its own answer); B asked SIM:ECHO? b2 and got \"b2\" "
                        + "(its own answer)"), verdict.evidence().toString());
    }

    @Test
    void oneBufferForBothIsSharedBuffer() throws Exception {
        Deque<String> shared = new ArrayDeque<>();
        SessionProbe.Verdict verdict = new SessionProbe(3, true).run(() -> new FakeLink(shared, true, false));
        assertEquals(Optional.of(LockPolicy.SHARED_BUFFER), verdict.policy());
        assertTrue(verdict.evidence().stream().anyMatch(l -> l.contains("got \"b1\" (the other session's answer)")),
                verdict.evidence().toString());
    }

    @Test
    void aRealInstrumentIsAskedIdnAgainstTheErrorQueue() throws Exception {
        SessionProbe.Verdict independent = new SessionProbe(2, true)
                .run(() -> new FakeLink(new ArrayDeque<>(), false, false));
        assertEquals(Optional.of(LockPolicy.INDEPENDENT_SESSIONS), independent.policy());
        assertEquals("*IDN? against SYST:ERR?", independent.method());

        Deque<String> shared = new ArrayDeque<>();
        SessionProbe.Verdict crossed = new SessionProbe(2, false).run(() -> new FakeLink(shared, false, false));
        assertEquals(Optional.of(LockPolicy.SHARED_BUFFER), crossed.policy());
    }

    @Test
    void aRefusedSecondConnectionIsSingleConnection() throws Exception {
        AtomicInteger opened = new AtomicInteger();
        SessionProbe.Verdict verdict = new SessionProbe(3, true).run(() -> {
            if (opened.incrementAndGet() > 1) {
                throw new ConnectionLostException("connection refused by 10.0.0.5:5025", null);
            }
            return new FakeLink(new ArrayDeque<>(), true, false);
        });
        assertEquals(Optional.of(LockPolicy.SINGLE_CONNECTION), verdict.policy());
        assertTrue(verdict.evidence().get(verdict.evidence().size() - 1).contains("connection refused"),
                verdict.evidence().toString());
    }

    @Test
    void anAcceptedButSilentSecondConnectionIsSingleConnection() throws Exception {
        AtomicInteger opened = new AtomicInteger();
        SessionProbe.Verdict verdict = new SessionProbe(3, true)
                .run(() -> new FakeLink(new ArrayDeque<>(), true, opened.incrementAndGet() > 1));
        assertEquals(Optional.of(LockPolicy.SINGLE_CONNECTION), verdict.policy());
        assertTrue(verdict.evidence().get(verdict.evidence().size() - 1).contains("never answered"));
    }

    @Test
    void anInstrumentThatNeverAnswersIsUndecided() throws Exception {
        SessionProbe.Verdict verdict = new SessionProbe(2, false).run(new SessionProbe.Opener() {
            private int count;

            @Override
            public SessionProbe.Link open() {
                return new FakeLink(new ArrayDeque<>(), false, count++ > 0) {
                    @Override
                    public String receive() {
                        return "noise " + (++count); // never the same twice, never anybody's answer
                    }
                };
            }
        });
        assertEquals(Optional.empty(), verdict.policy());
    }
}
