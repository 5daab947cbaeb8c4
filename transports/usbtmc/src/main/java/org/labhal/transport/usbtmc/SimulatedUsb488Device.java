package org.labhal.transport.usbtmc;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.labhal.transport.sim.SimConnection;
import org.labhal.transport.sim.SimRead;
import org.labhal.transport.sim.SimulatedInstrument;
import org.labhal.transport.usbtmc.internal.Usbtmc;

/**
 * A USB488 device (or, built with {@link Builder#raw}, a plain bulk-pipe device) in plain Java, with a
 * {@link SimulatedInstrument} behind its endpoints. {@link #open()} gives the host-side view, a
 * {@link UsbDevice}, so the transport's protocol engine talks to it in-process exactly as it talks to
 * libusb.
 *
 * <h2>What it enforces (USBTMC 1.0, USB488 1.0)</h2>
 * A Bulk-OUT message with bTag 0, a bTagInverse that is not the inverse of bTag, an unknown MsgID, a
 * TransferSize beyond the transfer, a length that is not a multiple of 4, TermChar asked of a device
 * whose capabilities deny it, or TRIGGER where it is not supported halts (STALLs) Bulk-OUT until the
 * host clears the halt. Messages, requests and triggers are handled strictly in the order they arrived,
 * by one device thread, so an answer cannot overtake the message before it. INITIATE_ABORT_BULK_IN
 * drops the request and the queued transfer of the bTag it names (STATUS_FAILED for another bTag) and
 * ends the transfer with a zero-length packet; INITIATE_CLEAR drops everything queued and device-clears
 * the instrument. A Bulk-IN transfer never carries more than the request asked for; TermChar ends it
 * early when asked and supported. READ_STATUS_BYTE answers on Interrupt-IN where the device has that
 * endpoint, else in the control response. REN_CONTROL, GO_TO_LOCAL, LOCAL_LOCKOUT and TRIGGER are
 * recorded ({@link #remote()}, {@link #localLockout()}, {@link #triggers()}).
 *
 * <h2>Simulator-only query</h2>
 * {@code SIMulation:BLOCK? <n>} (a whole message on its own) is answered by the device itself with an
 * IEEE 488.2 definite-length block of {@code n} bytes counting 0, 1, ... 255, 0, ... (so {@code '\n'}
 * appears inside it), followed by {@code '\n'}: a binary answer for tests.
 *
 * <h2>Faults</h2>
 * {@link #inject(Fault)} arms a one-shot fault; {@link #splitTransfers(int)} and {@link #trickle(Duration)}
 * change how every answer is sent; {@link #detach()} unplugs it.
 *
 * <p>Thread-safe: host calls, knobs and {@link #close()} may come from any thread; a handle's
 * {@link UsbDevice#close()} wakes its waiting transfers.
 */
public final class SimulatedUsb488Device implements AutoCloseable {

    /** One-shot faults, see {@link #inject(Fault)}. */
    public enum Fault {
        /** The next Bulk-OUT transfer is answered with STALL. */
        STALL_BULK_OUT,
        /** The next Bulk-IN transfer is answered with STALL. */
        STALL_BULK_IN,
        /** The next Bulk-OUT transfer is not accepted at all (NAK until the host gives up). */
        BLOCK_BULK_OUT,
        /** The next answer carries another bTag than its request's. */
        WRONG_TAG,
        /** The next answer is replaced by bytes that are no USBTMC header. */
        GARBAGE,
        /** The next answer announces a TransferSize of nearly 2 GiB. */
        ABSURD_SIZE,
        /** The next answer ends with a short packet before the bytes its header announced. */
        SHORT_TRANSFER,
        /** The next request is never answered. */
        NEVER_ANSWER,
        /** The device is unplugged after the first packet of the next answer. */
        VANISH
    }

    private static final int FIFO_LIMIT = 4; // transfers queued on Bulk-IN before the device stops adding
    private static final byte[] ZLP = new byte[0];

