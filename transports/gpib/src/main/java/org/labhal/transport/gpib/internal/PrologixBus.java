package org.labhal.transport.gpib.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.transport.Deadline;

/**
 * One GPIB board: the link to its Prologix-style controller and the state the controller keeps
 * (which device is addressed), shared by every {@link GpibConnection} on the board.
 *
 * <p><b>Atomic calls.</b> Every call takes the board mutex (waiting at most until its deadline), so a
 * call's {@code ++addr}, data and {@code ++read} are never interleaved with another instrument's, and
 * it reads the controller's answer to its own {@code ++read} to the end before it lets go: the inbox is
 * empty between calls. A {@code ++read <char>} (the read termination, LF by default) makes the
 * controller stop at the same byte where a byte-stream read stops, so nothing of one answer is left
 * on the link for the next call. Bytes nobody asked for (garbage, a late answer) make the next call
 * resynchronise first.
 *
 * <p><b>Resynchronising.</b> The controller answers {@code ++ver} with its version line, learnt when
 * the link opened: sending it aborts a {@code ++read} in progress (a real controller aborts a read on
 * any host input) and everything that arrives before that line is what the aborted read still
 * forwarded. A read that gave up (timeout, interrupt, close) leaves the board marked for this, and the
 * instrument marked as owing the rest of its answer: its next write is preceded by {@code ++clr}
 * (selected device clear), so what it still held is never the next question's answer. An answer longer
 * than {@link #SOFT_LIMIT} without its termination is aborted the same way, keeping the bytes; the
 * instrument keeps the rest for the next {@code ++read}, as GPIB handshaking holds it there. More than
 * {@link #HARD_LIMIT} bytes before the version line is a flood: the link is closed.
 */
final class PrologixBus {
    /** Bytes the pump may hold unread: the controller is held back beyond that. */
    static final int INBOX_BYTES = 64 * 1024;
    /** Answer bytes a connection holds before the bus aborts the controller's read. */
    static final int SOFT_LIMIT = 64 * 1024;
    /** The most bytes a resynchronisation takes in before it gives the link up as flooding. */
    static final int HARD_LIMIT = 1 << 20;
    private static final byte[] VER = ascii("++ver\n");

    /** Opens a controller link whose failures go to the given listener. */
    @FunctionalInterface
    interface LinkOpener {
        ControllerLink open(Deadline deadline, Consumer<String> onFailure) throws IOException;
    }

    private final BoardSettings settings;
    private final ReentrantLock mutex = new ReentrantLock(true); // fair: no instrument waits out its deadline behind others
    private final Set<GpibConnection> connections = ConcurrentHashMap.newKeySet();
    private final Consumer<PrologixBus> onEnd;
    private final ControllerLink link;
    private final byte[] buffer = new byte[ControllerLink.CHUNK]; // guarded by mutex
    // Guarded by mutex.
    private String addressed;
    private byte[] queued; // an ++addr waiting to go out with the call's command
    private boolean resync;
    private int versionsOwed; // ++ver sent whose answer has not been read yet: a resync reads past all of them
    private final Set<String> owing = new HashSet<>();
    private byte[] version;
    private volatile String endReason;

    /**
     * Opens the link and sets the controller up: {@code ++savecfg 0} first, so that none of the
     * following settings is written to its flash, then controller mode, no read-after-write, EOI with
     * the last byte, no characters appended (LabHAL sends its own termination), the read timeout,
     * interface clear, and {@code ++ver}, whose answer must name GPIB.
     *
     * @throws LabHalException naming the board and controller when the link cannot be opened or the
     *         peer is not a Prologix-style controller
     */
    PrologixBus(BoardSettings settings, LinkOpener opener, Deadline deadline, Consumer<PrologixBus> onEnd)
            throws LabHalException {
        this.settings = settings;
        this.onEnd = onEnd;
        try {
            this.link = opener.open(deadline, this::linkFailed);
        } catch (IOException e) {
            throw new ConnectionLostException("Cannot open the controller link of " + settings.describe() + ": "
                    + e.getMessage(), e);
        }
        try {
            identify(deadline);
        } catch (LabHalException | RuntimeException e) {
            close("its controller could not be set up");
            throw e;
        }
    }

