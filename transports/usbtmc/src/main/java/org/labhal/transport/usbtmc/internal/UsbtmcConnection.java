package org.labhal.transport.usbtmc.internal;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.InstrumentControlUnsupportedException;
import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.RemoteLocal;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.TransportKind;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.Deadline;
import org.labhal.api.transport.InstrumentControl;
import org.labhal.api.transport.Uninterruptibly;
import org.labhal.transport.usbtmc.UsbDevice;
import org.labhal.transport.usbtmc.UsbException;

/**
 * The USBTMC / USB488 protocol engine on one claimed interface ({@link UsbDevice}): the host side of
 * USBTMC 1.0 and USB488 1.0, knowing nothing of the USB library below.
 *
 * <h2>Messages</h2>
 * A write goes out as DEV_DEP_MSG_OUT transfers of at most {@code max_transfer} bytes each, every one
 * with a fresh bTag (1 to 255) and its inverse, padded to 4 bytes, the last one with EOM when the write
 * ends the message. A read sends REQUEST_DEV_DEP_MSG_IN (with TermChar only when the option asks for it
 * and GET_CAPABILITIES said the device supports it) and receives the DEV_DEP_MSG_IN transfer: its
 * header must carry MsgID 2, the request's bTag and its inverse, and a TransferSize no larger than
 * asked; the transfer ends when the announced bytes arrived, and a short packet before that is a
 * transfer cut short. EOM ends the message; without it the next read asks again. Bytes of a transfer
 * that did not fit the caller's buffer stay for the next read; a write drops them (the response of a
 * query nobody reads goes nowhere).
 *
 * <h2>Timeouts and interrupts: aborts</h2>
 * A transfer that timed out or was interrupted is aborted, so no stale answer survives it: the Bulk-IN
 * one with INITIATE_ABORT_BULK_IN, reading what is left on Bulk-IN and CHECK_ABORT_BULK_IN_STATUS
 * until it is no longer STATUS_PENDING; the Bulk-OUT one with INITIATE_ABORT_BULK_OUT,
 * CHECK_ABORT_BULK_OUT_STATUS and a clear-halt of Bulk-OUT. The call that timed out has used its whole
 * timeout, and an interrupted one ends at once, so the abort runs at the start of the next call, within
 * that call's deadline, before anything else goes out; an abort that cannot finish there leaves the
 * link out of step and closes it. {@link #clear} runs INITIATE_CLEAR + CHECK_CLEAR_STATUS and a
 * clear-halt of Bulk-OUT, which also replaces any abort still owed.
 *
 * <h2>Out of step: the link is closed</h2>
 * A Bulk-IN header with the wrong MsgID or bTagInverse (garbage), another bTag than the request's, a
 * TransferSize beyond what was asked, a transfer cut short, a detached device: the call throws
 * {@link ConnectionLostException} naming what happened, later calls too, {@link #isOpen()} turns false.
 * A halted endpoint (STALL) is cleared and reported; the link stays usable.
 *
 * <h2>Threads</h2>
 * Sessions call one step at a time; {@link #close()} and {@link #kill} may come from any thread and wake
 * a waiting transfer.
 */
final class UsbtmcConnection implements Connection, InstrumentControl {
    /** How long an abort's Bulk-IN drain waits for the short packet that ends the aborted transfer. */
    private static final long DRAIN_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    /** First and longest pause between CHECK_*_STATUS polls while the device says STATUS_PENDING. */
    private static final long FIRST_POLL_NANOS = TimeUnit.MICROSECONDS.toNanos(500);
    private static final long MAX_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private static final byte[] NEWLINE = {'\n'};

    private final String resource;
    private final UsbDevice device;
    private final UsbSettings settings;
    private final Consumer<UsbtmcConnection> onClosed;
    private final int inPacket;
    private volatile Capabilities capabilities;
    private volatile String closedBecause;

