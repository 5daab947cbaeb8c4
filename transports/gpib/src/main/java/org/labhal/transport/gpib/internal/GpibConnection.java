package org.labhal.transport.gpib.internal;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.InstrumentControlUnsupportedException;
import org.labhal.api.LabHalException;
import org.labhal.api.RemoteLocal;
import org.labhal.api.ResourceAddress;
import org.labhal.api.SessionClosedException;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.TransportKind;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.Deadline;
import org.labhal.api.transport.InstrumentControl;

/**
 * One GPIB address on a board, as a byte stream: a write with {@code end} sends the message it
 * completes, with the write termination appended, as one escaped host line (so EOI marks its last
 * byte and no other instrument's traffic can come between its parts); a read stops after the read
 * termination byte. Each call is atomic on the board (see {@link PrologixBus}).
 *
 * <p>Message parts written without {@code end} are kept here, not sent: a Prologix controller sends a
 * host line only when it ends, and a line left open would swallow the next instrument's {@code ++addr}.
 * So a message is never cut on the bus ({@link #dropsCutMessages()}); its most is
 * {@link #MAX_MESSAGE} bytes.
 *
 * <p>Thread use: sessions call one step at a time; {@link #close()} may come from any thread and wakes
 * a read waiting for the controller at once.
 */
final class GpibConnection implements Connection, InstrumentControl {
    /** The most bytes of one program message. */
    static final int MAX_MESSAGE = 1 << 20;

    private final ResourceAddress address;
    private final PrologixBus bus;
    private final String key;
    private final String addressCommand;
    private final byte[] writeTermination;
    private final byte readTermination;
    // Step state: touched only by the step in progress (sessions call one at a time).
    private byte[] message = new byte[0];
    private int messageLength;
    private byte[] answer = new byte[256];
    private int answerStart;
    private int answerEnd;
    private boolean midMessage;
    private volatile String closedBecause;
    private volatile boolean closedByCaller;

    GpibConnection(ResourceAddress address, PrologixBus bus, byte[] writeTermination, byte readTermination) {
        this.address = address;
        this.bus = bus;
        int primary = address.gpibAddress().orElseThrow();
        int secondary = address.gpibSecondary().orElse(-1);
        this.key = secondary < 0 ? Integer.toString(primary) : primary + " " + (secondary + 96);
        this.addressCommand = "++addr " + key;
        this.writeTermination = writeTermination;
        this.readTermination = readTermination;
    }

    @Override
    public void write(ByteBuffer data, boolean end, Duration timeout) throws LabHalException {
        Deadline deadline = Deadline.after(timeout);
        checkOpen();
        int first = data.position();
        int length = data.remaining();
        int total = messageLength + length + (end ? writeTermination.length : 0);
        if (total > MAX_MESSAGE) {
            messageLength = 0;
            throw new LabHalException(describe() + ": a program message of more than " + MAX_MESSAGE
                    + " bytes cannot go through a Prologix controller in one host line; nothing was sent");
        }
        if (message.length < total) {
            message = Arrays.copyOf(message, Math.max(total, Math.min(MAX_MESSAGE, message.length * 2)));
        }
        data.get(message, messageLength, length);
        messageLength += length;
        if (!end) {
            return;
        }
        System.arraycopy(writeTermination, 0, message, messageLength, writeTermination.length);
        byte[] whole = Arrays.copyOf(message, messageLength + writeTermination.length);
        messageLength = 0;
        midMessage = false;
        try {
            bus.write(this, whole, deadline);
        } catch (LabHalException | RuntimeException e) {
            // Nothing of the message reached the instrument, or the link failed and is closed
            data.position(first);
            throw e;
        }
    }

    @Override
    public boolean read(ByteBuffer into, Duration timeout) throws LabHalException {
        Deadline deadline = Deadline.after(timeout);
        checkOpen();
        try {
            boolean ended = bus.read(this, into, deadline);
            midMessage = !ended;
            return ended;
        } catch (StepInterruptedException e) {
            if (midMessage) {
                String why = "the reading thread was interrupted half way through an answer; the connection was "
                        + "closed because the rest would reach a later read";
                lost(why);
                throw new StepInterruptedException(describe() + ": " + why, new InterruptedException());
            }
            throw e;
        } catch (LabHalException e) {
            midMessage = false;
            throw e;
        }
    }

    @Override
    public void clear(Duration timeout) throws LabHalException {
        Deadline deadline = Deadline.after(timeout);
        checkOpen();
        messageLength = 0;
        midMessage = false;
        bus.clear(this, deadline);
    }

