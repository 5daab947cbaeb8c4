package org.labhal.discovery.lxi.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

import javax.jmdns.JmDNS;
import javax.jmdns.ServiceEvent;
import javax.jmdns.ServiceInfo;
import javax.jmdns.ServiceListener;

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
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * Finds LAN instruments by mDNS / DNS-SD: for each interface of the request, an mDNS responder bound to it
 * browses {@code _lxi._tcp}, {@code _hislip._tcp}, {@code _vxi-11._tcp} and {@code _scpi-raw._tcp} for the
 * whole timeout (mDNS has no "that was everyone"), and each service that resolves (address, port and TXT
 * record) is reported as the resource it gives (see {@link LanService}), labelled with its instance name,
 * with its TXT entries as details.
 * <p>
 * Nothing is opened before {@link #discover} and when the request lists no interface nothing is opened at
 * all. The responders are closed before it returns, all at once; JmDNS repeats its goodbyes for about 2 s
 * while closing, so the search stops browsing {@link #CLOSE_RESERVE} before the timeout (half the timeout
 * when that is shorter) and the call returns at about its timeout, at most {@link #CLOSE_MARGIN} after it.
 * On loopback a service is seen about a second after the search starts.
 */
@Component(service = Discoverer.class, property = {Discoverer.KINDS_PROPERTY + "=HISLIP",
        Discoverer.KINDS_PROPERTY + "=VXI11", Discoverer.KINDS_PROPERTY + "=SOCKET"})
public final class LxiDiscoverer implements Discoverer {
    /** The end of the timeout left for closing the responders, at most half of it. */
    public static final Duration CLOSE_RESERVE = Duration.ofSeconds(2);
    /** How long after the request's timeout the call may return, for closing the responders. */
    public static final Duration CLOSE_MARGIN = Duration.ofSeconds(2);
    /** The host name each browsing responder gives itself. */
    static final String HOST_NAME = "labhal-discovery";
    /** Results remembered to drop repeats; past this they are forgotten (the caller merges repeats anyway). */
    private static final int MAX_REMEMBERED = 4096;

    private final Responders responders;
    private final Consumer<String> debug;
    private final ExecutorService closer = NamedThreads.executor("labhal-lxi-discovery-close", 4);

    /** @param logger reports, at debug level, each service seen and what was ignored */
    @Activate
    public LxiDiscoverer(@Reference(service = LoggerFactory.class) Logger logger) {
        this(Responders.JMDNS, logger::debug);
    }

    /**
     * @param responders starts the mDNS responders
     * @param debug receives debug messages
     */
    LxiDiscoverer(Responders responders, Consumer<String> debug) {
        this.responders = responders;
        this.debug = debug;
    }

    @Override
    public String name() {
        return "mDNS (LXI, HiSLIP, VXI-11, SCPI raw)";
    }

    @Override
    public Set<TransportKind> kinds() {
        return Set.of(TransportKind.HISLIP, TransportKind.VXI11, TransportKind.SOCKET);
    }

    @Override
    public void discover(DiscoveryRequest request, Consumer<Discovered> found) throws LabHalException {
        if (request.interfaces().isEmpty()) {
            return;
        }
        Deadline deadline = Deadline.after(request.timeout());
        Map<InetAddress, String> bind = new LinkedHashMap<>(); // every interface checked before anything opens
        for (String spec : request.interfaces()) {
            bind.putIfAbsent(LocalInterface.resolve(spec), spec.strip());
        }
        Reporter reporter = new Reporter(found);
        List<JmDNS> open = new ArrayList<>(bind.size());
        try {
            for (Map.Entry<InetAddress, String> entry : bind.entrySet()) {
                if (Thread.currentThread().isInterrupted()) {
                    throw new InterruptedException();
                }
                JmDNS mdns;
                try {
                    mdns = responders.open(entry.getKey(), HOST_NAME);
                } catch (IOException e) {
                    throw new LabHalException("Cannot start mDNS on the interface " + entry.getValue() + " ("
                            + entry.getKey().getHostAddress() + "): " + e.getMessage(), e);
                }
                open.add(mdns);
                for (LanService service : LanService.values()) {
                    mdns.addServiceListener(service.type, new Browser(reporter, service, entry.getValue()));
                }
            }
            long reserve = Math.min(CLOSE_RESERVE.toNanos(), request.timeout().toNanos() / 2);
            long remaining = deadline.remainingNanos() - reserve;
            if (remaining > 0) {
                TimeUnit.NANOSECONDS.sleep(remaining); // mDNS answers trickle in: the search lasts its time
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StepInterruptedException("The mDNS search on " + String.join(", ", bind.values())
                    + " was interrupted", e);
        } finally {
            if (Thread.currentThread().isInterrupted()) {
                reporter.discard();
            }
            reporter.stop(); // nothing reaches the caller after it returns
            Uninterruptibly.run(() -> closeAll(open));
        }
    }

    /**
     * Closes the responders, at once (each waits about 2 s for its goodbyes to go out); a failure to close one
     * is reported and the others still close. Runs with the interrupt flag cleared: JmDNS cuts its close short
     * when interrupted, and clears the flag.
     */
    private void closeAll(List<JmDNS> open) {
        List<Future<?>> closing = new ArrayList<>();
        for (JmDNS mdns : open.subList(Math.min(1, open.size()), open.size())) {
            try {
                closing.add(closer.submit(() -> close(mdns)));
            } catch (RejectedExecutionException e) { // the component stopped meanwhile
                close(mdns);
            }
        }
        if (!open.isEmpty()) {
            close(open.get(0));
        }
        // One margin for all of them, not one each; an interrupt does not cut the wait for the others short
        long closeBy = System.nanoTime() + CLOSE_MARGIN.toNanos();
        boolean interrupted = false;
        for (Future<?> future : closing) {
            while (true) {
                try {
                    future.get(Math.max(0, closeBy - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (ExecutionException | TimeoutException e) {
                    debug.accept("closing an mDNS responder did not end in time: " + e);
                } catch (InterruptedException e) {
                    interrupted = true; // kept for the caller, once all are waited for
                    continue;
                }
                break;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void close(JmDNS mdns) {
        try {
            mdns.close();
        } catch (IOException | RuntimeException e) {
            debug.accept("closing the mDNS responder on " + mdns.getName() + " failed: " + e);
        }
    }

    /** Stops the threads that close responders of a search with several interfaces. */
    @Deactivate
    public void deactivate() {
        NamedThreads.shutdown(closer, CLOSE_MARGIN);
    }

    /**
     * Hands results to the caller one at a time, drops exact repeats, and nothing once the search ended.
     * JmDNS resolves a service from its SRV and address records before its TXT record arrives, and then
     * again with it, and an empty TXT record looks the same as none yet: so a service without TXT entries
     * is held back until it resolves with some, or until the search ends.
     */
    private final class Reporter {
        private final Consumer<Discovered> found;
        private final Set<Discovered> reported = new HashSet<>();
        private final Map<String, Discovered> withoutTxt = new LinkedHashMap<>(); // by source and name
        private boolean stopped; // guarded by this

        Reporter(Consumer<Discovered> found) {
            this.found = found;
        }

        synchronized void offer(Discovered discovered) {
            if (stopped) {
                return;
            }
            String key = discovered.source() + "\n" + discovered.label();
            if (discovered.details().isEmpty()) {
                if (withoutTxt.size() < MAX_REMEMBERED) {
                    withoutTxt.putIfAbsent(key, discovered);
                }
                return;
            }
            withoutTxt.remove(key);
            report(discovered);
        }

        private void report(Discovered discovered) {
            if (reported.size() >= MAX_REMEMBERED) {
                reported.clear();
            }
            if (!reported.add(discovered)) {
                return;
            }
            try {
                found.accept(discovered);
            } catch (RuntimeException e) {
                debug.accept("the receiver of discovered instruments failed on " + discovered.address() + ": " + e);
            }
        }

        /** Forgets what was held back: an interrupted search reports nothing more. */
        synchronized void discard() {
            withoutTxt.clear();
        }

        /** Reports what never showed TXT entries, then nothing more. */
        synchronized void stop() {
            if (!stopped) {
                withoutTxt.values().forEach(this::report);
                withoutTxt.clear();
                stopped = true;
            }
        }
    }

    /** Browses one service type on one interface: asks for each service seen and reports those resolved. */
    private final class Browser implements ServiceListener {
        private final Reporter reporter;
        private final LanService service;
        private final String source;

        Browser(Reporter reporter, LanService service, String interfaceName) {
            this.reporter = reporter;
            this.service = service;
            this.source = "mDNS " + service.type.substring(0, service.type.length() - ".local.".length()) + " on "
                    + interfaceName;
        }

        @Override
        public void serviceAdded(ServiceEvent event) {
            // asynchronous: serviceResolved follows when address, port and TXT record are in
            event.getDNS().requestServiceInfo(event.getType(), event.getName(), true);
        }

        @Override
        public void serviceRemoved(ServiceEvent event) {
            // a search reports what it saw; the caller's probe tells whether it is still there
        }

        @Override
        public void serviceResolved(ServiceEvent event) {
            ServiceInfo info = event.getInfo();
            if (info == null) {
                return;
            }
            List<InetAddress> addresses = new ArrayList<>(Arrays.asList(info.getInet4Addresses()));
            addresses.addAll(Arrays.asList(info.getInet6Addresses()));
            Optional<ResourceAddress> resource;
            try {
                resource = service.resource(addresses, info.getPort());
            } catch (IllegalArgumentException e) { // ResourceAddress refused what the LAN said
                resource = Optional.empty();
            }
            if (resource.isEmpty()) {
                debug.accept(source + ": ignored '" + info.getName() + "' (addresses " + addresses + ", port "
                        + info.getPort() + ")");
                return;
            }
            byte[] text = info.getTextBytes();
            if (text == null || text.length == 0) {
                // resolved from the SRV and address records before the TXT record came: it will resolve again
                // (an empty TXT record is one zero byte, RFC 6763 section 6.1)
                debug.accept(source + ": '" + info.getName() + "' has no TXT record yet");
                return;
            }
            Map<String, String> details = LanService.txt(text);
            debug.accept(source + ": '" + info.getName() + "' is " + resource.get() + " " + details);
            reporter.offer(new Discovered(resource.get(), source, info.getName(), details, true));
        }
    }
}
