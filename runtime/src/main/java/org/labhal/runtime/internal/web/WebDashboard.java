package org.labhal.runtime.internal.web;

import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.labhal.api.lock.LockService;
import org.labhal.runtime.internal.NamedThreadFactory;
import org.labhal.runtime.internal.discovery.Inbox;
import org.labhal.runtime.internal.instrument.InstrumentDirectory;
import org.labhal.runtime.internal.shell.LockHolders;
import org.labhal.runtime.internal.trace.Traces;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.util.tracker.ServiceTracker;

/**
 * What the dashboard's servlets share: the security guard, the JSON API, the event hub, and where the
 * dashboard is served. Logs the dashboard's URL at info once the HTTP server runs (the servlet runtime's
 * {@code osgi.http.endpoint}), and at error when the server listens off loopback without a token.
 */
@Component(service = WebDashboard.class, configurationPid = WebGuard.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = WebConfiguration.class)
public final class WebDashboard {
    /** The page's path; the API is below {@value #API}. */
    static final String PAGE = "/labhal/";
    /** The API's path prefix. */
    static final String API = "/labhal/api";
    /** Framework property: the address Felix's Jetty binds. */
    static final String HOST_PROPERTY = "org.apache.felix.http.host";
    /** The servlet runtime service, named by string so the bundle does not need its package to resolve. */
    private static final String SERVLET_RUNTIME = "org.osgi.service.servlet.runtime.HttpServiceRuntime";

    private final WebGuard guard;
    private final DashboardApi api;
    private final EventHub events;
    private final int maxBody;
    private final ExecutorService pump = Executors.newSingleThreadExecutor(new NamedThreadFactory("labhal-web-events"));
    private final ServiceTracker<Object, Object> endpoints;
    private volatile Inbox inbox;
    private volatile String url;

    /**
     * @param directory the running instruments
     * @param locks every live lock
     * @param holders the locks held from the shell and the page
     * @param traces the instruments' traces
     * @param configuration token and limits
     * @param context reads the run properties, finds the servlet runtime
     * @param logger where the URL and trouble go
     */
    @Activate
    public WebDashboard(@Reference InstrumentDirectory directory, @Reference LockService locks,
            @Reference LockHolders holders, @Reference Traces traces, WebConfiguration configuration,
            BundleContext context, @Reference(service = LoggerFactory.class) Logger logger) {
        if (configuration.maxEventClients() < 1 || configuration.eventQueue() < 1 || configuration.maxBody() < 1) {
            throw new IllegalArgumentException(WebGuard.PID + ": maxEventClients, eventQueue and maxBody must be at "
                    + "least 1, got " + configuration.maxEventClients() + ", " + configuration.eventQueue() + ", "
                    + configuration.maxBody());
        }
        String token = configuration.token();
        if (token.isEmpty() && context.getProperty(WebGuard.TOKEN_PROPERTY) != null) {
            token = context.getProperty(WebGuard.TOKEN_PROPERTY);
        }
        this.guard = new WebGuard(token.strip());
        this.api = new DashboardApi(directory, locks, holders, traces, () -> Optional.ofNullable(inbox));
        this.events = new EventHub(api::snapshot, traces, pump, configuration.maxEventClients(),
                configuration.eventQueue());
        this.maxBody = configuration.maxBody();
        guard.refusal(context.getProperty(HOST_PROPERTY)).ifPresent(why -> logger.error("Web dashboard: {}", why));
        this.endpoints = new ServiceTracker<>(context, SERVLET_RUNTIME, null) {
            @Override
            public Object addingService(ServiceReference<Object> reference) {
                Object endpoint = reference.getProperty("osgi.http.endpoint");
                String first = endpoint instanceof String[] all && all.length > 0 ? all[0]
                        : endpoint instanceof java.util.Collection<?> list && !list.isEmpty()
                                ? String.valueOf(list.iterator().next()) : endpoint == null ? null : endpoint.toString();
                if (first != null) {
                    url = (first.endsWith("/") ? first.substring(0, first.length() - 1) : first) + PAGE;
                    logger.info("Web dashboard at {}{}", url, guard.hasToken() ? " (token required)" : "");
                }
                return reference;
            }

            @Override
            public void removedService(ServiceReference<Object> reference, Object service) {
                url = null;
            }
        };
        endpoints.open(true);
    }

    /** Ends the event streams and stops the pump. */
    @Deactivate
    public void deactivate() {
        endpoints.close();
        events.close();
        pump.shutdownNow();
    }

    /** @param found the discovery inbox, when discovery runs */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void setInbox(Inbox found) {
        inbox = found;
    }

    /** @param gone the inbox going away */
    void unsetInbox(Inbox gone) {
        if (inbox == gone) {
            inbox = null;
        }
    }

    WebGuard guard() {
        return guard;
    }

    DashboardApi api() {
        return api;
    }

    EventHub events() {
        return events;
    }

    int maxBody() {
        return maxBody;
    }

    /** @return the page's URL once the HTTP server runs */
    public Optional<String> url() {
        return Optional.ofNullable(url);
    }

    /** @return one paragraph for {@code instr:web}: where, how secured, who listens */
    public String describe() {
        return "web dashboard: " + url().orElse("not served (the HTTP server is not running: it starts with the "
                + "shell, not for a single command line)") + "\nJSON API: " + url().map(u -> u + "api/").orElse("-")
                + "\ncredential: " + (guard.hasToken() ? "token required (Authorization: Bearer, or basic auth)"
                        : "none: only requests on loopback are served")
                + "\nevent streams: " + events.clients() + " open, " + events.dropped()
                + " events dropped for slow readers";
    }
}