    /** Nothing of a message goes out before its end: see the class comment. */
    @Override
    public boolean dropsCutMessages() {
        return true;
    }

    @Override
    public int readStatusByte(Duration timeout) throws LabHalException {
        Deadline deadline = Deadline.after(timeout);
        checkOpen();
        return bus.serialPoll(this, deadline);
    }

    @Override
    public void trigger(Duration timeout) throws LabHalException {
        Deadline deadline = Deadline.after(timeout);
        checkOpen();
        bus.command(this, "++trg", deadline);
    }

    /**
     * REMOTE addresses the instrument; a Prologix controller asserts REN all the time in controller
     * mode, and the instrument goes remote when it is next addressed to listen (the next write), since
     * the controller has no command that addresses a listener without data. LOCAL is {@code ++loc}
     * (Go To Local to the addressed instrument), LOCAL_LOCKOUT {@code ++llo}. RELEASE (deassert REN) is
     * not possible: a Prologix controller offers no command for REN.
     */
    @Override
    public void remoteLocal(RemoteLocal mode, Duration timeout) throws LabHalException {
        Deadline deadline = Deadline.after(timeout);
        checkOpen();
        switch (mode) {
            case REMOTE -> bus.command(this, null, deadline);
            case LOCAL -> bus.command(this, "++loc", deadline);
            case LOCAL_LOCKOUT -> bus.command(this, "++llo", deadline);
            case RELEASE -> throw new InstrumentControlUnsupportedException(describe() + ": RELEASE (deassert REN) is not possible through "
                    + "a Prologix-style controller, which keeps REN asserted in controller mode and has no command "
                    + "for it; use LOCAL to return this instrument to local operation", TransportKind.GPIB);
            default -> throw new AssertionError(mode);
        }
    }

    @Override
    public boolean isOpen() {
        return closedBecause == null && bus.isOpen();
    }

    @Override
    public String describe() {
        return address.canonical() + " (" + bus.describeLink() + ")";
    }

    @Override
    public void close() {
        if (closedBecause == null) {
            closedBecause = "it was closed";
            closedByCaller = true;
        }
        bus.unregister(this);
    }

    /** The board ended or this connection went out of step: later calls fail with {@code why}. */
    void lost(String why) {
        if (closedBecause == null) {
            closedBecause = why;
        }
        bus.unregister(this);
    }

    /** @return whether a wait for the controller should give up */
    boolean isClosing() {
        return closedBecause != null;
    }

    void checkOpen() throws LabHalException {
        String why = closedBecause;
        if (why != null) {
            String message = describe() + " is closed: " + why;
            throw closedByCaller ? new SessionClosedException(message) : new ConnectionLostException(message, null);
        }
    }

    String key() {
        return key;
    }

    String addressCommand() {
        return addressCommand;
    }

    byte readTermination() {
        return readTermination;
    }

    // ---- the answer taken in from the controller and not yet handed out --------------------------------

    boolean holdsAnswer() {
        return answerStart < answerEnd;
    }

    int answerBytes() {
        return answerEnd - answerStart;
    }

    void keepAnswer(byte[] bytes, int length) {
        if (answerStart == answerEnd) {
            answerStart = answerEnd = 0;
        }
        if (answerEnd + length > answer.length) {
            if (answerEnd - answerStart + length <= answer.length) {
                System.arraycopy(answer, answerStart, answer, 0, answerEnd - answerStart);
            } else {
                // bounded by the bus: SOFT_LIMIT plus what one aborted read still delivers (HARD_LIMIT)
                answer = Arrays.copyOfRange(answer, answerStart,
                        answerStart + Math.max(answer.length * 2, answerEnd - answerStart + length));
            }
            answerEnd -= answerStart;
            answerStart = 0;
        }
        System.arraycopy(bytes, 0, answer, answerEnd, length);
        answerEnd += length;
    }

    /** Forgets the last {@code length} bytes kept (the controller's version line after an abort). */
    void unkeepAnswer(int length) {
        answerEnd = Math.max(answerStart, answerEnd - length);
    }

    void dropAnswer() {
        answerStart = answerEnd = 0;
        if (answer.length > 4096) {
            answer = new byte[256]; // a long answer's buffer is not kept for the life of the connection
        }
    }

    /** Hands out kept bytes up to and including the read termination. */
    boolean takeAnswer(ByteBuffer into) {
        int limit = Math.min(answerEnd, answerStart + into.remaining());
        int end = answerStart;
        boolean ended = false;
        while (end < limit) {
            if (answer[end++] == readTermination) {
                ended = true;
                break;
            }
        }
        into.put(answer, answerStart, end - answerStart);
        answerStart = end;
        return ended;
    }
}
