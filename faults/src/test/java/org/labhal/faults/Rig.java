package org.labhal.faults;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.internal.session.DefaultSessionFactory;
import org.labhal.api.transport.Deadline;
import org.labhal.api.transport.TransportFactory;
import org.labhal.transport.gpib.PrologixSimulator;
import org.labhal.transport.gpib.internal.GpibBoard;
import org.labhal.transport.gpib.internal.GpibTransportFactory;
import org.labhal.transport.hislip.internal.HislipTransportFactory;
import org.labhal.transport.hislip.server.HislipServer;
import org.labhal.transport.serial.internal.SerialTransportFactory;
import org.labhal.transport.sim.SimServer;
import org.labhal.transport.sim.SimSettings;
import org.labhal.transport.sim.SimulatedInstrument;
import org.labhal.transport.sim.internal.SimTransportFactory;
import org.labhal.transport.socket.internal.SocketTransportFactory;
import org.labhal.transport.usbtmc.SimulatedUsb488Device;
import org.labhal.transport.usbtmc.SimulatedUsbDevices;
import org.labhal.transport.usbtmc.internal.UsbtmcTransportFactory;
import org.labhal.transport.vxi11.internal.Vxi11TransportFactory;
import org.labhal.transport.vxi11.sim.Vxi11SimServer;

/**
 * One simulated instrument reachable through one transport, with the fault proxy in the wire:
 * sessions of the client under test ({@link #open}) go through the proxy; sessions of a bystander
 * ({@link #openBystander}), another process as far as locks go, reach the server directly. The
 * factories are built with {@code new}, as Declarative Services would build them.
 */
final class Rig implements AutoCloseable {
    private static final AtomicInteger SIM_NUMBERS = new AtomicInteger(100);

    /** The transports the matrix runs, in the order of its rows. */
    enum Transport {
        SIM(false, false, 0, 0, false),
        SOCKET(true, false, 0, 0, true),
        SERIAL(true, false, 0, 0, true),
        // VXI-11: every call has a reply; a query's write brings a device_write reply of 36 bytes (record
        // mark 4, RPC reply header 24, error and size 8) before the device_read reply; device_lock's is 32.
        VXI11(true, true, 36, 32, false),
        // HiSLIP: a write has no reply; the AsyncLockResponse is a bare 16-byte header.
        HISLIP(true, true, 0, 16, false),
        // GPIB: the proxy sits in the controller link (host <-> Prologix-style controller). A write has no
        // reply (++auto 0); the read's ++read 10 is answered by the instrument's bytes alone, so the answer
        // is the first byte towards the client. No instrument-side lock (GPIB has none; the session's bus
        // lock is in this process). Its device clear is ++clr, which the controller does not answer.
        GPIB(true, false, 0, 0, false),
        // USBTMC: the endpoints are in memory (SimulatedUsb488Device), so there is no wire for the proxy;
        // the device faults have their own knobs, tested in transports/usbtmc.
        USBTMC(false, false, 0, 0, false);

        /** Whether there is a wire for the proxy to fault. */
        final boolean wire;
        /** Whether the transport has an instrument-side lock. */
        final boolean instrumentLock;
        /** Bytes the instrument sends, after a query's write, before the first byte of the answer. */
        final int answerOffset;
        /** Bytes of the reply granting the instrument lock. */
        final int lockReply;
        /** Whether its device clear is a drain of pending input (nothing to ask the instrument). */
        final boolean drainClear;

        Transport(boolean wire, boolean instrumentLock, int answerOffset, int lockReply, boolean drainClear) {
            this.wire = wire;
            this.instrumentLock = instrumentLock;
            this.answerOffset = answerOffset;
            this.lockReply = lockReply;
            this.drainClear = drainClear;
        }
    }

    final Transport transport;
    private final String model;
    private final List<AutoCloseable> closeLast = new ArrayList<>();
    private final DefaultSessionFactory client;
    private final DefaultSessionFactory bystander;
    private final List<Runnable> deactivate = new ArrayList<>();
    private final List<Runnable> releases = new ArrayList<>();
    private final String resource;
    private final String directResource;
    private final FaultProxy proxy;
    private final Map<DefaultSessionFactory, GpibBoard> gpibBoards = new HashMap<>();
    private final SimulatedUsbDevices usbDevices = new SimulatedUsbDevices();
    private SimulatedUsb488Device usbDevice;