    // Used by one step at a time (see class comment)
    private int lastTag; // bTag of the last Bulk-OUT message, 1..255
    private int statusTag = 1; // bTag of the last READ_STATUS_BYTE, 2..127
    private final byte[] out; // one DEV_DEP_MSG_OUT transfer
    private final byte[] in; // one DEV_DEP_MSG_IN transfer
    private int inHead; // in[inHead, inTail): data of the last transfer not yet read
    private int inTail;
    private boolean inEnds; // the last transfer had EOM
    private int abortInTag; // bTag of a Bulk-IN transfer still to abort, 0 for none
    private int abortOutTag; // bTag of a Bulk-OUT transfer still to abort, 0 for none

    UsbtmcConnection(String resource, UsbDevice device, UsbSettings settings, Consumer<UsbtmcConnection> onClosed) {
        this.resource = Objects.requireNonNull(resource, "resource");
        this.device = Objects.requireNonNull(device, "device");
        this.settings = settings;
        this.onClosed = onClosed;
        this.inPacket = Math.max(1, device.bulkInMaxPacketSize());
        this.out = new byte[Usbtmc.HEADER_SIZE + settings.maxTransfer() + 3];
        int inSize = Usbtmc.HEADER_SIZE + settings.maxTransfer() + 3;
        this.in = new byte[(inSize + inPacket - 1) / inPacket * inPacket]; // whole packets: no overflow
    }

    /**
     * Reads the capabilities (GET_CAPABILITIES).
     *
     * @throws LabHalException when the device does not answer it
     */
    void start(Duration timeout) throws LabHalException {
        Deadline deadline = Deadline.after(timeout);
        byte[] r = new byte[Usbtmc.CAPABILITIES_SIZE];
        int n = control(UsbDevice.CLASS_INTERFACE_IN, Usbtmc.GET_CAPABILITIES, 0, device.interfaceNumber(), r,
                deadline, "GET_CAPABILITIES");
        if (n < Usbtmc.CAPABILITIES_SIZE || r[0] != Usbtmc.STATUS_SUCCESS) {
            throw lose("GET_CAPABILITIES answered " + (n < 1 ? "nothing" : Usbtmc.status(r[0] & 0xFF)) + " with " + n
                    + " of " + Usbtmc.CAPABILITIES_SIZE + " bytes", null);
        }
        capabilities = Capabilities.parse(r, device.interfaceProtocol() == Usbtmc.PROTOCOL_USB488);
    }

    /** @return what GET_CAPABILITIES said, for tests */
    Capabilities capabilities() {
        return capabilities;
    }

    @Override
    public void write(ByteBuffer data, boolean end, Duration timeout) throws LabHalException {
        ensureOpen();
        Deadline deadline = Deadline.after(timeout);
        settle(deadline);
        inHead = inTail = 0; // an unread rest of a response is dropped, never handed to a later read
        inEnds = false;
        if (!data.hasRemaining()) {
            if (!end) {
                return;
            }
            // TransferSize must be above 0: END alone goes out as the 488.2 program message terminator
            data = ByteBuffer.wrap(NEWLINE).asReadOnlyBuffer();
        }
        int max = settings.maxTransfer();
        do {
            int size = Math.min(max, data.remaining());
            boolean last = size == data.remaining();
            int tag = nextTag();
            Usbtmc.header(out, Usbtmc.DEV_DEP_MSG_OUT, tag, size, last && end ? Usbtmc.ATTR_EOM : 0, 0);
            data.get(data.position(), out, Usbtmc.HEADER_SIZE, size);
            int total = Usbtmc.align4(Usbtmc.HEADER_SIZE + size);
            for (int i = Usbtmc.HEADER_SIZE + size; i < total; i++) {
                out[i] = 0; // alignment bytes
            }
            bulkOut(out, total, tag, deadline, "DEV_DEP_MSG_OUT");
            data.position(data.position() + size); // only whole transfers count as sent
        } while (data.hasRemaining());
    }