    private void identify(Deadline deadline) throws LabHalException {
        mutex.lock();
        try {
            send(ascii("++savecfg 0\n++mode 1\n++auto 0\n++eoi 1\n++eos 3\n++read_tmo_ms "
                    + settings.readTimeoutMillis() + "\n++ifc\n++ver\n"), deadline, null);
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            String last = null;
            int total = 0;
            while (true) {
                int n = take(buffer, buffer.length, '\n', deadline, null);
                if (n == 0) {
                    throw new IoTimeoutException("The controller of " + settings.describe()
                            + (last == null ? " did not answer ++ver" : " answered ++ver with '" + last + "'")
                            + " within " + deadline.timeout().toMillis() + " ms: it is not a Prologix-style GPIB "
                            + "controller, or not in a state to talk", deadline.timeout());
                }
                total += n;
                if (total > HARD_LIMIT) {
                    throw new LabHalException("The controller of " + settings.describe() + " sent more than "
                            + HARD_LIMIT + " bytes and no ++ver answer: it is not a Prologix-style GPIB controller");
                }
                if (line.size() < 256) {
                    line.write(buffer, 0, Math.min(n, 256 - line.size()));
                }
                if (buffer[n - 1] == '\n') {
                    last = line.toString(StandardCharsets.ISO_8859_1).strip();
                    line.reset();
                    if (last.toUpperCase(Locale.ROOT).contains("GPIB")) {
                        version = ascii(last);
                        return;
                    }
                }
            }
        } finally {
            mutex.unlock();
        }
    }

    /** @return what the controller said it was */
    String version() {
        return new String(version, StandardCharsets.ISO_8859_1);
    }

    BoardSettings settings() {
        return settings;
    }

    /** @return e.g. {@code board 0 via TCP 127.0.0.1:1234} for connection descriptions */
    String describeLink() {
        return "GPIB" + settings.board() + " via Prologix at " + link.description;
    }

    void register(GpibConnection connection) throws LabHalException {
        connections.add(connection);
        String why = endReason;
        if (why != null) {
            connections.remove(connection);
            throw new ConnectionLostException(connection.describe() + ": " + why, null);
        }
    }

    void unregister(GpibConnection connection) {
        connections.remove(connection);
        link.inbox.wake(); // a read it was blocked in checks whether it was closed
    }

    boolean isOpen() {
        return endReason == null;
    }

    /** @return how many bytes from the controller wait unread (tests see garbage arrive by this) */
    int unread() {
        return link.inbox.available();
    }

    /** Ends the board: the link closes, every connection on it is lost with {@code reason}. */
    void close(String reason) {
        if (endReason == null) {
            endReason = reason;
        }
        link.fail(reason);
        linkFailed(reason);
    }

    private void linkFailed(String why) {
        synchronized (this) {
            if (endReason == null) {
                // link is null when the link fails while it is still being opened
                String where = link != null ? link.description : settings.controller().canonical();
                endReason = "the controller link " + where + " of " + settings.describe() + " was lost: " + why;
            }
        }
        for (GpibConnection c : connections) {
            c.lost(endReason);
        }
        connections.clear();
        onEnd.accept(this);
    }

    // ---- the calls, each atomic under the board mutex -------------------------------------------------

    /**
     * Sends a whole program message (termination included) to the connection's instrument: after a
     * resynchronisation if one is due, {@code ++addr} if another device is addressed, and {@code ++clr}
     * if the instrument may still hold an answer a read gave up on.
     */
    void write(GpibConnection c, byte[] message, Deadline deadline) throws LabHalException {
        enter(c, deadline, "write");
        try {
            prepare(c, deadline);
            byte[] line = Escaping.line(message);
            if (owing.contains(c.key())) {
                byte[] clear = ascii("++clr\n");
                byte[] both = new byte[clear.length + line.length];
                System.arraycopy(clear, 0, both, 0, clear.length);
                System.arraycopy(line, 0, both, clear.length, line.length);
                line = both;
            }
            c.dropAnswer();
            send(line, deadline, c);
            owing.remove(c.key());
        } finally {
            mutex.unlock();
        }
    }

