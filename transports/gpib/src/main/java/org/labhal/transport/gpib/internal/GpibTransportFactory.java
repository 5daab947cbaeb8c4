package org.labhal.transport.gpib.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import org.labhal.api.IoTimeoutException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.TransportKind;
import org.labhal.api.TransportUnavailableException;
import org.labhal.api.discovery.Discovered;
import org.labhal.api.discovery.Discoverer;
import org.labhal.api.discovery.DiscoveryRequest;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.Deadline;
import org.labhal.api.transport.TransportFactory;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The {@code GPIB} transport: {@code GPIB[board]::primary[::secondary]::INSTR[?options]} through the
 * Prologix-style controller configured as that board ({@link GpibBoard}). One controller link per
 * board, opened when the board's first resource is opened and shared by every instrument on it.
 * Options: {@code write_termination} ({@code lf} default, {@code crlf}, {@code cr}, {@code none}),
 * {@code read_termination} ({@code lf} default, {@code crlf}, which ends at its LF, {@code cr}).
 *
 * <p>Deactivation closes every board link and so every connection; removing a board's configuration
 * closes that board's. Callers blocked on them wake at once with {@code ConnectionLostException}.
 */
@Component(service = {TransportFactory.class, Discoverer.class},
        property = {TransportFactory.KINDS_PROPERTY + "=GPIB", Discoverer.KINDS_PROPERTY + "=GPIB"})
public final class GpibTransportFactory implements TransportFactory, Discoverer {
    /** The discovery setting naming the boards whose addresses may be scanned, e.g. {@code 0} or {@code 0,1}. */
    static final String SCAN = "gpib.scan";
    /** What a scan's serial poll waits beyond the board's {@code read_tmo_ms}. */
    static final long SCAN_MARGIN_MS = 150;
    private final Set<GpibBoard> boards = ConcurrentHashMap.newKeySet();
    /** The open board links; guarded by this. */
    private final Map<GpibBoard, PrologixBus> buses = new ConcurrentHashMap<>();
    /** One opener per board at a time; the others wait, each within its own open deadline and interruptibly. */
    private final Map<GpibBoard, ReentrantLock> opening = new ConcurrentHashMap<>();
    private final ExecutorService pumps;
    private final ScheduledThreadPoolExecutor watchdog;
    private volatile boolean deactivated;