    @Override
    public boolean read(ByteBuffer into, Duration timeout) throws LabHalException {
        if (!into.hasRemaining()) {
            throw new IllegalArgumentException("read needs room for at least one byte");
        }
        ensureOpen();
        if (inHead == inTail) {
            Deadline deadline = Deadline.after(timeout);
            settle(deadline);
            do {
                receive(deadline);
            } while (inHead == inTail && !inEnds); // an empty transfer without EOM: ask again
        }
        int n = Math.min(into.remaining(), inTail - inHead);
        into.put(in, inHead, n);
        inHead += n;
        return inHead == inTail && inEnds;
    }

    /** Asks for one DEV_DEP_MSG_IN transfer and checks and keeps it in {@link #in}. */
    private void receive(Deadline deadline) throws LabHalException {
        int size = settings.maxTransfer();
        boolean termChar = settings.termChar() && capabilities.termChar();
        int tag = nextTag();
        byte[] request = new byte[Usbtmc.HEADER_SIZE];
        Usbtmc.header(request, Usbtmc.REQUEST_DEV_DEP_MSG_IN, tag, size,
                termChar ? Usbtmc.ATTR_TERM_CHAR_ENABLED : 0, termChar ? '\n' : 0);
        bulkOut(request, request.length, tag, deadline, "REQUEST_DEV_DEP_MSG_IN");
        abortInTag = tag; // until the whole transfer is in: whatever ends this call early leaves it to abort
        int got = 0;
        long announced = -1;
        while (true) {
            int asked = in.length - got;
            int n;
            try {
                n = device.bulkIn(in, got, asked, wait(deadline, "DEV_DEP_MSG_IN"));
            } catch (UsbException e) {
                throw failure("receiving DEV_DEP_MSG_IN (bTag " + tag + ")", e, device.bulkInEndpoint(), deadline);
            } catch (InterruptedException e) {
                throw interrupted("receiving DEV_DEP_MSG_IN (bTag " + tag + ")", e);
            }
            got += n;
            if (announced < 0 && got >= Usbtmc.HEADER_SIZE) {
                announced = checkHeader(tag, size);
            }
            if (announced >= 0 && got >= Usbtmc.HEADER_SIZE + announced) {
                break;
            }
            if (n < asked && (n == 0 || n % inPacket != 0)) { // a short packet ended the transfer early
                throw lose(announced < 0
                        ? "a DEV_DEP_MSG_IN transfer of " + got + " bytes is shorter than its 12-byte header"
                        : "the device ended the DEV_DEP_MSG_IN transfer (bTag " + tag + ") after " + (got - 12)
                                + " of the " + announced + " bytes it announced", null);
            }
        }
        if (got > Usbtmc.align4(Usbtmc.HEADER_SIZE + (int) announced)) {
            throw lose("the device sent " + got + " bytes in a DEV_DEP_MSG_IN transfer that announced " + announced,
                    null);
        }
        abortInTag = 0;
        inHead = Usbtmc.HEADER_SIZE;
        inTail = Usbtmc.HEADER_SIZE + (int) announced;
        inEnds = (in[8] & Usbtmc.ATTR_EOM) != 0;
    }

    /** @return TransferSize of the header in {@link #in}, after checking it against the request */
    private long checkHeader(int tag, int asked) throws ConnectionLostException {
        int msgId = in[0] & 0xFF;
        if (msgId != Usbtmc.DEV_DEP_MSG_IN || !Usbtmc.tagInverseMatches(in, 0)) {
            throw lose(String.format("garbage on Bulk-IN: a header with MsgID %d, bTag %d, bTagInverse 0x%02X "
                    + "where DEV_DEP_MSG_IN with bTag %d was expected", msgId, in[1] & 0xFF, in[2] & 0xFF, tag), null);
        }
        if ((in[1] & 0xFF) != tag) {
            throw lose("the device answered REQUEST_DEV_DEP_MSG_IN bTag " + tag + " with bTag " + (in[1] & 0xFF), null);
        }
        long size = Usbtmc.uint32(in, 4);
        if (size > asked) {
            throw lose("absurd transfer size: the device announced " + size + " bytes in a DEV_DEP_MSG_IN transfer "
                    + "for which " + asked + " were asked", null);
        }
        return size;
    }

