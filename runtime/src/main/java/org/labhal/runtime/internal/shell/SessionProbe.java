package org.labhal.runtime.internal.shell;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.lock.LockPolicy;

/**
 * Finds out how an instrument treats two sessions, as {@code instr:sessiontest} reports it. Two
 * sessions are opened without any lock between them; each round, session A sends a question,
 * session B sends another, and only then does each read. An instrument that keeps sessions apart
 * answers each its own question ({@link LockPolicy#INDEPENDENT_SESSIONS}); one with a single set of
 * buffers hands one session the other's answer or drops one ({@link LockPolicy#SHARED_BUFFER}); one
 * that takes a single connection refuses the second, leaves it unanswered until the first closes, or
 * lets it take over the first ({@link LockPolicy#SINGLE_CONNECTION}). Once the second session's
 * question goes unanswered, nothing more is asked on it: the first session closes to let the
 * instrument answer it, so that no question is left for the instrument to answer into a closed socket. Questions are {@code SIMulation:ECHO? <token>} where the
 * instrument has it (simulators), else {@code *IDN?} against {@code SYSTem:ERRor?}, whose answers look
 * nothing alike.
 */
final class SessionProbe {

    /** One unsynchronised session to the instrument. */
    interface Link extends AutoCloseable {
        /**
         * @param message a program message, sent at once
         * @throws LabHalException when sending fails
         */
        void send(String message) throws LabHalException;

        /**
         * @return the next response
         * @throws IoTimeoutException when none came in time
         * @throws LabHalException when reading fails otherwise
         */
        String receive() throws LabHalException;

        /** Discards anything unread, ignoring failures. */
        void drain();

        /** Closes the link; closing it again does nothing. */
        @Override
        void close();
    }

    /** Opens links to the instrument under test. */
    interface Opener {
        /**
         * @return a new, independent session
         * @throws LabHalException when the instrument refuses or does not accept it in time
         */
        Link open() throws LabHalException;
    }

    /**
     * The finding.
     *
     * @param policy the lock policy the instrument needs, empty when the evidence does not decide
     * @param method which questions were asked
     * @param evidence what was seen, one line per observation
     */
    record Verdict(Optional<LockPolicy> policy, String method, List<String> evidence) {
    }

    private static final Pattern ERROR_ANSWER = Pattern.compile("[+-]?\\d+\\s*,\\s*\".*\"\\s*");
    private static final String PROBE_TOKEN = "labhalprobe";

    private final int rounds;
    private final boolean tryEcho;

    /**
     * @param rounds how many interleaved rounds to run, at least 1
     * @param tryEcho whether the instrument may be a simulator with {@code SIM:ECHO?} (asking a real
     *        instrument costs an I/O timeout)
     */
    SessionProbe(int rounds, boolean tryEcho) {
        if (rounds < 1) {
            throw new IllegalArgumentException("rounds must be at least 1, got " + rounds);
        }
        this.rounds = rounds;
        this.tryEcho = tryEcho;
    }

    /**
     * @param opener opens the two sessions
     * @return the verdict with its evidence
     * @throws LabHalException when not even the first session can be opened and asked a question
     */
    Verdict run(Opener opener) throws LabHalException {
        List<String> evidence = new ArrayList<>();
        try (Link a = opener.open()) {
            Questions questions = chooseQuestions(a, evidence);
            Link b;
            try {
                b = opener.open();
            } catch (LabHalException refused) {
                evidence.add("a second session could not be opened while the first was open: " + refused.getMessage());
                return new Verdict(Optional.of(LockPolicy.SINGLE_CONNECTION), questions.method, evidence);
            }
            try (b) {
                return interleave(a, b, questions, evidence);
            }
        }
    }

    private Questions chooseQuestions(Link a, List<String> evidence) throws LabHalException {
        if (tryEcho) {
            try {
                a.send("SIM:ECHO? " + PROBE_TOKEN);
                if (PROBE_TOKEN.equals(a.receive().strip())) {
                    evidence.add("the instrument echoes SIM:ECHO? tokens: each question carries its own token");
                    return Questions.echo();
                }
            } catch (IoTimeoutException e) {
                // no echo after all: fall back to *IDN? against SYST:ERR?
            }
            a.drain();
            a.send("*CLS");
        }
        a.send("*IDN?");
        String idn = a.receive().strip();
        evidence.add("alone, session A's *IDN? answered \"" + idn + "\"; session B will ask SYST:ERR?");
        return Questions.identity(idn);
    }