    private final SimulatedInstrument instrument;
    private final SimConnection connection;
    private final int vendorId;
    private final int productId;
    private final String serial;
    private final boolean raw;
    private final boolean termCharSupported;
    private final boolean interruptIn;
    private final boolean triggerSupported;
    private final boolean renControlSupported;
    private final int maxPacket;
    private final ExecutorService worker;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    // guarded by lock
    private final ArrayDeque<Object> inbox = new ArrayDeque<>(); // Message, Request, TRIGGER_ITEM in arrival order
    private final ArrayDeque<byte[]> bulkIn = new ArrayDeque<>(); // whole transfers; ZLP ends an aborted one
    private int bulkInPosition; // bytes of bulkIn's head already delivered
    private final ArrayDeque<byte[]> notifications = new ArrayDeque<>(); // Interrupt-IN packets
    private Request held; // a request waiting for a response
    private Request serving; // the request the device thread is answering
    private long inGeneration; // bumped by Bulk-IN aborts and clears: requests from before are dropped
    private long clearGeneration; // bumped by clears: messages from before are dropped
    private final EnumSet<Fault> armed = EnumSet.noneOf(Fault.class);
    private int split; // 0, or the most bytes per answer transfer
    private long trickleNanos;
    private boolean stalledOut;
    private boolean stalledIn;
    private boolean detached;
    private boolean closed;
    private boolean vanishing; // detach after the packet being delivered
    private Handle claimedBy;
    private int lastOutTag;
    private boolean ren;
    private boolean remote;
    private boolean lockout;
    private int triggers;
    private int stalls;
    private int messagesIn; // DEV_DEP_MSG_OUT transfers accepted
    private int answersOut; // DEV_DEP_MSG_IN transfers queued
    private volatile RuntimeException failure;
    private boolean busy; // the device thread handles an item
    private int hostsWaiting; // host transfers waiting on Bulk-IN or Interrupt-IN
    private byte[] carry = ZLP; // response bytes read from the instrument, not yet sent
    private int carryAt;
    private boolean carryEnds;

    private static final Object TRIGGER_ITEM = new Object();

    private record Message(byte[] data, boolean eom, long generation) {
    }

    private record Request(int tag, int size, boolean termChar, byte termCharValue, long generation) {
    }

    private SimulatedUsb488Device(Builder b) throws IOException {
        this.instrument = b.instrument;
        this.vendorId = b.vendorId;
        this.productId = b.productId;
        this.serial = b.serial;
        this.raw = b.raw;
        this.termCharSupported = b.termChar;
        this.interruptIn = b.interruptIn;
        this.triggerSupported = b.trigger;
        this.renControlSupported = b.renControl;
        this.maxPacket = b.maxPacket;
        this.connection = instrument.connect();
        String name = "labhal-usb-sim-" + serial;
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
        worker.execute(this::run);
    }

    /**
     * @param instrument the instrument behind the endpoints; the device opens one connection to it and
     *        does not close the instrument
     * @return a builder with the defaults: vendor 0x0AAD, product 0x0001, serial {@code SIM-0}, USB488
     *         with TermChar, REN control, TRIGGER and an Interrupt-IN endpoint, 512-byte packets
     */
    public static Builder builder(SimulatedInstrument instrument) {
        return new Builder(instrument);
    }

    /** Builds a {@link SimulatedUsb488Device}. Not thread-safe. */
    public static final class Builder {
        private final SimulatedInstrument instrument;
        private int vendorId = 0x0AAD;
        private int productId = 0x0001;
        private String serial = "SIM-0";
        private boolean raw;
        private boolean termChar = true;
        private boolean interruptIn = true;
        private boolean trigger = true;
        private boolean renControl = true;
        private int maxPacket = 512;

        private Builder(SimulatedInstrument instrument) {
            this.instrument = Objects.requireNonNull(instrument, "instrument");
        }

        /** @param id {@code idVendor}, 0 to 0xFFFF */
        public Builder vendorId(int id) {
            this.vendorId = checkId(id);
            return this;
        }

        /** @param id {@code idProduct}, 0 to 0xFFFF */
        public Builder productId(int id) {
            this.productId = checkId(id);
            return this;
        }

        /** @param serialNumber the iSerialNumber string */
        public Builder serial(String serialNumber) {
            this.serial = Objects.requireNonNull(serialNumber, "serialNumber");
            return this;
        }

        /** @param supported whether GET_CAPABILITIES offers TermChar (default true) */
        public Builder termChar(boolean supported) {
            this.termChar = supported;
            return this;
        }

        /** @param present whether the interface has an Interrupt-IN endpoint (default true) */
        public Builder interruptIn(boolean present) {
            this.interruptIn = present;
            return this;
        }

        /** @param supported whether GET_CAPABILITIES offers the USB488 TRIGGER message (default true) */
        public Builder trigger(boolean supported) {
            this.trigger = supported;
            return this;
        }

        /** @param supported whether GET_CAPABILITIES offers REN_CONTROL, GO_TO_LOCAL, LOCAL_LOCKOUT (default true) */
        public Builder renControl(boolean supported) {
            this.renControl = supported;
            return this;
        }