    /** Activates the transport; no link is opened until a session asks. */
    @Activate
    public GpibTransportFactory() {
        AtomicInteger n = new AtomicInteger();
        this.pumps = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "labhal-gpib-link-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.watchdog = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "labhal-gpib-write-watchdog");
            t.setDaemon(true);
            return t;
        });
        watchdog.setRemoveOnCancelPolicy(true); // one guard per write: cancelled ones must not pile up
    }

    /** A board configuration appeared. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    public void addBoard(GpibBoard board) {
        boards.add(board);
    }

    /** A board configuration went away (deleted or changed): its link and connections close. */
    public void removeBoard(GpibBoard board) {
        boards.remove(board);
        opening.remove(board);
        PrologixBus bus = buses.remove(board);
        if (bus != null) {
            bus.close("closed because the configuration " + board.settings().name() + " of GPIB"
                    + board.settings().board() + " was removed or changed");
        }
    }

    @Override
    public Set<TransportKind> kinds() {
        return Set.of(TransportKind.GPIB);
    }

    @Override
    public String name() {
        return "GPIB scan";
    }

    /**
     * Scans primary addresses 1-30 of each board opted in to it, by its configuration ({@code scan=true}) or
     * by the request's {@value #SCAN} setting, with a serial poll each (nothing is queued or cleared on an
     * instrument that answers); an address that answers holds an instrument. An empty address costs the
     * board's {@code read_tmo_ms} plus {@value #SCAN_MARGIN_MS} ms; the scan stops at the request's timeout, and what it did not reach is
     * not reported. Without an opt-in nothing is scanned, and the search says so: a bus of instruments in
     * use is not something to poll unasked.
     */
    @Override
    public void discover(DiscoveryRequest request, Consumer<Discovered> found) throws LabHalException {
        Deadline deadline = Deadline.after(request.timeout());
        java.util.SortedSet<Integer> numbers = new java.util.TreeSet<>();
        boards.stream().filter(b -> b.settings().scan()).forEach(b -> numbers.add(b.settings().board()));
        for (String item : request.setting(SCAN).orElse("").split(",")) {
            if (item.isBlank()) {
                continue;
            }
            try {
                numbers.add(Integer.parseInt(item.strip()));
            } catch (NumberFormatException e) {
                throw new LabHalException(SCAN + " entry '" + item.strip() + "' is not a board number, e.g. 0");
            }
        }
        if (numbers.isEmpty()) {
            throw new LabHalException("nothing scanned: no GPIB board is opted in to scanning (scan=true in its "
                    + BoardSettings.FACTORY_PID + " configuration, or gpibScan in the discovery settings)");
        }
        for (int number : numbers) {
            GpibBoard board = board(ResourceAddress.parse("GPIB" + number + "::0::INSTR"), number);
            // The controller gives up on an empty address after read_tmo_ms; the margin is for a present one's
            // answer on a busy host or network.
            Duration poll = Duration.ofMillis(board.settings().readTimeoutMillis() + SCAN_MARGIN_MS);
            for (int primary = 1; primary <= 30 && !deadline.expired(); primary++) {
                ResourceAddress address = ResourceAddress.parse("GPIB" + number + "::" + primary + "::INSTR");
                Connection connection;
                try {
                    connection = open(address, deadline.remaining());
                } catch (LabHalException e) {
                    if (deadline.expired()) {
                        return; // the search's time is up (opening the link too): what was not reached is not reported
                    }
                    throw e;
                }
                try {
                    ((GpibConnection) connection).readStatusByte(min(poll, deadline.remaining()));
                    found.accept(new Discovered(address, "GPIB scan of board " + number + " ("
                            + board.settings().controller().canonical() + ")", "", Map.of(), true));
                } catch (IoTimeoutException e) {
                    // no instrument answers at this address
                } finally {
                    connection.close();
                }
            }
        }
    }

    @Override
    public Connection open(ResourceAddress address, Duration timeout) throws LabHalException {
        if (address.kind() != TransportKind.GPIB) {
            throw new LabHalException("The GPIB transport cannot open " + address.canonical()
                    + ": it serves GPIB[board]::primary[::secondary]::INSTR resources only");
        }
        byte[] writeTermination = writeTermination(address);
        byte readTermination = readTermination(address);
        for (String key : address.options().keySet()) {
            if (!key.equals("write_termination") && !key.equals("read_termination")) {
                throw new LabHalException("Cannot open " + address.canonical() + ": the GPIB transport does not know "
                        + "the option " + key + "; it knows write_termination and read_termination");
            }
        }
        int number = address.board().orElse(0);
        GpibBoard board = board(address, number);
        Deadline deadline = Deadline.after(
                min(timeout, Duration.ofMillis(board.settings().openTimeoutMillis())));
        PrologixBus bus = bus(address, board, deadline);
        GpibConnection connection = new GpibConnection(address, bus, writeTermination, readTermination);
        bus.register(connection);
        return connection;
    }

    private GpibBoard board(ResourceAddress address, int number) throws LabHalException {
        List<GpibBoard> matching = boards.stream().filter(b -> b.settings().board() == number)
                .collect(Collectors.toList());
        if (matching.isEmpty()) {
            throw new TransportUnavailableException("Cannot open " + address.canonical() + ": no GPIB board "
                    + number + " is configured. Add a factory configuration " + BoardSettings.FACTORY_PID
                    + " with board=" + number + " and controller=<the controller link>, e.g. the file "
                    + BoardSettings.FACTORY_PID + "-gpib" + number + ".cfg with controller=ASRL/dev/ttyUSB0::INSTR"
                    + " (GPIB-USB) or controller=TCPIP::10.0.0.7::1234::SOCKET (GPIB-ETHERNET). If there is one, it "
                    + "is invalid: the framework log says why", TransportKind.GPIB);
        }
        if (matching.size() > 1) {
            throw new LabHalException("Cannot open " + address.canonical() + ": GPIB board " + number
                    + " is configured more than once, by " + matching.stream().map(b -> b.settings().name())
                            .sorted().collect(Collectors.joining(" and "))
                    + "; delete all but one of these configurations");
        }
        return matching.get(0);
    }

    /**
     * The board's open link, opened now if it has none (one opener per board at a time). Waiting for another
     * opener keeps to this open's own deadline and ends at an interrupt: a monitor would have held a caller for as
     * long as the other's open took, deaf to its interrupt.
     */
    private PrologixBus bus(ResourceAddress address, GpibBoard board, Deadline deadline) throws LabHalException {
        ReentrantLock lock = opening.computeIfAbsent(board, b -> new ReentrantLock());
        try {
            if (!lock.tryLock(Deadline.nanos(deadline.remaining()), TimeUnit.NANOSECONDS)) {
                throw new IoTimeoutException("Cannot open " + address.canonical() + ": GPIB board "
                        + board.settings().describe() + " was still being opened for another caller when the open "
                        + "timeout ran out", deadline.timeout());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StepInterruptedException("Interrupted waiting for GPIB board " + board.settings().describe()
                    + " to open, to open " + address.canonical(), e);
        }
        try {
            if (deactivated) {
                throw new LabHalException("The GPIB transport has stopped; cannot open " + address.canonical());
            }
            PrologixBus bus = buses.get(board);
            if (bus != null && bus.isOpen()) {
                return bus;
            }
            bus = new PrologixBus(board.settings(), (d, onFailure) -> link(board.settings(), d, onFailure), deadline,
                    b -> buses.remove(board, b));
            buses.put(board, bus);
            if (deactivated || !boards.contains(board)) { // stopped or removed meanwhile
                buses.remove(board, bus);
                bus.close("closed because the GPIB transport stopped or the board configuration was removed");
            }
            return bus;
        } finally {
            lock.unlock();
        }
    }

    private ControllerLink link(BoardSettings settings, Deadline deadline, Consumer<String> onFailure)
            throws IOException {
        ResourceAddress controller = settings.controller();
        if (controller.kind() == TransportKind.SOCKET) {
            return new ControllerLink.Tcp(controller.host().orElseThrow(), controller.port().orElseThrow(), deadline,
                    PrologixBus.INBOX_BYTES, watchdog, pumps, onFailure);
        }
        String port = controller.serialPort().orElseThrow();
        String device = port.chars().allMatch(Character::isDigit) ? "/dev/ttyS" + (Integer.parseInt(port) - 1) : port;
        int baud = Integer.parseInt(controller.option("baud").orElse("115200"));
        return new ControllerLink.Serial(device, baud, PrologixBus.INBOX_BYTES, watchdog, pumps, onFailure);
    }

    private static byte[] writeTermination(ResourceAddress address) throws LabHalException {
        String value = address.option("write_termination").orElse("lf");
        return switch (value) {
            case "lf" -> new byte[] {'\n'};
            case "crlf" -> new byte[] {'\r', '\n'};
            case "cr" -> new byte[] {'\r'};
            case "none" -> new byte[0];
            default -> throw new LabHalException("Cannot open " + address.canonical() + ": write_termination=" + value
                    + " is not one of lf, crlf, cr, none");
        };
    }

    private static byte readTermination(ResourceAddress address) throws LabHalException {
        String value = address.option("read_termination").orElse("lf");
        return switch (value) {
            case "lf", "crlf" -> '\n';
            case "cr" -> '\r';
            default -> throw new LabHalException("Cannot open " + address.canonical() + ": read_termination=" + value
                    + " is not one of lf, crlf, cr");
        };
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** @return the open link of board {@code number}, if any (for tests) */
    java.util.Optional<PrologixBus> openBoard(int number) {
        return buses.entrySet().stream().filter(e -> e.getKey().settings().board() == number)
                .map(Map.Entry::getValue).findFirst();
    }

    /** @return how many board links are open */
    int openBoards() {
        return buses.size();
    }

    /** Closes every board link: blocked callers wake with {@code ConnectionLostException}. */
    @Deactivate
    public void deactivate() {
        deactivated = true;
        List<PrologixBus> all = new ArrayList<>(buses.values());
        buses.clear();
        for (PrologixBus bus : all) {
            bus.close("closed because the GPIB transport stopped");
        }
        pumps.shutdownNow();
        watchdog.shutdownNow();
    }
}
