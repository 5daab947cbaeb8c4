package org.labhal.discovery.lxi.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.regex.Pattern;

import javax.jmdns.JmDNS;
import javax.jmdns.ServiceInfo;

import org.labhal.api.LabHalException;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.transport.Uninterruptibly;
import org.labhal.discovery.lxi.Advertisement;
import org.labhal.discovery.lxi.MdnsAdvertiser;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * The {@link MdnsAdvertiser}: one JmDNS responder per local address, started by the first advertisement
 * there and closed when its last one is withdrawn, and all of them when the component stops.
 * <p>
 * JmDNS waits about 2 s while it repeats a goodbye (unregistering one service, or closing a responder),
 * so withdrawals run on this component's own threads ({@code labhal-mdns-withdraw-N}, at most
 * {@value #WITHDRAW_THREADS}, ending when idle) and {@link Advertisement#close()} returns at once: a
 * runtime that stops ten simulators does not wait twenty seconds. A withdrawal whose responder has closed by the
 * time its turn comes is left to the responder's goodbye, which covers all its services at once: when a runtime
 * stops, each responder says one goodbye, not one per service (2 s, not 4 s, for the runtime's nine simulators).
 * Stopping the component closes every responder at once and waits for them, at most {@link #STOP_TIMEOUT}.
 */
@Component(service = MdnsAdvertiser.class)
public final class JmdnsAdvertiser implements MdnsAdvertiser {
    /** The host name each advertising responder gives itself on the LAN. */
    static final String HOST_NAME = "labhal";
    /** Withdrawals at once. */
    static final int WITHDRAW_THREADS = 16;
    /** How long stopping waits for the goodbyes. */
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(5);
    private static final Pattern SERVICE_TYPE = Pattern.compile("_[a-z0-9][a-z0-9-]{0,14}\\._(tcp|udp)");

    private final Responders responders;
    private final Consumer<String> info;
    private final ExecutorService withdrawals = NamedThreads.executor("labhal-mdns-withdraw", WITHDRAW_THREADS);
    private final Map<InetAddress, Responder> running = new HashMap<>(); // guarded by itself
    private boolean stopped; // guarded by running

    /** @param logger reports each advertisement made and withdrawn, at info level */
    @Activate
    public JmdnsAdvertiser(@Reference(service = LoggerFactory.class) Logger logger) {
        this(Responders.JMDNS, logger::info);
    }

    /**
     * @param responders starts the mDNS responders
     * @param info receives what a log would at info level
     */
    JmdnsAdvertiser(Responders responders, Consumer<String> info) {
        this.responders = responders;
        this.info = info;
    }

    @Override
    public Advertisement advertise(String interfaceAddress, String serviceType, String instanceName, int port,
            Map<String, String> txt) throws LabHalException {
        String type = serviceType(serviceType);
        Objects.requireNonNull(instanceName, "instanceName");
        int nameBytes = instanceName.getBytes(StandardCharsets.UTF_8).length;
        if (instanceName.isBlank() || nameBytes > 63) {
            throw new IllegalArgumentException("An mDNS instance name must be 1 to 63 bytes of UTF-8, got '"
                    + instanceName + "' (" + nameBytes + " bytes)");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("Cannot advertise " + instanceName + " on port " + port
                    + ": a port is 1 to 65535");
        }
        Map<String, String> text = txt(txt);
        InetAddress address = LocalInterface.resolve(interfaceAddress);
        if (Thread.currentThread().isInterrupted()) {
            throw new StepInterruptedException("Advertising " + instanceName + " (" + type + ") on "
                    + interfaceAddress + " was interrupted", new InterruptedException());
        }
        ServiceInfo service = ServiceInfo.create(type, instanceName, port, 0, 0, text);
        Responder responder;
        synchronized (running) {
            if (stopped) {
                throw new LabHalException("Cannot advertise " + instanceName + ": the mDNS advertiser has stopped");
            }
            responder = running.get(address);
            if (responder == null) {
                try {
                    responder = new Responder(address, responders.open(address, HOST_NAME));
                } catch (IOException e) {
                    throw new LabHalException("Cannot start mDNS on the interface " + interfaceAddress + " ("
                            + address.getHostAddress() + "): " + e.getMessage(), e);
                }
                running.put(address, responder);
            }
            try {
                responder.mdns.registerService(service); // JmDNS probes and announces it in the background
            } catch (IOException | RuntimeException e) {
                if (responder.count == 0) {
                    running.remove(address);
                    withdrawLater(responder::close);
                }
                throw new LabHalException("Cannot advertise " + instanceName + " (" + type + " port " + port
                        + ") on " + interfaceAddress + ": " + e.getMessage(), e);
            }
            responder.count++;
        }
        info.accept("Advertising '" + service.getName() + "' (" + type + " port " + port + ") by mDNS on "
                + address.getHostAddress());
        return new Handle(responder, service, type, port);
    }

    /** @return the type with {@code .local.}, e.g. {@code _hislip._tcp.local.} */
    static String serviceType(String serviceType) {
        String type = Objects.requireNonNull(serviceType, "serviceType").strip().toLowerCase(Locale.ROOT);
        if (type.endsWith(".local.")) {
            type = type.substring(0, type.length() - ".local.".length());
        } else if (type.endsWith(".")) {
            type = type.substring(0, type.length() - 1);
        }
        if (!SERVICE_TYPE.matcher(type).matches()) {
            throw new IllegalArgumentException("'" + serviceType + "' is not a DNS-SD service type such as "
                    + "_hislip._tcp (RFC 6763 section 7: an underscore, 1 to 15 letters, digits or hyphens, then "
                    + "._tcp or ._udp)");
        }
        return type + ".local.";
    }

    /** Checks the TXT entries (RFC 6763 section 6) and keeps their order. */
    private static Map<String, String> txt(Map<String, String> txt) {
        Map<String, String> text = new LinkedHashMap<>();
        for (Map.Entry<String, String> entry : Objects.requireNonNull(txt, "txt").entrySet()) {
            String key = Objects.requireNonNull(entry.getKey(), "a TXT key");
            String value = Objects.requireNonNull(entry.getValue(), "the TXT value of " + key);
            if (key.isEmpty() || key.indexOf('=') >= 0
                    || (key + "=" + value).getBytes(StandardCharsets.UTF_8).length > 255) {
                throw new IllegalArgumentException("TXT entry '" + key + "=" + value + "' is not a key without '=' "
                        + "and a value of at most 255 bytes together");
            }
            text.put(key, value);
        }
        return text;
    }

    /** Runs a goodbye on the withdrawal threads; on the caller's after the component stopped. */
    private void withdrawLater(Runnable goodbye) {
        try {
            withdrawals.execute(goodbye);
        } catch (RejectedExecutionException e) {
            Uninterruptibly.run(goodbye::run);
        }
    }

    /**
     * Closes every responder (goodbyes for all they announce, at once) and waits for them, at most
     * {@link #STOP_TIMEOUT}.
     */
    @Deactivate
    public void deactivate() {
        List<Responder> all;
        synchronized (running) {
            stopped = true;
            all = new ArrayList<>(running.values());
            running.clear();
        }
        all.forEach(responder -> withdrawLater(responder::close));
        NamedThreads.shutdown(withdrawals, STOP_TIMEOUT);
    }

    /**
     * Waits until the withdrawals asked for so far are done, for tests: stops taking new ones.
     *
     * @return whether they ended in time
     */
    boolean awaitWithdrawals(Duration timeout) {
        return NamedThreads.shutdown(withdrawals, timeout);
    }

    /** @return how many responders run, for tests */
    int responders() {
        synchronized (running) {
            return running.size();
        }
    }

    /** One JmDNS on one local address and how many advertisements it carries (guarded by {@code running}). */
    private final class Responder {
        final InetAddress address;
        final JmDNS mdns;
        int count;

        Responder(InetAddress address, JmDNS mdns) {
            this.address = address;
            this.mdns = mdns;
        }

        /** Says goodbye for everything it still announces, then its threads end; idempotent in JmDNS. */
        void close() {
            try {
                mdns.close();
            } catch (IOException | RuntimeException e) {
                info.accept("Closing the mDNS responder on " + address.getHostAddress() + " failed: " + e);
            }
        }

        void unregister(ServiceInfo service) {
            try {
                mdns.unregisterService(service);
            } catch (RuntimeException e) {
                info.accept("Withdrawing '" + service.getName() + "' failed: " + e);
            }
        }
    }

    /** The caller's handle. */
    private final class Handle implements Advertisement {
        private final Responder responder;
        private final ServiceInfo service;
        private final String type;
        private final int port;
        private boolean withdrawn; // guarded by running

        Handle(Responder responder, ServiceInfo service, String type, int port) {
            this.responder = responder;
            this.service = service;
            this.type = type;
            this.port = port;
        }

        @Override
        public String instanceName() {
            return service.getName();
        }

        @Override
        public String serviceType() {
            return type;
        }

        @Override
        public int port() {
            return port;
        }

        @Override
        public void close() {
            Runnable goodbye;
            synchronized (running) {
                if (withdrawn || running.get(responder.address) != responder) { // or the advertiser stopped
                    withdrawn = true;
                    return;
                }
                withdrawn = true;
                if (--responder.count == 0) {
                    running.remove(responder.address);
                    goodbye = responder::close; // the goodbye for this one too
                } else {
                    goodbye = () -> {
                        synchronized (running) {
                            if (running.get(responder.address) != responder) {
                                // Closed meanwhile (its other advertisements withdrawn too, or the advertiser
                                // stopped): its close says goodbye for this one with the rest, in one go, instead
                                // of a goodbye of ~2 s each
                                return;
                            }
                        }
                        responder.unregister(service);
                    };
                }
            }
            withdrawLater(goodbye);
            info.accept("Withdrawing '" + service.getName() + "' (" + type + ") from mDNS on "
                    + responder.address.getHostAddress());
        }

        @Override
        public String toString() {
            return "Advertisement[" + service.getName() + ", " + type + ", port " + port + "]";
        }
    }
}