    @Override
    public void clear(Duration timeout) throws LabHalException {
        ensureOpen();
        Deadline deadline = Deadline.after(timeout);
        inHead = inTail = 0;
        inEnds = false;
        int iface = device.interfaceNumber();
        byte[] r = new byte[2];
        int status = control1(UsbDevice.CLASS_INTERFACE_IN, Usbtmc.INITIATE_CLEAR, 0, iface, r, deadline,
                "INITIATE_CLEAR");
        if (status != Usbtmc.STATUS_SUCCESS) {
            throw new LabHalException(resource + ": the device refused INITIATE_CLEAR with " + Usbtmc.status(status));
        }
        long pause = FIRST_POLL_NANOS;
        while (true) {
            status = control1(UsbDevice.CLASS_INTERFACE_IN, Usbtmc.CHECK_CLEAR_STATUS, 0, iface, r, deadline,
                    "CHECK_CLEAR_STATUS");
            if (status != Usbtmc.STATUS_PENDING) {
                break;
            }
            if ((r[1] & 0x01) != 0) { // bmClear.D0: the Bulk-IN FIFO holds data, read it away
                drainBulkIn(deadline, "clearing");
            } else {
                pause = pause(pause, deadline, "CHECK_CLEAR_STATUS");
            }
        }
        if (status != Usbtmc.STATUS_SUCCESS) {
            throw new LabHalException(resource + ": the device clear failed: CHECK_CLEAR_STATUS answered "
                    + Usbtmc.status(status));
        }
        clearHalt(device.bulkOutEndpoint(), deadline);
        abortInTag = 0; // the clear dropped whatever those aborts were for
        abortOutTag = 0;
    }

    // InstrumentControl

    @Override
    public int readStatusByte(Duration timeout) throws LabHalException {
        ensureOpen();
        if (!capabilities.usb488()) {
            throw new InstrumentControlUnsupportedException(resource + " is a USBTMC interface without USB488 "
                    + "(bInterfaceProtocol " + device.interfaceProtocol() + "): it has no READ_STATUS_BYTE",
                    TransportKind.USBTMC);
        }
        Deadline deadline = Deadline.after(timeout);
        settle(deadline);
        statusTag = statusTag >= 127 ? 2 : statusTag + 1;
        int tag = statusTag;
        byte[] r = new byte[3];
        int status = control1(UsbDevice.CLASS_INTERFACE_IN, Usbtmc.READ_STATUS_BYTE, tag, device.interfaceNumber(),
                r, deadline, "READ_STATUS_BYTE");
        if (status != Usbtmc.STATUS_SUCCESS) {
            throw new LabHalException(resource + ": READ_STATUS_BYTE answered " + Usbtmc.status(status));
        }
        if ((r[1] & 0xFF) != tag) {
            throw lose("READ_STATUS_BYTE with bTag " + tag + " was answered with bTag " + (r[1] & 0xFF), null);
        }
        if (device.interruptInEndpoint() < 0) {
            return r[2] & 0xFF;
        }
        // With an Interrupt-IN endpoint the status byte comes there: bNotify1 = 0x80 | bTag, bNotify2 = STB
        byte[] notify = new byte[2];
        while (true) {
            int n;
            try {
                n = device.interruptIn(notify, 0, 2, wait(deadline, "the status byte on Interrupt-IN"));
            } catch (UsbException e) {
                throw failure("waiting for the status byte on Interrupt-IN", e, device.interruptInEndpoint(),
                        deadline);
            } catch (InterruptedException e) {
                throw interrupted("waiting for the status byte on Interrupt-IN", e);
            }
            if (n == 2 && (notify[0] & 0xFF) == (0x80 | tag)) {
                return notify[1] & 0xFF;
            }
            // another notification (a service request, bNotify1 0x81, or an older status byte): not ours
        }
    }

