package org.labhal.runtime.internal.web;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Optional;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardServletName;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardServletPattern;

import jakarta.servlet.Servlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * {@code GET /labhal/api/events}: server-sent events ({@code text/event-stream}). {@code snapshot}
 * carries the instruments and live locks (on change, and every second), {@code steps} the traced steps
 * of instruments whose trace is on, {@code dropped} how many events this stream lost because it read too
 * slowly. Each stream is written from its own request thread out of its own bounded queue, so a stalled
 * reader blocks only that thread; streams are capped ({@link EventHub}).
 */
@Component(service = Servlet.class)
@HttpWhiteboardServletPattern(WebDashboard.API + "/events")
@HttpWhiteboardServletName("labhal-events")
public final class EventsServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    /** A comment line this often keeps proxies from closing a quiet stream and finds gone clients. */
    private static final Duration KEEP_ALIVE = Duration.ofSeconds(15);
    private final transient WebDashboard dashboard;

    /** @param dashboard the guard and the event hub */
    @Activate
    public EventsServlet(@Reference WebDashboard dashboard) {
        this.dashboard = dashboard;
    }

    /** A stream has no head to show, and a HEAD request would hold an event stream its client never reads. */
    @Override
    protected void doHead(HttpServletRequest request, HttpServletResponse response) throws IOException {
        Responses.error(response, new ApiException(405, "GET the event stream; HEAD is not served here"));
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        EventHub.Client client;
        try {
            dashboard.guard().check(Responses.view(request));
            client = dashboard.events().join();
        } catch (ApiException e) {
            Responses.error(response, e);
            return;
        }
        try {
            Responses.secure(response);
            response.setContentType("text/event-stream");
            response.setCharacterEncoding("UTF-8");
            PrintWriter out = response.getWriter();
            out.write("retry: 2000\n\n");
            out.flush();
            long reported = 0;
            while (!out.checkError()) {
                Optional<String> event = client.next(KEEP_ALIVE);
                if (event == null) {
                    break; // the dashboard is stopping
                }
                out.write(event.orElse(": keep-alive\n\n"));
                if (client.dropped() != reported) {
                    reported = client.dropped();
                    out.write(EventHub.event("dropped", "{\"dropped\":" + reported + "}"));
                }
                out.flush();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the server is stopping
        } finally {
            dashboard.events().leave(client);
        }
    }
}