    /**
     * Reads an answer: what the connection holds first, otherwise a {@code ++read <termination>} taken
     * in to its end, then handed out up to {@code into}'s room.
     */
    boolean read(GpibConnection c, ByteBuffer into, Deadline deadline) throws LabHalException {
        if (c.holdsAnswer()) {
            return c.takeAnswer(into);
        }
        enter(c, deadline, "read");
        try {
            prepare(c, deadline);
            int stop = c.readTermination() & 0xFF;
            send(ascii("++read " + stop + "\n"), deadline, c);
            // Until the answer's end is in, the controller may still be talking and the device still holds the rest
            resync = true;
            owing.add(c.key());
            while (true) {
                if (c.answerBytes() >= SOFT_LIMIT) {
                    send(VER, deadline, c); // aborts the read; the device keeps the rest for the next one
                    versionsOwed++;
                    scanToVersion(c, c, deadline);
                    resync = false;
                    break;
                }
                int n = take(buffer, buffer.length, stop, deadline, c);
                if (n == 0) {
                    boolean some = c.answerBytes() > 0;
                    c.dropAnswer();
                    throw new IoTimeoutException(c.describe() + (some ? " sent part of an answer but not its end"
                            : " sent no answer") + " within " + deadline.timeout().toMillis() + " ms"
                            + (some ? "; the part was dropped" : ""), deadline.timeout());
                }
                c.keepAnswer(buffer, n);
                if ((buffer[n - 1] & 0xFF) == stop) {
                    resync = false;
                    owing.remove(c.key());
                    break;
                }
            }
            return c.takeAnswer(into);
        } catch (StepInterruptedException e) {
            boolean partial = c.answerBytes() > 0;
            c.dropAnswer();
            if (partial) {
                // The controller is still forwarding the rest; a resynchronisation would wait for it
                // (or for ++ver's answer behind it), which an interrupted caller must not do
                String why = "the reading thread was interrupted with part of an answer in; the connection was "
                        + "closed because the rest is still on its way (the board resynchronises at its next call)";
                c.lost(why);
                throw new StepInterruptedException(c.describe() + ": " + why, new InterruptedException());
            }
            throw e;
        } catch (LabHalException e) {
            // a timeout in aborting a long answer too: its first part must not be handed out by a later read
            c.dropAnswer();
            throw e;
        } finally {
            mutex.unlock();
        }
    }

    /** Selected device clear ({@code ++clr}) of the connection's instrument. */
    void clear(GpibConnection c, Deadline deadline) throws LabHalException {
        enter(c, deadline, "clear");
        try {
            prepare(c, deadline);
            send(ascii("++clr\n"), deadline, c);
            owing.remove(c.key());
            c.dropAnswer();
        } finally {
            mutex.unlock();
        }
    }