    @Override
    public void trigger(Duration timeout) throws LabHalException {
        ensureOpen();
        if (!capabilities.trigger()) {
            throw new InstrumentControlUnsupportedException(resource + " does not accept the USB488 TRIGGER message "
                    + "(its GET_CAPABILITIES says so): send *TRG instead", TransportKind.USBTMC);
        }
        Deadline deadline = Deadline.after(timeout);
        settle(deadline);
        int tag = nextTag();
        byte[] message = new byte[Usbtmc.HEADER_SIZE];
        Usbtmc.header(message, Usbtmc.TRIGGER, tag, 0, 0, 0);
        bulkOut(message, message.length, tag, deadline, "TRIGGER");
    }

    @Override
    public void remoteLocal(RemoteLocal mode, Duration timeout) throws LabHalException {
        Objects.requireNonNull(mode, "mode");
        ensureOpen();
        if (!capabilities.renControl()) {
            throw new InstrumentControlUnsupportedException(resource + " does not support USB488 REN_CONTROL, "
                    + "GO_TO_LOCAL and LOCAL_LOCKOUT (its GET_CAPABILITIES says so): use the instrument's own SCPI "
                    + "commands for remote and local", TransportKind.USBTMC);
        }
        Deadline deadline = Deadline.after(timeout);
        settle(deadline);
        switch (mode) {
            case REMOTE -> renRequest(Usbtmc.REN_CONTROL, 1, deadline, "REN_CONTROL (assert)");
            case LOCAL -> renRequest(Usbtmc.GO_TO_LOCAL, 0, deadline, "GO_TO_LOCAL");
            case LOCAL_LOCKOUT -> {
                renRequest(Usbtmc.REN_CONTROL, 1, deadline, "REN_CONTROL (assert)");
                renRequest(Usbtmc.LOCAL_LOCKOUT, 0, deadline, "LOCAL_LOCKOUT");
            }
            case RELEASE -> renRequest(Usbtmc.REN_CONTROL, 0, deadline, "REN_CONTROL (deassert)");
        }
    }

    private void renRequest(int request, int value, Deadline deadline, String what) throws LabHalException {
        byte[] r = new byte[1];
        int status = control1(UsbDevice.CLASS_INTERFACE_IN, request, value, device.interfaceNumber(), r, deadline,
                what);
        if (status != Usbtmc.STATUS_SUCCESS) {
            throw new LabHalException(resource + ": " + what + " answered " + Usbtmc.status(status));
        }
    }

    // Aborts

    /** Runs the aborts owed by an earlier call that timed out or was interrupted. */
    private void settle(Deadline deadline) throws LabHalException {
        try {
            if (abortOutTag != 0) {
                abortBulkOut(abortOutTag, deadline);
                abortOutTag = 0;
            }
            if (abortInTag != 0) {
                abortBulkIn(abortInTag, deadline);
                abortInTag = 0;
            }
        } catch (StepInterruptedException | ConnectionLostException e) {
            throw e; // an interrupt leaves the abort owed; a lost link is closed already
        } catch (IoTimeoutException e) {
            throw lose("the abort of a transfer that timed out or was interrupted did not finish within "
                    + deadline.timeout().toMillis() + " ms", e);
        } catch (LabHalException e) {
            throw lose("the abort of a transfer that timed out or was interrupted failed: " + e.getMessage(), e);
        }
    }

    private void abortBulkOut(int tag, Deadline deadline) throws LabHalException {
        int ep = device.bulkOutEndpoint();
        byte[] r = new byte[8];
        int status = control1(UsbDevice.CLASS_ENDPOINT_IN, Usbtmc.INITIATE_ABORT_BULK_OUT, tag, ep, r, deadline,
                "INITIATE_ABORT_BULK_OUT");
        if (status != Usbtmc.STATUS_SUCCESS) {
            return; // STATUS_FAILED / TRANSFER_NOT_IN_PROGRESS: nothing of that transfer is in progress
        }
        long pause = FIRST_POLL_NANOS;
        while (control1(UsbDevice.CLASS_ENDPOINT_IN, Usbtmc.CHECK_ABORT_BULK_OUT_STATUS, 0, ep, r, deadline,
                "CHECK_ABORT_BULK_OUT_STATUS") == Usbtmc.STATUS_PENDING) {
            pause = pause(pause, deadline, "CHECK_ABORT_BULK_OUT_STATUS");
        }
        clearHalt(ep, deadline);
    }