        /** @param bytes {@code wMaxPacketSize} of the bulk endpoints: 64 (full speed) or 512 (high speed) */
        public Builder maxPacketSize(int bytes) {
            if (bytes != 8 && bytes != 16 && bytes != 32 && bytes != 64 && bytes != 512) {
                throw new IllegalArgumentException("wMaxPacketSize of a bulk endpoint is 8, 16, 32, 64 or 512, not "
                        + bytes);
            }
            this.maxPacket = bytes;
            return this;
        }

        /**
         * @param rawPipe a vendor-specific interface whose bulk pipes carry the instrument's bytes as they
         *        are (for {@code ::RAW} resources), instead of USBTMC
         */
        public Builder raw(boolean rawPipe) {
            this.raw = rawPipe;
            return this;
        }

        /**
         * @return the device, its device thread started
         * @throws IOException when the instrument is closed
         */
        public SimulatedUsb488Device build() throws IOException {
            return new SimulatedUsb488Device(this);
        }

        private static int checkId(int id) {
            if (id < 0 || id > 0xFFFF) {
                throw new IllegalArgumentException("a USB id is 0 to 0xFFFF, not " + id);
            }
            return id;
        }
    }

    // Identity

    /** @return {@code idVendor} */
    public int vendorId() {
        return vendorId;
    }

    /** @return {@code idProduct} */
    public int productId() {
        return productId;
    }

    /** @return the iSerialNumber string */
    public String serial() {
        return serial;
    }

    /** @return whether this is a raw bulk-pipe device rather than USBTMC */
    public boolean isRaw() {
        return raw;
    }

    /**
     * Claims the interface, as a host's libusb handle does.
     *
     * @return the host-side view; close it to release the interface
     * @throws UsbException {@link UsbException.Kind#BUSY} when another handle holds it,
     *         {@link UsbException.Kind#NO_DEVICE} when the device is detached or closed
     */
    public UsbDevice open() throws UsbException {
        lock.lock();
        try {
            if (detached || closed) {
                throw new UsbException(UsbException.Kind.NO_DEVICE, "the simulated device " + serial + " is "
                        + (closed ? "powered off" : "detached"));
            }
            if (claimedBy != null) {
                throw new UsbException(UsbException.Kind.BUSY, "interface 0 of the simulated device " + serial
                        + " is claimed by another handle");
            }
            claimedBy = new Handle();
            return claimedBy;
        } finally {
            lock.unlock();
        }
    }

    // Knobs