    private Rig(Transport transport, String model, Path dir, Duration serialLate) throws Exception {
        this.transport = transport;
        this.model = model;
        client = new DefaultSessionFactory(new DefaultLockService());
        bystander = new DefaultSessionFactory(new DefaultLockService());
        try {
            switch (transport) {
                case SIM -> {
                    // INIT starts a 3 s operation: *OPC? then keeps a step inside its read.
                    String sim = "SIM::" + model + "::" + SIM_NUMBERS.incrementAndGet() + "::INSTR?op=3s";
                    resource = sim;
                    directResource = sim;
                    proxy = null;
                }
                case SOCKET -> {
                    SimServer server = later(SimServer.builder(model).start());
                    proxy = later(new FaultProxy(loopback(server.port())));
                    resource = "TCPIP::127.0.0.1::" + proxy.port() + "::SOCKET";
                    directResource = server.resource();
                }
                case SERIAL -> {
                    SimServer server = later(SimServer.builder(model).start());
                    proxy = later(new FaultProxy(loopback(server.port())));
                    Path pty = dir.resolve("tty-" + model + "-" + proxy.port());
                    later(PtyToTcp.start(pty, proxy.port()));
                    // socat is connected now: let its link through the proxy settle before any count is taken
                    if (!proxy.awaitLinks(1, Duration.ofSeconds(5))
                            || !server.awaitOpenConnections(1, Duration.ofSeconds(5))
                            || !serving(server, Duration.ofSeconds(5))) {
                        throw new IllegalStateException("socat's connection never reached the simulator of " + pty);
                    }
                    resource = "ASRL" + pty + "::INSTR?late_ms=" + serialLate.toMillis();
                    directResource = resource; // one wire: there is no other way in
                }
                case VXI11 -> {
                    Vxi11SimServer server = later(Vxi11SimServer.builder(model).portmapper(false).start());
                    proxy = later(new FaultProxy(loopback(server.corePort())));
                    resource = "TCPIP::127.0.0.1::inst0::INSTR?port=" + proxy.port();
                    directResource = server.resource();
                }
                case HISLIP -> {
                    HislipServer server = later(HislipServer.builder(model).port(0).start());
                    proxy = later(new FaultProxy(loopback(server.port())));
                    resource = "TCPIP::127.0.0.1::hislip0," + proxy.port() + "::INSTR";
                    directResource = server.resource();
                }
                case GPIB -> {
                    PrologixSimulator controller = later(PrologixSimulator.builder()
                            .settings(SimSettings.defaults().withOperationTime(Duration.ofSeconds(3)))
                            .instrument(GPIB_ADDRESS, model).start());
                    // A GPIB-ETHERNET is a small embedded TCP stack with a window of a few KiB; loopback's
                    // would swallow a whole 1 MiB message (the most one host line may be), and no write could
                    // ever be cut part-way
                    proxy = later(new FaultProxy(loopback(controller.port()), GPIB_WINDOW));
                    // The client's board 0 is the controller through the proxy. The simulator serves each TCP
                    // client as a controller of its own on the one bus, so the bystander (another process)
                    // has its own board 0 straight to the simulator: a second controller on the same bus,
                    // as two GPIB-ETHERNETs on one bench would be.
                    gpibBoards.put(client, gpibBoard("client", "TCPIP::127.0.0.1::" + proxy.port() + "::SOCKET"));
                    gpibBoards.put(bystander, gpibBoard("bystander", "TCPIP::127.0.0.1::" + controller.port()
                            + "::SOCKET"));
                    resource = "GPIB0::" + GPIB_ADDRESS + "::INSTR";
                    directResource = resource;
                }
                case USBTMC -> {
                    // INIT starts a 3 s operation, as for SIM: *OPC? then keeps a step inside its read.
                    SimulatedInstrument instrument = later(SimulatedInstrument.create(model,
                            SimSettings.defaults().withOperationTime(Duration.ofSeconds(3))));
                    usbDevice = later(SimulatedUsb488Device.builder(instrument)
                            .serial("FAULTS-" + SIM_NUMBERS.incrementAndGet()).build());
                    usbDevices.add(usbDevice);
                    resource = SimulatedUsbDevices.resource(usbDevice);
                    directResource = resource; // one device, claimed by one handle: no other way in
                    proxy = null;
                }
                default -> throw new IllegalArgumentException("unknown transport " + transport);
            }
            client.addTransport(factory(transport, client));
            bystander.addTransport(factory(transport, bystander));
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    /**
     * The wire faults a soak may inject on this rig's proxy: all that leave the link usable once healed
     * (every kind on a network link; on the serial line all but the cuts, FIN and RST, which would end
     * socat and with it the pty, as unplugging the adapter would).
     */
    FaultProxy.Action[] wireFaults() {
        return transport == Transport.SERIAL
                ? new FaultProxy.Action[] {FaultProxy.Action.DELAY, FaultProxy.Action.STALL, FaultProxy.Action.TRICKLE,
                    FaultProxy.Action.FLOOD, FaultProxy.Action.TRUNCATE, FaultProxy.Action.CORRUPT}
                : new FaultProxy.Action[] {FaultProxy.Action.DELAY, FaultProxy.Action.STALL, FaultProxy.Action.TRICKLE,
                    FaultProxy.Action.FIN, FaultProxy.Action.RST, FaultProxy.Action.FLOOD, FaultProxy.Action.TRUNCATE,
                    FaultProxy.Action.CORRUPT};
    }

    /**
     * Starts the instrument, its server and the proxy for {@code transport}.
     *
     * @param serialLate the serial line's {@code late_ms}: longer than any answer can be late under the
     *        faults to come (a serial line takes an answer later than that for the next question's), and
     *        how long a line that lost an answer's end waits for silence before its next question
     */
    static Rig start(Transport transport, String model, Path dir, Duration serialLate) throws Exception {
        return new Rig(transport, model, dir, serialLate);
    }

    /** The receive buffer of the controller's end of the link: a GPIB-ETHERNET's TCP window is small. */
    static final int GPIB_WINDOW = 16 << 10;
    /** The GPIB address of the instrument on the simulated bus. */
    static final int GPIB_ADDRESS = 22;

    private static GpibBoard gpibBoard(String who, String controller) {
        Map<String, Object> p = new HashMap<>();
        p.put("service.pid", "org.labhal.gpib.board~faults-" + who);
        p.put("board", 0);
        p.put("controller", controller);
        return new GpibBoard(p); // read_tmo_ms and open_timeout_ms as configured by default
    }

    private TransportFactory factory(Transport kind, DefaultSessionFactory owner) {
        switch (kind) {
            case SIM -> {
                SimTransportFactory f = new SimTransportFactory();
                deactivate.add(f::deactivate);
                return f;
            }
            case SOCKET -> {
                SocketTransportFactory f = new SocketTransportFactory();
                deactivate.add(f::deactivate);
                return f;
            }
            case SERIAL -> {
                SerialTransportFactory f = new SerialTransportFactory();
                deactivate.add(f::deactivate);
                return f;
            }
            case VXI11 -> {
                Vxi11TransportFactory f = new Vxi11TransportFactory();
                deactivate.add(f::deactivate);
                return f;
            }
            case HISLIP -> {
                HislipTransportFactory f = new HislipTransportFactory();
                deactivate.add(f::deactivate);
                return f;
            }
            case GPIB -> {
                GpibTransportFactory f = new GpibTransportFactory();
                GpibBoard board = gpibBoards.get(owner);
                f.addBoard(board);
                releases.add(() -> f.removeBoard(board));
                deactivate.add(f::deactivate);
                return f;
            }
            case USBTMC -> {
                UsbtmcTransportFactory f = new UsbtmcTransportFactory(); // libusb is loaded only for a real device
                f.addSimulated(usbDevices);
                deactivate.add(f::deactivate);
                return f;
            }
            default -> throw new IllegalArgumentException("unknown transport " + kind);
        }
    }

    private static InetSocketAddress loopback(int port) {
        return new InetSocketAddress("127.0.0.1", port);
    }

    private <T extends AutoCloseable> T later(T closeable) {
        closeLast.add(0, closeable);
        return closeable;
    }

    /** The proxy in the wire; null for the in-memory SIM transport. */
    FaultProxy proxy() {
        return proxy;
    }

    /** The simulated USB488 device of a USBTMC rig, for its fault knobs; null for the other transports. */
    SimulatedUsb488Device usbDevice() {
        return usbDevice;
    }

    /**
     * Lets go of what a transport keeps open by design beyond its sessions, so that what is left
     * afterwards is a leak: a GPIB board's controller link lives as long as the board's configuration
     * (one link per board, shared by every instrument on it), so the board configurations are
     * withdrawn, as an operator would, which closes the link and its pump. Nothing for the others.
     */
    void releaseShared() {
        for (Runnable r : releases) {
            r.run();
        }
    }

    /** The resource the client under test opens (through the proxy). */
    String resource() {
        return resource;
    }

    /** Opens a session of the client under test, through the proxy. */
    Session open(SessionOptions options) throws LabHalException {
        return open(resource, options);
    }

    /** Like {@link #open(SessionOptions)} for the resource with extra options appended. */
    Session open(String withOptions, SessionOptions options) throws LabHalException {
        return client.open(ResourceAddress.parse(withOptions), options);
    }

    /** Opens a session of another client, straight to the server, with its own locks. */
    Session openBystander(SessionOptions options) throws LabHalException {
        return bystander.open(ResourceAddress.parse(directResource), options);
    }

    /** @return the physical connections the client under test holds open */
    int clientConnections() {
        return client.openConnections();
    }

    /** Stops the factories (closing whatever they still hold), then the proxy, pty relay and server. */
    @Override
    public void close() {
        client.deactivate();
        bystander.deactivate();
        for (Runnable r : deactivate) {
            r.run();
        }
        for (AutoCloseable c : closeLast) {
            try {
                c.close();
            } catch (Exception e) {
                // best effort: the case has already been judged
            }
        }
    }

    @Override
    public String toString() {
        return transport + " " + model + " via " + resource;
    }

    /**
     * Waits until the simulator's thread for socat's connection runs: the server counts a connection
     * as it accepts it, a moment before its thread starts, and the matrix counts threads right after.
     */
    private static boolean serving(SimServer server, Duration timeout) {
        Deadline deadline = Deadline.after(timeout);
        while (server.counters().threads() < 3) { // the acceptor, the write watchdog and the connection's thread
            if (deadline.expired()) {
                return false;
            }
            Thread.onSpinWait();
        }
        return true;
    }
}