    private void abortBulkIn(int tag, Deadline deadline) throws LabHalException {
        int ep = device.bulkInEndpoint();
        byte[] r = new byte[8];
        int status = control1(UsbDevice.CLASS_ENDPOINT_IN, Usbtmc.INITIATE_ABORT_BULK_IN, tag, ep, r, deadline,
                "INITIATE_ABORT_BULK_IN");
        if (status != Usbtmc.STATUS_SUCCESS) {
            return; // nothing of that transfer is in progress and the FIFO is empty
        }
        drainBulkIn(deadline, "aborting"); // the rest of the aborted transfer, up to its short packet
        long pause = FIRST_POLL_NANOS;
        while (control1(UsbDevice.CLASS_ENDPOINT_IN, Usbtmc.CHECK_ABORT_BULK_IN_STATUS, 0, ep, r, deadline,
                "CHECK_ABORT_BULK_IN_STATUS") == Usbtmc.STATUS_PENDING) {
            if ((r[1] & 0x01) != 0) { // bmAbortBulkIn.D0: more data in the FIFO, read it away
                drainBulkIn(deadline, "aborting");
            } else {
                pause = pause(pause, deadline, "CHECK_ABORT_BULK_IN_STATUS");
            }
        }
    }

    /** Reads Bulk-IN until a short packet, for a short while: what an abort or a clear leaves there. */
    private void drainBulkIn(Deadline deadline, String why) throws LabHalException {
        while (true) {
            long wait = Math.min(deadline.remainingNanos(), DRAIN_WAIT_NANOS);
            if (wait == 0) {
                return;
            }
            int n;
            try {
                n = device.bulkIn(in, 0, in.length, Duration.ofNanos(wait));
            } catch (UsbException e) {
                if (e.kind() == UsbException.Kind.TIMEOUT) {
                    return; // nothing more: the device had nothing left
                }
                throw failure(why + " (reading Bulk-IN away)", e, device.bulkInEndpoint(), deadline);
            } catch (InterruptedException e) {
                throw interrupted(why + " (reading Bulk-IN away)", e);
            }
            if (n < in.length && (n == 0 || n % inPacket != 0)) {
                return;
            }
        }
    }

    // Transfers

    private void bulkOut(byte[] data, int length, int tag, Deadline deadline, String what) throws LabHalException {
        try {
            device.bulkOut(data, 0, length, wait(deadline, what));
        } catch (UsbException e) {
            abortOutTag = tag;
            throw failure("sending " + what + " (bTag " + tag + ")", e, device.bulkOutEndpoint(), deadline);
        } catch (InterruptedException e) {
            abortOutTag = tag;
            throw interrupted("sending " + what + " (bTag " + tag + ")", e);
        }
    }

    /** A class request whose data stage starts with a USBTMC_status byte; returns that status. */
    private int control1(int type, int request, int value, int index, byte[] r, Deadline deadline, String what)
            throws LabHalException {
        int n = control(type, request, value, index, r, deadline, what);
        if (n < 1) {
            throw lose(what + " was answered with no status byte", null);
        }
        return r[0] & 0xFF;
    }

    private int control(int type, int request, int value, int index, byte[] r, Deadline deadline, String what)
            throws LabHalException {
        try {
            return device.controlIn(type, request, value, index, r, wait(deadline, what));
        } catch (UsbException e) {
            if (e.kind() == UsbException.Kind.STALL) {
                throw new LabHalException(resource + ": the device refused the control request " + what + " (STALL)");
            }
            throw failure(what, e, -1, deadline);
        } catch (InterruptedException e) {
            throw interrupted(what, e);
        }
    }

    private void clearHalt(int endpoint, Deadline deadline) throws LabHalException {
        try {
            device.clearHalt(endpoint, wait(deadline, "CLEAR_FEATURE(ENDPOINT_HALT)"));
        } catch (UsbException e) {
            throw failure(String.format("clearing the halt of endpoint 0x%02X", endpoint), e, -1, deadline);
        } catch (InterruptedException e) {
            throw interrupted("clearing an endpoint halt", e);
        }
    }

