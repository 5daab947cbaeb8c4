package org.labhal.transport.vxi11.internal;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.InterfaceAddress;
import java.net.NetworkInterface;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.regex.Pattern;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.TransportKind;
import org.labhal.api.discovery.Discovered;
import org.labhal.api.discovery.Discoverer;
import org.labhal.api.discovery.DiscoveryRequest;
import org.labhal.api.transport.Deadline;
import org.labhal.api.transport.Uninterruptibly;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * The classic VXI-11 search (VXI-11 section B.2, what NI-VISA and PyVISA-py do): an ONC RPC portmapper
 * GETPORT call for the VXI-11 core channel (program 0x0607AF version 1, TCP) sent over UDP to port 111 of
 * each interface's broadcast address, or of the interface's own address on loopback, which has no
 * broadcast; every portmapper that has the core channel registered answers, and each answer gives
 * {@code TCPIP::<the answering address>::inst0::INSTR}. The call is sent again every
 * {@link #RESEND} in case UDP lost it, and replies are collected until the request's timeout. Replies that
 * are not the answer to this call (another xid, not RPC, truncated, rejected) are counted and logged at
 * debug level, never thrown. IPv4 only: VXI-11 broadcasts do not exist on IPv6, whose interfaces are skipped.
 * <p>
 * The request setting {@value #PORTMAPPER} sends to another portmapper port than 111 (a simulator on a free
 * port); the resources found then carry {@code ?portmapper=<port>}. Nothing is opened before
 * {@link #discover} and everything is closed before it returns, within its timeout.
 */
@Component(service = Discoverer.class, property = Discoverer.KINDS_PROPERTY + "=VXI11")
public final class Vxi11Discoverer implements Discoverer {
    /** The request setting naming the portmapper port the search sends to; 111 when unset. */
    public static final String PORTMAPPER = "vxi11.portmapper";
    /** How often the call is sent again while the search lasts. */
    static final Duration RESEND = Duration.ofSeconds(1);
    /** A GETPORT reply is 28 bytes; more than this is not one. */
    private static final int MAX_REPLY = 512;
    private static final Pattern IPV4_LITERAL = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    private final Consumer<String> debug;
    private final AtomicLong ignoredReplies = new AtomicLong();
    private final AtomicLong socketsOpened = new AtomicLong();

    /** @param logger reports, at debug level, what was sent where and every reply ignored */
    @Activate
    public Vxi11Discoverer(@Reference(service = LoggerFactory.class) Logger logger) {
        this(logger::debug);
    }

    /** @param debug receives debug messages */
    Vxi11Discoverer(Consumer<String> debug) {
        this.debug = debug;
    }

    @Override
    public String name() {
        return "VXI-11 portmapper broadcast";
    }

    @Override
    public Set<TransportKind> kinds() {
        return Set.of(TransportKind.VXI11);
    }

    /** Where the call goes on one interface. */
    private record Target(String spec, InetAddress local, InetAddress destination) {
    }

    @Override
    public void discover(DiscoveryRequest request, Consumer<Discovered> found) throws LabHalException {
        if (request.interfaces().isEmpty()) {
            return;
        }
        Deadline deadline = Deadline.after(request.timeout());
        int portmapperPort = portmapperPort(request);
        List<Target> targets = new ArrayList<>();
        for (String spec : request.interfaces()) {
            targets.addAll(targets(spec.strip()));
        }
        if (targets.isEmpty()) {
            return;
        }
        int xid = ThreadLocalRandom.current().nextInt();
        XdrEncoder call = Rpc.call(xid, Rpc.PORTMAPPER_PROGRAM, Rpc.PORTMAPPER_VERSION, Rpc.PORTMAPPER_GETPORT, 16)
                .putInt(Vxi11Protocol.CORE_PROGRAM).putInt(Vxi11Protocol.CORE_VERSION).putInt(Rpc.IPPROTO_TCP)
                .putInt(0);
        byte[] datagram = call.toByteArray();
        List<DatagramChannel> channels = new ArrayList<>();
        Selector selector = null;
        String where = String.join(", ", request.interfaces());
        try {
            selector = Selector.open();
            for (Target target : targets) {
                DatagramChannel channel = DatagramChannel.open(StandardProtocolFamily.INET);
                socketsOpened.incrementAndGet();
                channels.add(channel);
                channel.setOption(StandardSocketOptions.SO_BROADCAST, true);
                channel.bind(new InetSocketAddress(target.local(), 0));
                channel.configureBlocking(false);
                channel.register(selector, SelectionKey.OP_READ, target);
            }
            Set<String> reported = new HashSet<>();
            ByteBuffer buffer = ByteBuffer.allocate(MAX_REPLY + 1);
            long nextSend = System.nanoTime();
            while (!deadline.expired()) {
                if (Thread.currentThread().isInterrupted()) {
                    throw new InterruptedException();
                }
                if (System.nanoTime() - nextSend >= 0) {
                    send(selector, datagram, portmapperPort);
                    nextSend += RESEND.toNanos();
                }
                long waitNanos = Math.min(deadline.remainingNanos(), nextSend - System.nanoTime());
                selector.select(Math.max(1, (waitNanos + 999_999) / 1_000_000)); // an interrupt ends it at once
                for (SelectionKey key : selector.selectedKeys()) {
                    DatagramChannel channel = (DatagramChannel) key.channel();
                    Target target = (Target) key.attachment();
                    SocketAddress from;
                    // bounded by the search's deadline too: a peer flooding the socket cannot keep it here
                    while (!deadline.expired() && (from = channel.receive(buffer.clear())) != null) {
                        reply(buffer.flip(), (InetSocketAddress) from, xid, portmapperPort, target, reported, found);
                    }
                }
                selector.selectedKeys().clear();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StepInterruptedException("The VXI-11 broadcast search on " + where + " was interrupted", e);
        } catch (IOException e) {
            throw new LabHalException("The VXI-11 broadcast search on " + where + " failed: " + e.getMessage(), e);
        } finally {
            Selector opened = selector;
            Uninterruptibly.run(() -> close(channels, opened));
        }
    }

    /** Sends the call on every channel; a network that refuses it (unreachable, no route) is logged. */
    private void send(Selector selector, byte[] datagram, int port) {
        for (SelectionKey key : selector.keys()) {
            Target target = (Target) key.attachment();
            try {
                ((DatagramChannel) key.channel()).send(ByteBuffer.wrap(datagram),
                        new InetSocketAddress(target.destination(), port));
                debug.accept("VXI-11 search: GETPORT sent to " + target.destination().getHostAddress() + ":" + port
                        + " from " + target.local().getHostAddress());
            } catch (IOException e) {
                debug.accept("VXI-11 search: cannot send to " + target.destination().getHostAddress() + ":" + port
                        + " on " + target.spec() + ": " + e);
            }
        }
    }

    /** Reports one reply if it answers the call with a core channel port; counts it as ignored if it is not an answer. */
    private void reply(ByteBuffer datagram, InetSocketAddress from, int xid, int portmapperPort, Target target,
            Set<String> reported, Consumer<Discovered> found) {
        String sender = from.getAddress().getHostAddress();
        if (datagram.remaining() > MAX_REPLY) {
            ignored(sender, "a datagram of more than " + MAX_REPLY + " bytes");
            return;
        }
        XdrDecoder in = new XdrDecoder(datagram.array(), 0, datagram.remaining());
        long port;
        try {
            int replyXid = in.getInt();
            if (replyXid != xid) {
                ignored(sender, "xid " + Integer.toHexString(replyXid) + " is not that of the call");
                return;
            }
            Rpc.readReply(in);
            port = in.getUnsignedInt();
        } catch (XdrException | RpcRejectedException e) {
            ignored(sender, e.getMessage());
            return;
        }
        if (port == 0) {
            debug.accept("VXI-11 search: the portmapper at " + sender + " has no VXI-11 core channel");
            return;
        }
        if (port > 65535) {
            ignored(sender, "port " + port);
            return;
        }
        String resource = "TCPIP::" + sender + "::inst0::INSTR"
                + (portmapperPort == Rpc.PORTMAPPER_PORT ? "" : "?portmapper=" + portmapperPort);
        if (!reported.add(resource)) {
            return;
        }
        try {
            found.accept(new Discovered(ResourceAddress.parse(resource), "VXI-11 portmapper broadcast on "
                    + target.spec(), "", Map.of("corePort", String.valueOf(port)), true));
        } catch (RuntimeException e) {
            debug.accept("VXI-11 search: the receiver of " + resource + " failed: " + e);
        }
    }

    private void ignored(String sender, String why) {
        ignoredReplies.incrementAndGet();
        debug.accept("VXI-11 search: ignored a reply from " + sender + ": " + why);
    }

    private static void close(List<DatagramChannel> channels, Selector selector) {
        for (DatagramChannel channel : channels) {
            try {
                channel.close();
            } catch (IOException e) {
                // closed enough: the descriptor is released
            }
        }
        if (selector != null) {
            try {
                selector.close();
            } catch (IOException e) {
                // as above
            }
        }
    }

    private static int portmapperPort(DiscoveryRequest request) throws LabHalException {
        String text = request.setting(PORTMAPPER).map(String::strip).orElse("");
        if (text.isEmpty()) {
            return Rpc.PORTMAPPER_PORT;
        }
        try {
            int port = Integer.parseInt(text);
            if (port >= 1 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new LabHalException("The discovery setting " + PORTMAPPER + "=" + text + " is not a port 1 to 65535");
    }

    /**
     * @param spec an IPv4 address literal or an interface name
     * @return where to send on it: the broadcast address of each IPv4 address, or the address itself on
     *         loopback (or any interface without broadcast); none for an IPv6 address
     * @throws LabHalException naming {@code spec} when no local interface has that address or name
     */
    private List<Target> targets(String spec) throws LabHalException {
        List<Target> targets = new ArrayList<>();
        try {
            NetworkInterface nic;
            InetAddress only = null;
            if (IPV4_LITERAL.matcher(spec).matches()) {
                only = InetAddress.getByName(spec); // a literal: parsed, never looked up
                nic = NetworkInterface.getByInetAddress(only);
                if (nic == null) {
                    throw new LabHalException("No local network interface has the address " + spec);
                }
            } else if (spec.indexOf(':') >= 0) {
                debug.accept("VXI-11 search: skipped " + spec + ": the broadcast search is IPv4 only");
                return targets;
            } else {
                nic = NetworkInterface.getByName(spec);
                if (nic == null) {
                    throw new LabHalException("There is no network interface named '" + spec + "'");
                }
            }
            for (InterfaceAddress address : nic.getInterfaceAddresses()) {
                if (address.getAddress() instanceof Inet4Address local && (only == null || only.equals(local))) {
                    InetAddress broadcast = address.getBroadcast();
                    targets.add(new Target(spec, local, broadcast == null || nic.isLoopback() ? local : broadcast));
                }
            }
        } catch (UnknownHostException | java.net.SocketException e) {
            throw new LabHalException("Cannot use the network interface '" + spec + "': " + e.getMessage(), e);
        }
        return targets;
    }

    /** @return replies ignored so far, for tests */
    long ignoredReplies() {
        return ignoredReplies.get();
    }

    /** @return UDP sockets opened so far, for tests */
    long socketsOpened() {
        return socketsOpened.get();
    }
}