    private Verdict interleave(Link a, Link b, Questions questions, List<String> evidence) {
        int own = 0;
        int crossed = 0;
        int lost = 0;
        for (int round = 1; round <= rounds; round++) {
            String qa = questions.question(true, round);
            String qb = questions.question(false, round);
            String ra = null;
            String rb = null;
            LabHalException aFailed = null;
            LabHalException bFailed = null;
            try {
                a.send(qa);
            } catch (LabHalException e) {
                aFailed = e;
            }
            try {
                b.send(qb);
            } catch (LabHalException e) {
                bFailed = e;
            }
            if (aFailed == null) {
                try {
                    ra = receive(a);
                } catch (LabHalException e) {
                    aFailed = e;
                }
            }
            if (bFailed == null) {
                try {
                    rb = receive(b);
                } catch (LabHalException e) {
                    bFailed = e;
                }
            }
            Answer fromB = questions.classify(rb, false, round);
            if (aFailed != null && bFailed == null && fromB == Answer.OWN) {
                evidence.add("round " + round + ": B asked " + qb + " and got " + describe(rb, fromB)
                        + "; A, connected first, failed: " + aFailed.getMessage());
                evidence.add("the newest connection took over the first: the instrument serves one connection");
                return new Verdict(Optional.of(LockPolicy.SINGLE_CONNECTION), questions.method, evidence);
            }
            if (aFailed != null || bFailed != null) {
                evidence.add("round " + round + ": a step failed: " + (aFailed != null ? aFailed : bFailed).getMessage());
                return new Verdict(Optional.empty(), questions.method, evidence);
            }
            Answer fromA = questions.classify(ra, true, round);
            evidence.add("round " + round + ": A asked " + qa + " and got " + describe(ra, fromA) + "; B asked " + qb
                    + " and got " + describe(rb, fromB));
            if (fromA == Answer.OWN && fromB == Answer.NONE) {
                return secondWaits(a, b, questions, round, evidence);
            }
            a.drain();
            b.drain();
            if (fromA == Answer.OWN && fromB == Answer.OWN) {
                own++;
            }
            if (fromA == Answer.OTHERS || fromB == Answer.OTHERS) {
                crossed++;
            } else if (fromA == Answer.NONE || fromB == Answer.NONE) {
                lost++;
            }
        }
        if (own == rounds) {
            evidence.add("every answer went to the session that asked: the sessions are independent");
            return new Verdict(Optional.of(LockPolicy.INDEPENDENT_SESSIONS), questions.method, evidence);
        }
        if (crossed > 0) {
            evidence.add(crossed + " of " + rounds + " round(s) handed a session the other's answer: the sessions "
                    + "share one set of buffers");
            return new Verdict(Optional.of(LockPolicy.SHARED_BUFFER), questions.method, evidence);
        }
        if (lost > 0) {
            evidence.add(lost + " of " + rounds + " round(s) lost an answer when the other session spoke: the "
                    + "sessions share one set of buffers");
            return new Verdict(Optional.of(LockPolicy.SHARED_BUFFER), questions.method, evidence);
        }
        evidence.add("the answers fit no known behaviour");
        return new Verdict(Optional.empty(), questions.method, evidence);
    }

    /**
     * B's question went unanswered while A got its own answer: B's connection is one the instrument has
     * not taken up (it serves one client at a time and B waits in its backlog), or never will. Asking B
     * more would only queue questions the instrument answers later, into a closed socket (a device
     * that does not handle SIGPIPE dies of that). So A makes way: it closes, and B waits once more for
     * the answer to the question it has asked.
     */
    private static Verdict secondWaits(Link a, Link b, Questions questions, int round, List<String> evidence) {
        a.close();
        String late;
        try {
            late = receive(b);
        } catch (LabHalException e) {
            late = null;
        }
        if (questions.classify(late, false, round) == Answer.OWN) {
            evidence.add("once A closed, B got its answer " + describe(late, Answer.OWN) + ": the instrument serves "
                    + "one connection at a time, the next waiting unanswered in its backlog");
        } else {
            evidence.add("the second session was accepted but never answered, not even once the first closed ("
                    + (late == null ? "no answer" : "got \"" + late.strip() + "\"") + "): the instrument serves one "
                    + "connection");
        }
        return new Verdict(Optional.of(LockPolicy.SINGLE_CONNECTION), questions.method, evidence);
    }

    private static String receive(Link link) throws LabHalException {
        try {
            return link.receive();
        } catch (IoTimeoutException e) {
            return null;
        }
    }

    private static String describe(String answer, Answer kind) {
        if (answer == null) {
            return "no answer (I/O timeout)";
        }
        String quoted = "\"" + answer.strip() + "\"";
        return switch (kind) {
            case OWN -> quoted + " (its own answer)";
            case OTHERS -> quoted + " (the other session's answer)";
            default -> quoted + " (neither question's answer)";
        };
    }

    private enum Answer { OWN, OTHERS, NONE, OTHER_TEXT }

    /** The two sessions' questions and how to tell their answers apart. */
    private static final class Questions {
        final String method;
        private final String idn;

        private Questions(String method, String idn) {
            this.method = method;
            this.idn = idn;
        }

        static Questions echo() {
            return new Questions("SIM:ECHO? tokens", null);
        }

        static Questions identity(String idn) {
            return new Questions("*IDN? against SYST:ERR?", Objects.requireNonNull(idn));
        }

        String question(boolean first, int round) {
            if (idn == null) {
                return "SIM:ECHO? " + (first ? "a" : "b") + round;
            }
            return first ? "*IDN?" : "SYST:ERR?";
        }

        Answer classify(String answer, boolean first, int round) {
            if (answer == null) {
                return Answer.NONE;
            }
            String text = answer.strip();
            if (idn == null) {
                if (text.equals((first ? "a" : "b") + round)) {
                    return Answer.OWN;
                }
                return text.equals((first ? "b" : "a") + round) ? Answer.OTHERS : Answer.OTHER_TEXT;
            }
            boolean isIdn = text.equals(idn);
            boolean isError = ERROR_ANSWER.matcher(text).matches();
            if (first ? isIdn : isError) {
                return Answer.OWN;
            }
            return (first ? isError : isIdn) ? Answer.OTHERS : Answer.OTHER_TEXT;
        }
    }
}