    /** @return the time left for a transfer; throws the timeout when none is left */
    private Duration wait(Deadline deadline, String what) throws IoTimeoutException {
        if (deadline.expired()) {
            throw new IoTimeoutException(resource + ": no time left for " + what + " within "
                    + deadline.timeout().toMillis() + " ms", deadline.timeout());
        }
        return deadline.remaining();
    }

    /** Sleeps between status polls, doubling the pause up to a cap, within the deadline. */
    private long pause(long pause, Deadline deadline, String what) throws LabHalException {
        long left = deadline.remainingNanos();
        if (left == 0) {
            throw new IoTimeoutException(resource + ": " + what + " still answered STATUS_PENDING after "
                    + deadline.timeout().toMillis() + " ms", deadline.timeout());
        }
        try {
            TimeUnit.NANOSECONDS.sleep(Math.min(pause, left));
        } catch (InterruptedException e) {
            throw interrupted("waiting for " + what, e);
        }
        return Math.min(MAX_POLL_NANOS, pause * 2);
    }

    private LabHalException failure(String what, UsbException e, int endpoint, Deadline deadline) {
        return switch (e.kind()) {
            case TIMEOUT -> new IoTimeoutException(resource + ": " + what + " timed out after "
                    + deadline.timeout().toMillis() + " ms", deadline.timeout());
            case STALL -> halted(what, endpoint, deadline);
            case NO_DEVICE -> lose("the device was detached while " + what, e);
            case CLOSED -> closedException();
            default -> lose(what + " failed: " + e.getMessage(), e);
        };
    }

    /** Clears the halt of an endpoint that answered STALL and reports it; the link stays usable. */
    private LabHalException halted(String what, int endpoint, Deadline deadline) {
        String ep = String.format("0x%02X", endpoint);
        try {
            Uninterruptibly.run(() -> Halts.clear(device, endpoint,
                    Duration.ofNanos(Math.max(deadline.remainingNanos(), TimeUnit.MILLISECONDS.toNanos(100)))));
        } catch (UsbException | RuntimeException e) {
            return lose("endpoint " + ep + " halted (STALL) while " + what + ", and clearing the halt failed: "
                    + e.getMessage(), e);
        }
        return new LabHalException(resource + ": the device halted endpoint " + ep + " (STALL) while " + what
                + "; the halt was cleared, the step did not complete");
    }

    private StepInterruptedException interrupted(String what, InterruptedException e) {
        Thread.currentThread().interrupt();
        return new StepInterruptedException("Interrupted while " + what + " on " + resource
                + "; the transfer is aborted before the next step", e);
    }

    private int nextTag() {
        lastTag = lastTag >= 255 ? 1 : lastTag + 1;
        return lastTag;
    }

    /** Closes the link because it is out of step or gone; returns the exception to throw. */
    private ConnectionLostException lose(String why, Throwable cause) {
        kill(why);
        return new ConnectionLostException(resource + ": " + why + "; the link is closed", cause);
    }

    private ConnectionLostException closedException() {
        return new ConnectionLostException(resource + " is closed: " + closedBecause, null);
    }

    private void ensureOpen() throws ConnectionLostException {
        if (closedBecause != null) {
            throw closedException();
        }
    }

    @Override
    public boolean isOpen() {
        return closedBecause == null;
    }

    @Override
    public String describe() {
        return resource + " (USBTMC" + (capabilities != null && capabilities.usb488() ? "/USB488" : "") + ", "
                + device.describe() + ")";
    }

    @Override
    public void close() {
        kill("closed by its owner");
    }

    /** Closes the link at once for {@code reason}; blocked callers wake with it. Any thread. */
    void kill(String reason) {
        synchronized (this) {
            if (closedBecause != null) {
                return;
            }
            closedBecause = reason;
        }
        device.close();
        if (onClosed != null) {
            onClosed.accept(this);
        }
    }
}