    /** Arms a one-shot fault for the next transfer it applies to. */
    public void inject(Fault fault) {
        lock.lock();
        try {
            armed.add(Objects.requireNonNull(fault, "fault"));
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** @param bytes from now on answer in transfers of at most this many message bytes; 0 for no limit */
    public void splitTransfers(int bytes) {
        lock.lock();
        try {
            split = Math.max(0, bytes);
        } finally {
            lock.unlock();
        }
    }

    /** @param perPacket from now on deliver one Bulk-IN packet at a time, this long after the last */
    public void trickle(Duration perPacket) {
        lock.lock();
        try {
            trickleNanos = Math.max(0, perPacket.toNanos());
        } finally {
            lock.unlock();
        }
    }

    /** Unplugs the device: every transfer fails with {@link UsbException.Kind#NO_DEVICE} from now on. */
    public void detach() {
        lock.lock();
        try {
            detached = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    // What the host did, for tests

    /** @return whether REN is asserted */
    public boolean renAsserted() {
        return locked(() -> ren);
    }

    /** @return whether the device is in remote (REN asserted and not sent to local) */
    public boolean remote() {
        return locked(() -> remote);
    }

    /** @return whether local lockout is in force */
    public boolean localLockout() {
        return locked(() -> lockout);
    }

    /** @return how many USB488 TRIGGER messages arrived */
    public int triggers() {
        return locked(() -> triggers);
    }

    /**
     * @return how many times the device answered STALL: a Bulk-OUT halted because the host broke the protocol
     *         or a fault said so, or a control request it refused
     */
    public int stalls() {
        return locked(() -> stalls);
    }

    /** @return how many DEV_DEP_MSG_OUT transfers the device accepted */
    public int messageTransfers() {
        return locked(() -> messagesIn);
    }

    /** @return how many DEV_DEP_MSG_IN transfers the device sent or queued */
    public int answerTransfers() {
        return locked(() -> answersOut);
    }

    /**
     * Waits until a host transfer waits for the device (on Bulk-IN, Interrupt-IN, or a Bulk-OUT it does not accept), so a test can interrupt or close it
     * while it surely waits.
     *
     * @return whether one did within {@code timeout}
     * @throws InterruptedException when interrupted
     */
    public boolean awaitHostWaiting(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (hostsWaiting == 0) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                changed.awaitNanos(left);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until the device has handled everything that arrived on Bulk-OUT (messages executed,
     * requests answered or held), as a test needs before it reads the status byte.
     *
     * @return whether it did within {@code timeout}
     * @throws InterruptedException when interrupted
     */
    public boolean awaitIdle(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (!inbox.isEmpty() || busy) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                changed.awaitNanos(left);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** @return whether an endpoint is halted now */
    public boolean halted() {
        return locked(() -> stalledIn || stalledOut);
    }

    private <T> T locked(java.util.function.Supplier<T> read) {
        lock.lock();
        try {
            return read.get();
        } finally {
            lock.unlock();
        }
    }

    /** Powers the device off: stops its thread, closes its instrument connection; idempotent. */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        worker.shutdownNow();
        connection.close();
    }

    @Override
    public String toString() {
        return String.format("simulated USB%s device 0x%04X:0x%04X serial %s (%s)", raw ? " raw" : "488", vendorId,
                productId, serial, instrument.model());
    }

    // The device thread: handles what arrived on Bulk-OUT in order

    private void run() {
        try {
            while (true) {
                Object item;
                lock.lock();
                try {
                    while (inbox.isEmpty() && !closed) {
                        changed.await();
                    }
                    if (closed) {
                        return;
                    }
                    item = inbox.poll();
                    busy = true;
                    if (item instanceof Request r) {
                        serving = r;
                    }
                } finally {
                    lock.unlock();
                }
                try {
                    if (item instanceof Message m) {
                        execute(m);
                    } else if (item instanceof Request r) {
                        answer(r);
                    } else {
                        lock.lock();
                        try {
                            triggers++;
                        } finally {
                            lock.unlock();
                        }
                    }
                } finally {
                    lock.lock();
                    try {
                        busy = false;
                        changed.signalAll();
                    } finally {
                        lock.unlock();
                    }
                }
            }
        } catch (InterruptedException | IOException e) {
            // powered off
        } catch (RuntimeException e) {
            failure = e; // a defect of the simulator: make it visible to tests
            throw e;
        }
    }

    private void execute(Message m) throws IOException, InterruptedException {
        String text = new String(m.data, StandardCharsets.ISO_8859_1).strip();
        lock.lock();
        try {
            if (m.generation != clearGeneration) {
                return; // cleared meanwhile
            }
            carry = ZLP; // a new message discards an unread response (IEEE 488.2 6.3.2.3)
            carryAt = 0;
            String upper = text.toUpperCase(java.util.Locale.ROOT);
            String query = upper.startsWith("SIMULATION:BLOCK? ") ? "SIMULATION:BLOCK? "
                    : upper.startsWith("SIM:BLOCK? ") ? "SIM:BLOCK? " : null;
            if (!raw && m.eom && query != null) {
                carry = block(Integer.parseInt(text.substring(query.length()).strip()));
                carryEnds = true;
                return;
            }
        } catch (NumberFormatException e) {
            return; // a bad count: no answer, as an instrument would queue an error
        } finally {
            lock.unlock();
        }
        connection.write(m.data, 0, m.data.length, m.eom);
        if (locked(() -> m.generation != clearGeneration)) {
            connection.deviceClear(); // a clear came while it executed: nothing of it may survive
            return;
        }
        if (raw) {
            pumpRaw();
        }
    }

    private static byte[] block(int n) {
        if (n < 0 || n > 1 << 20) {
            throw new NumberFormatException("block size " + n);
        }
        String length = Integer.toString(n);
        byte[] b = new byte[2 + length.length() + n + 1];
        b[0] = '#';
        b[1] = (byte) ('0' + length.length());
        System.arraycopy(length.getBytes(StandardCharsets.US_ASCII), 0, b, 2, length.length());
        for (int i = 0; i < n; i++) {
            b[2 + length.length() + i] = (byte) i;
        }
        b[b.length - 1] = '\n';
        return b;
    }

    /** RAW: everything the instrument answered goes to Bulk-IN as it is. */
    private void pumpRaw() throws IOException, InterruptedException {
        byte[] buffer = new byte[64 * 1024];
        while ((connection.statusByte(false) & 0x10) != 0) { // MAV, read without side effects
            SimRead read;
            try {
                read = connection.read(buffer, 0, buffer.length, Duration.ZERO);
            } catch (TimeoutException e) {
                return;
            }
            lock.lock();
            try {
                bulkIn.add(Arrays.copyOf(buffer, read.count()));
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Answers one REQUEST_DEV_DEP_MSG_IN with one DEV_DEP_MSG_IN transfer, or holds it. */
    private void answer(Request r) throws IOException, InterruptedException {
        boolean never;
        lock.lock();
        try {
            never = armed.remove(Fault.NEVER_ANSWER); // taken by the next request, even one aborted meanwhile
            while (bulkIn.size() >= FIFO_LIMIT && !closed && r.generation == inGeneration) {
                changed.await(); // the host is not reading: the device does not queue without bound
            }
        } finally {
            lock.unlock();
        }
        boolean available = locked(() -> carryAt < carry.length);
        if (!available && (connection.statusByte(false) & 0x10) != 0) { // MAV: fetch from the instrument
            byte[] buffer = new byte[Math.max(1, Math.min(r.size, 1 << 20))];
            try {
                SimRead read = connection.read(buffer, 0, buffer.length, Duration.ZERO);
                lock.lock();
                try {
                    carry = Arrays.copyOf(buffer, read.count());
                    carryAt = 0;
                    carryEnds = read.end();
                } finally {
                    lock.unlock();
                }
                available = true;
            } catch (TimeoutException e) {
                available = false;
            }
        }
        lock.lock();
        try {
            serving = null;
            if (r.generation != inGeneration) {
                return; // aborted or cleared while this was being answered
            }
            if (never || !available) {
                held = r; // waits until aborted or cleared
                return;
            }
            int n = Math.min(r.size, carry.length - carryAt);
            if (split > 0) {
                n = Math.min(n, split);
            }
            boolean termMatched = false;
            if (r.termChar) {
                for (int i = 0; i < n; i++) {
                    if (carry[carryAt + i] == r.termCharValue) {
                        n = i + 1;
                        termMatched = true;
                        break;
                    }
                }
            }
            boolean eom = carryEnds && carryAt + n == carry.length;
            byte[] transfer = new byte[Usbtmc.align4(Usbtmc.HEADER_SIZE + n)];
            int tag = armed.remove(Fault.WRONG_TAG) ? (r.tag % 255) + 1 : r.tag;
            long size = armed.remove(Fault.ABSURD_SIZE) ? 0x7FFF_FFF0L : n;
            Usbtmc.header(transfer, Usbtmc.DEV_DEP_MSG_IN, tag, size,
                    (eom ? Usbtmc.ATTR_EOM : 0) | (termMatched ? Usbtmc.ATTR_TERM_CHAR_MATCHED : 0), 0);
            System.arraycopy(carry, carryAt, transfer, Usbtmc.HEADER_SIZE, n);
            carryAt += n;
            if (armed.remove(Fault.GARBAGE)) {
                for (int i = 0; i < transfer.length; i++) {
                    transfer[i] = (byte) (0x55 + 37 * i);
                }
            }
            if (armed.remove(Fault.SHORT_TRANSFER)) {
                int cut = Usbtmc.HEADER_SIZE + n / 2;
                if (cut % maxPacket == 0) {
                    cut--;
                }
                transfer = Arrays.copyOf(transfer, cut);
            }
            if (armed.remove(Fault.VANISH)) {
                vanishing = true;
            }
            bulkIn.add(transfer);
            answersOut++;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    // The host side

    private final class Handle implements UsbDevice {
        private boolean released; // guarded by lock

        @Override
        public String describe() {
            return String.format("simulated USB device 0x%04X:0x%04X serial %s", vendorId, productId, serial);
        }

        @Override
        public String serialNumber() {
            return serial;
        }

        @Override
        public int interfaceNumber() {
            return 0;
        }

        @Override
        public int interfaceProtocol() {
            return raw ? 0xFF : Usbtmc.PROTOCOL_USB488;
        }

        @Override
        public int bulkOutEndpoint() {
            return 0x02;
        }

        @Override
        public int bulkInEndpoint() {
            return 0x81;
        }

        @Override
        public int interruptInEndpoint() {
            return interruptIn && !raw ? 0x83 : -1;
        }

        @Override
        public int bulkOutMaxPacketSize() {
            return maxPacket;
        }

        @Override
        public int bulkInMaxPacketSize() {
            return maxPacket;
        }

        /** Throws when the handle or device is gone. Called with the lock held. */
        private void check() throws UsbException {
            if (released) {
                throw new UsbException(UsbException.Kind.CLOSED, "the handle was closed");
            }
            if (failure != null) {
                throw new UsbException(UsbException.Kind.IO, "the simulated device failed: " + failure);
            }
            if (detached || closed) {
                throw new UsbException(UsbException.Kind.NO_DEVICE, "no such device (it may have been disconnected)");
            }
        }

        private UsbException stall(boolean out, String why) {
            if (out) {
                stalledOut = true;
            } else {
                stalledIn = true;
            }
            stalls++;
            return new UsbException(UsbException.Kind.STALL, "pipe error: endpoint halted (" + why + ")");
        }

        /** Waits for a change until {@code end} (nanoTime); throws TIMEOUT once it has passed. */
        private void await(long end, int transferred) throws UsbException, InterruptedException {
            long left = end - System.nanoTime();
            if (left <= 0) {
                throw new UsbException(UsbException.Kind.TIMEOUT, "operation timed out", transferred);
            }
            hostsWaiting++;
            changed.signalAll();
            try {
                changed.awaitNanos(left);
            } finally {
                hostsWaiting--;
            }
            check();
        }

        @Override
        public int controlIn(int requestType, int request, int value, int index, byte[] into, Duration timeout)
                throws UsbException, InterruptedException {
            boolean clear = false;
            int n;
            lock.lockInterruptibly();
            try {
                check();
                if (raw) {
                    throw refuse("a raw device has no USBTMC requests");
                }
                Arrays.fill(into, (byte) 0);
                n = switch (request) {
                    case Usbtmc.GET_CAPABILITIES -> capabilities(into);
                    case Usbtmc.INITIATE_ABORT_BULK_OUT -> put(into, value == lastOutTag && value != 0
                            ? Usbtmc.STATUS_SUCCESS : Usbtmc.STATUS_FAILED, value, 2);
                    case Usbtmc.CHECK_ABORT_BULK_OUT_STATUS -> put(into, Usbtmc.STATUS_SUCCESS, 0, 8);
                    case Usbtmc.INITIATE_ABORT_BULK_IN -> put(into, abortIn(value), value, 2);
                    case Usbtmc.CHECK_ABORT_BULK_IN_STATUS -> bulkIn.isEmpty()
                            ? put(into, Usbtmc.STATUS_SUCCESS, 0, 8) : put(into, Usbtmc.STATUS_PENDING, 1, 8);
                    case Usbtmc.INITIATE_CLEAR -> {
                        dropEverything();
                        clear = true;
                        yield put(into, Usbtmc.STATUS_SUCCESS, 0, 1);
                    }
                    case Usbtmc.CHECK_CLEAR_STATUS -> put(into, Usbtmc.STATUS_SUCCESS, 0, 2);
                    case Usbtmc.READ_STATUS_BYTE -> -1; // below, outside the lock
                    case Usbtmc.REN_CONTROL -> {
                        if (!renControlSupported) {
                            throw refuse("REN_CONTROL is not supported");
                        }
                        ren = (value & 1) != 0;
                        remote = ren; // USB has no addressing: asserting REN addresses this device
                        lockout &= ren;
                        yield put(into, Usbtmc.STATUS_SUCCESS, 0, 1);
                    }
                    case Usbtmc.GO_TO_LOCAL -> {
                        if (!renControlSupported) {
                            throw refuse("GO_TO_LOCAL is not supported");
                        }
                        remote = false;
                        yield put(into, Usbtmc.STATUS_SUCCESS, 0, 1);
                    }
                    case Usbtmc.LOCAL_LOCKOUT -> {
                        if (!renControlSupported) {
                            throw refuse("LOCAL_LOCKOUT is not supported");
                        }
                        lockout = ren;
                        yield put(into, ren ? Usbtmc.STATUS_SUCCESS : Usbtmc.STATUS_FAILED, 0, 1);
                    }
                    default -> throw refuse("request " + request + " is not supported");
                };
            } finally {
                lock.unlock();
            }
            if (clear) {
                try {
                    connection.deviceClear(); // outside the lock: it waits for a message being executed
                } catch (IOException e) {
                    throw new UsbException(UsbException.Kind.NO_DEVICE, "no such device: " + e.getMessage());
                }
            }
            if (request == Usbtmc.READ_STATUS_BYTE) {
                return readStatusByte(value, into);
            }
            return Math.min(n, into.length);
        }

        /** A control request the device refuses: STALL of the default pipe. Called with the lock held. */
        private UsbException refuse(String why) {
            stalls++;
            return new UsbException(UsbException.Kind.STALL, "pipe error: " + why);
        }

        private int capabilities(byte[] into) {
            into[0] = Usbtmc.STATUS_SUCCESS;
            into[2] = 0x00; // bcdUSBTMC 1.00
            into[3] = 0x01;
            into[4] = 0; // talks and listens, no indicator pulse
            into[5] = (byte) (termCharSupported ? 0x01 : 0);
            into[12] = 0x00; // bcdUSB488 1.00
            into[13] = 0x01;
            // IEEE 488.2 interface, REN_CONTROL/GO_TO_LOCAL/LOCAL_LOCKOUT, TRIGGER
            into[14] = (byte) (0x04 | (renControlSupported ? 0x02 : 0) | (triggerSupported ? 0x01 : 0));
            into[15] = 0x0F; // SCPI, SR1, RL1, DT1
            return Usbtmc.CAPABILITIES_SIZE;
        }

        private int put(byte[] into, int status, int second, int length) {
            into[0] = (byte) status;
            if (length > 1) {
                into[1] = (byte) second;
            }
            return length;
        }

        /** INITIATE_ABORT_BULK_IN of {@code tag}; called with the lock held. */
        private int abortIn(int tag) {
            boolean found = false;
            for (Iterator<Object> i = inbox.iterator(); i.hasNext();) {
                if (i.next() instanceof Request r && r.tag == tag) {
                    i.remove();
                    found = true;
                }
            }
            if (held != null && held.tag == tag || serving != null && serving.tag == tag) {
                found = true;
            }
            if (!bulkIn.isEmpty() && bulkIn.peek().length >= 2 && (bulkIn.peek()[1] & 0xFF) == tag) {
                found = true;
            }
            if (!found) {
                return Usbtmc.STATUS_FAILED;
            }
            held = null;
            inGeneration++;
            bulkIn.clear();
            bulkInPosition = 0;
            bulkIn.add(ZLP); // the short packet that ends the aborted transfer
            armed.remove(Fault.VANISH);
            vanishing = false;
            changed.signalAll();
            return Usbtmc.STATUS_SUCCESS;
        }

        private void dropEverything() {
            inbox.clear();
            held = null;
            inGeneration++;
            clearGeneration++;
            bulkIn.clear();
            bulkInPosition = 0;
            carry = ZLP;
            carryAt = 0;
            changed.signalAll();
        }

        private int readStatusByte(int tag, byte[] into) throws UsbException, InterruptedException {
            if (tag < 2 || tag > 127) {
                return put(into, Usbtmc.STATUS_FAILED, tag, 3);
            }
            boolean pending = locked(() -> !bulkIn.isEmpty() || carryAt < carry.length);
            int stb;
            try {
                stb = connection.statusByte(pending);
            } catch (IOException e) {
                throw new UsbException(UsbException.Kind.NO_DEVICE, "no such device: " + e.getMessage());
            }
            lock.lockInterruptibly();
            try {
                check();
                if (interruptIn) {
                    notifications.add(new byte[] {(byte) (0x80 | tag), (byte) stb});
                    changed.signalAll();
                    into[2] = 0;
                } else {
                    into[2] = (byte) stb;
                }
                into[0] = Usbtmc.STATUS_SUCCESS;
                into[1] = (byte) tag;
                return 3;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public int bulkOut(byte[] data, int offset, int length, Duration timeout)
                throws UsbException, InterruptedException {
            long end = System.nanoTime() + timeout.toNanos();
            lock.lockInterruptibly();
            try {
                check();
                if (stalledOut) {
                    throw new UsbException(UsbException.Kind.STALL, "pipe error: Bulk-OUT is halted");
                }
                if (armed.remove(Fault.STALL_BULK_OUT)) {
                    throw stall(true, "fault");
                }
                if (armed.remove(Fault.BLOCK_BULK_OUT)) {
                    while (true) {
                        await(end, 0); // NAK until the host gives up
                    }
                }
                byte[] bytes = Arrays.copyOfRange(data, offset, offset + length);
                if (raw) {
                    inbox.add(new Message(bytes, false, clearGeneration));
                    changed.signalAll();
                    return length;
                }
                accept(bytes);
                changed.signalAll();
                return length;
            } finally {
                lock.unlock();
            }
        }

        /** Checks and queues one USBTMC Bulk-OUT message; called with the lock held. */
        private void accept(byte[] b) throws UsbException {
            if (b.length < Usbtmc.HEADER_SIZE || b.length % 4 != 0) {
                throw stall(true, b.length + " bytes are no 4-byte aligned USBTMC message");
            }
            int tag = b[1] & 0xFF;
            if (tag == 0 || !Usbtmc.tagInverseMatches(b, 0)) {
                throw stall(true, String.format("bTag %d with bTagInverse 0x%02X", tag, b[2] & 0xFF));
            }
            long size = Usbtmc.uint32(b, 4);
            switch (b[0] & 0xFF) {
                case Usbtmc.DEV_DEP_MSG_OUT -> {
                    if (size == 0 || size > b.length - Usbtmc.HEADER_SIZE) {
                        throw stall(true, "TransferSize " + size + " in a transfer of " + b.length + " bytes");
                    }
                    inbox.add(new Message(Arrays.copyOfRange(b, Usbtmc.HEADER_SIZE, Usbtmc.HEADER_SIZE + (int) size),
                            (b[8] & Usbtmc.ATTR_EOM) != 0, clearGeneration));
                    messagesIn++;
                }
                case Usbtmc.REQUEST_DEV_DEP_MSG_IN -> {
                    boolean termChar = (b[8] & Usbtmc.ATTR_TERM_CHAR_ENABLED) != 0;
                    if (termChar && !termCharSupported) {
                        throw stall(true, "TermChar asked of a device without TermChar support");
                    }
                    if (size == 0) {
                        throw stall(true, "REQUEST_DEV_DEP_MSG_IN for 0 bytes");
                    }
                    inbox.add(new Request(tag, (int) Math.min(size, Integer.MAX_VALUE), termChar, b[9], inGeneration));
                }
                case Usbtmc.TRIGGER -> {
                    if (!triggerSupported) {
                        throw stall(true, "TRIGGER on a device without it");
                    }
                    inbox.add(TRIGGER_ITEM);
                }
                default -> throw stall(true, "unknown MsgID " + (b[0] & 0xFF));
            }
            lastOutTag = tag;
        }

        @Override
        public int bulkIn(byte[] into, int offset, int length, Duration timeout)
                throws UsbException, InterruptedException {
            long end = System.nanoTime() + timeout.toNanos();
            lock.lockInterruptibly();
            try {
                check();
                if (stalledIn) {
                    throw new UsbException(UsbException.Kind.STALL, "pipe error: Bulk-IN is halted");
                }
                if (armed.remove(Fault.STALL_BULK_IN)) {
                    throw stall(false, "fault");
                }
                while (bulkIn.isEmpty()) {
                    await(end, 0);
                }
                if (trickleNanos > 0) {
                    long until = System.nanoTime() + trickleNanos;
                    while (System.nanoTime() < until) {
                        if (end - System.nanoTime() <= 0) {
                            throw new UsbException(UsbException.Kind.TIMEOUT, "operation timed out", 0);
                        }
                        changed.awaitNanos(Math.min(until, end) - System.nanoTime());
                        check();
                    }
                    if (bulkIn.isEmpty()) {
                        throw new UsbException(UsbException.Kind.TIMEOUT, "operation timed out", 0);
                    }
                }
                byte[] transfer = bulkIn.peek();
                int n = Math.min(length, transfer.length - bulkInPosition);
                if (trickleNanos > 0 || vanishing) {
                    n = Math.min(n, maxPacket);
                }
                if (n > 0 && n % maxPacket != 0 && n < transfer.length - bulkInPosition) {
                    throw new UsbException(UsbException.Kind.OVERFLOW, "overflow: " + length
                            + " bytes asked, not a multiple of the packet size " + maxPacket);
                }
                System.arraycopy(transfer, bulkInPosition, into, offset, n);
                bulkInPosition += n;
                if (bulkInPosition == transfer.length) {
                    bulkIn.poll();
                    bulkInPosition = 0;
                    changed.signalAll();
                }
                if (vanishing) {
                    vanishing = false;
                    detached = true;
                    changed.signalAll();
                }
                return n;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public int interruptIn(byte[] into, int offset, int length, Duration timeout)
                throws UsbException, InterruptedException {
            long end = System.nanoTime() + timeout.toNanos();
            lock.lockInterruptibly();
            try {
                check();
                if (!interruptIn || raw) {
                    throw new UsbException(UsbException.Kind.IO, "the interface has no Interrupt-IN endpoint");
                }
                while (notifications.isEmpty()) {
                    await(end, 0);
                }
                byte[] packet = notifications.poll();
                int n = Math.min(length, packet.length);
                System.arraycopy(packet, 0, into, offset, n);
                return n;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void clearHalt(int endpoint, Duration timeout) throws UsbException, InterruptedException {
            lock.lockInterruptibly();
            try {
                check();
                if (endpoint == bulkOutEndpoint()) {
                    stalledOut = false;
                } else if (endpoint == bulkInEndpoint()) {
                    stalledIn = false;
                }
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void close() {
            lock.lock();
            try {
                if (!released) {
                    released = true;
                    if (claimedBy == this) {
                        claimedBy = null;
                    }
                    changed.signalAll();
                }
            } finally {
                lock.unlock();
            }
        }
    }
}