    /** Serial poll ({@code ++spoll}) of the connection's instrument. */
    int serialPoll(GpibConnection c, Deadline deadline) throws LabHalException {
        enter(c, deadline, "serial poll");
        try {
            prepare(c, deadline);
            send(ascii("++spoll\n"), deadline, c);
            resync = true;
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            while (true) {
                int n = take(buffer, Math.min(buffer.length, 16 - line.size()), '\n', deadline, c);
                if (n == 0) {
                    throw new IoTimeoutException(c.describe() + ": no answer to the serial poll within "
                            + deadline.timeout().toMillis() + " ms (no device at that address?)", deadline.timeout());
                }
                line.write(buffer, 0, n);
                if (buffer[n - 1] == '\n') {
                    break;
                }
                if (line.size() >= 16) {
                    throw new LabHalException(c.describe() + ": the controller answered the serial poll with '"
                            + line.toString(StandardCharsets.ISO_8859_1) + "...', not a status byte");
                }
            }
            resync = false;
            String text = line.toString(StandardCharsets.ISO_8859_1).strip();
            try {
                int status = Integer.parseInt(text);
                if (status >= 0 && status <= 255) {
                    return status;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new LabHalException(c.describe() + ": the controller answered the serial poll with '" + text
                    + "', not a status byte 0-255");
        } finally {
            mutex.unlock();
        }
    }

    /**
     * Addresses the connection's instrument and sends a controller command that acts on the addressed
     * device ({@code ++trg}, {@code ++loc}, {@code ++llo}); {@code null} only addresses it.
     */
    void command(GpibConnection c, String command, Deadline deadline) throws LabHalException {
        enter(c, deadline, command == null ? "addressing" : command);
        try {
            prepare(c, deadline);
            send(command == null ? new byte[0] : ascii(command + "\n"), deadline, c);
        } finally {
            mutex.unlock();
        }
    }

    // ---- helpers, called under the mutex -------------------------------------------------------------

    private void enter(GpibConnection c, Deadline deadline, String step) throws LabHalException {
        try {
            if (!mutex.tryLock(deadline.remainingNanos(), TimeUnit.NANOSECONDS)) {
                throw new IoTimeoutException(c.describe() + ": " + step + " waited " + deadline.timeout().toMillis()
                        + " ms for GPIB" + settings.board() + ", busy with other instruments' calls", deadline.timeout());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StepInterruptedException("Interrupted waiting for GPIB" + settings.board() + " to " + step
                    + " on " + c.describe(), e);
        }
        String why = endReason;
        if (why != null) {
            mutex.unlock();
            throw new ConnectionLostException(c.describe() + ": " + why, null);
        }
        try {
            c.checkOpen();
        } catch (LabHalException | RuntimeException e) {
            mutex.unlock();
            throw e;
        }
    }

    /** Resynchronises if due (or bytes nobody asked for wait), then addresses the connection's device. */
    private void prepare(GpibConnection c, Deadline deadline) throws LabHalException {
        if (queued != null) { // an earlier call failed before its command went out: its ++addr did not either
            queued = null;
            addressed = null;
        }
        if (resync || link.inbox.available() > 0) {
            // What waits is read through, not discarded unseen: it may hold the version line of an
            // earlier ++ver, which must be counted
            send(VER, deadline, c);
            versionsOwed++;
            scanToVersion(null, c, deadline);
            resync = false;
        }
        if (!c.key().equals(addressed)) {
            // Goes out with the call's own command, in one write: one packet (or USB transfer) fewer
            queued = ascii(c.addressCommand() + "\n");
            addressed = c.key();
        }
    }

    /**
     * Takes everything up to and including the version line that answers the last {@code ++ver} sent;
     * what came before it goes to {@code keep}'s answer, or is thrown away when {@code keep} is null.
     * Closing {@code caller} ends the wait. An earlier resynchronisation that gave up (timeout,
     * interrupt) left its {@code ++ver} unanswered: its version line comes first and is read past, so
     * that it cannot be taken later as an instrument's answer.
     */
    private void scanToVersion(GpibConnection keep, GpibConnection caller, Deadline deadline) throws LabHalException {
        byte[] tail = new byte[version.length + 2];
        int tailLength = 0;
        long total = 0;
        while (true) {
            int n = take(buffer, buffer.length, '\n', deadline, caller);
            if (n == 0) {
                resync = true;
                if (total >= SOFT_LIMIT) {
                    // Bytes kept coming and no version line: a flood, whatever its rate. Left open, the link
                    // would hand its backlog to the next call's resynchronisation, which would fail in turn
                    String why = "the controller sent " + total + " bytes and no answer to ++ver within "
                            + deadline.timeout().toMillis() + " ms (garbage or a flood); the link was closed";
                    close("the controller link " + link.description + " of " + settings.describe() + " was closed: "
                            + why);
                    throw new ConnectionLostException("GPIB" + settings.board() + ": " + why, null);
                }
                throw new IoTimeoutException("GPIB" + settings.board() + ": the controller at " + link.description
                        + " did not answer ++ver within " + deadline.timeout().toMillis()
                        + " ms while the bus was being brought back in step", deadline.timeout());
            }
            total += n;
            if (total > HARD_LIMIT) {
                String why = "the controller sent more than " + HARD_LIMIT + " bytes without answering ++ver "
                        + "(garbage or a flood); the link was closed";
                close("the controller link " + link.description + " of " + settings.describe() + " was closed: " + why);
                throw new ConnectionLostException("GPIB" + settings.board() + ": " + why, null);
            }
            if (keep != null) {
                keep.keepAnswer(buffer, n);
            }
            for (int i = 0; i < n; i++) {
                if (tailLength == tail.length) {
                    System.arraycopy(tail, 1, tail, 0, tail.length - 1);
                    tailLength--;
                }
                tail[tailLength++] = buffer[i];
            }
            if (buffer[n - 1] == '\n') {
                int match = versionSuffix(tail, tailLength);
                if (match > 0) {
                    if (keep != null) {
                        keep.unkeepAnswer(match);
                    }
                    if (--versionsOwed <= 0) {
                        versionsOwed = 0;
                        return;
                    }
                }
                tailLength = 0;
            }
        }
    }

    /** @return the length of the version line (with CR LF or LF) that {@code tail} ends with, or 0 */
    private int versionSuffix(byte[] tail, int length) {
        int end = length - 1; // the LF
        if (end > 0 && tail[end - 1] == '\r') {
            end--;
        }
        int start = end - version.length;
        if (start < 0) {
            return 0;
        }
        for (int i = 0; i < version.length; i++) {
            if (tail[start + i] != version[i]) {
                return 0;
            }
        }
        return length - start;
    }

    /** Writes {@code bytes}, after the {@code ++addr} that {@link #prepare} queued, if any. */
    private void send(byte[] bytes, Deadline deadline, GpibConnection c) throws LabHalException {
        if (queued == null && bytes.length == 0) {
            return;
        }
        if (deadline.expired()) {
            // Nothing went out: the board stays in step, and a queued ++addr stays queued, so the next call
            // knows the controller was not addressed (prepare) rather than take it for addressed
            throw new IoTimeoutException((c == null ? settings.describe() : c.describe()) + ": no time was left within "
                    + deadline.timeout().toMillis() + " ms to send to the controller", deadline.timeout());
        }
        byte[] out = bytes;
        if (queued != null) {
            out = new byte[queued.length + bytes.length];
            System.arraycopy(queued, 0, out, 0, queued.length);
            System.arraycopy(bytes, 0, out, queued.length, bytes.length);
            queued = null;
        }
        try {
            link.write(out, deadline);
        } catch (IOException e) {
            if (Thread.currentThread().isInterrupted()) {
                InterruptedException cause = new InterruptedException();
                cause.initCause(e);
                throw new StepInterruptedException((c == null ? settings.describe() : c.describe())
                        + ": interrupted while a write to the controller was blocked; the link was closed, as part "
                        + "of the line may have gone out", cause);
            }
            String why = endReason != null ? endReason : "writing to the controller failed: " + e.getMessage();
            if (c != null) {
                // Before the throw: the link failed in this thread, and the pump, which ends every connection of
                // the board, may not have got there yet; a session must not take this one for open.
                c.lost(why);
            }
            throw new ConnectionLostException((c == null ? settings.describe() : c.describe()) + ": " + why, e);
        }
    }

    /**
     * Takes bytes from the inbox up to and including {@code stop}.
     *
     * @return the count, 0 when the deadline passed
     */
    private int take(byte[] into, int length, int stop, Deadline deadline, GpibConnection c) throws LabHalException {
        String who = c == null ? settings.describe() : c.describe();
        try {
            int n = link.inbox.take(into, 0, length, stop, System.nanoTime() + deadline.remainingNanos(),
                    c == null ? () -> false : c::isClosing);
            if (n < 0) {
                throw new ConnectionLostException(who + " was closed while it waited for the controller", null);
            }
            return n;
        } catch (IOException e) {
            String why = endReason;
            throw new ConnectionLostException(who + ": " + (why != null ? why : e.getMessage()), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StepInterruptedException("Interrupted waiting for the controller of GPIB" + settings.board()
                    + " on " + who, e);
        }
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }
}
