package org.labhal.runtime.internal.web;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

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
 * The JSON API below {@code /labhal/api/}: GET reads, POST acts (runtime/README.md, "The web dashboard",
 * lists every endpoint). Every request passes the {@link WebGuard}; a POST body is read up to the
 * configured limit and refused beyond it.
 */
@Component(service = Servlet.class)
@HttpWhiteboardServletPattern(WebDashboard.API + "/*")
@HttpWhiteboardServletName("labhal-api")
public final class ApiServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private final transient WebDashboard dashboard;

    /** @param dashboard the guard and the API */
    @Activate
    public ApiServlet(@Reference WebDashboard dashboard) {
        this.dashboard = dashboard;
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        try {
            dashboard.guard().check(Responses.view(request));
            String body = null;
            if ("POST".equals(request.getMethod())) {
                body = body(request, dashboard.maxBody());
            }
            DashboardApi.Response answer = dashboard.api().handle(request.getMethod(), request.getPathInfo(),
                    request.getParameter("n"), body);
            Responses.json(response, answer.status(), answer.json());
        } catch (ApiException e) {
            Responses.error(response, e);
        }
    }

    private static String body(HttpServletRequest request, int limit) throws IOException, ApiException {
        if (request.getContentLengthLong() > limit) {
            throw new ApiException(413, "request body of " + request.getContentLengthLong() + " bytes is over the "
                    + limit + " byte limit");
        }
        try (InputStream in = request.getInputStream()) {
            byte[] bytes = in.readNBytes(limit + 1);
            if (bytes.length > limit) {
                throw new ApiException(413, "request body is over the " + limit + " byte limit");
            }
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }
}
