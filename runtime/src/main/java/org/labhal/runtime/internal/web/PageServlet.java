package org.labhal.runtime.internal.web;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

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
 * The dashboard page: {@code /labhal/} (its HTML, script and style sheet, bundle resources; nothing from
 * outside, so it works offline) and, as the default servlet, {@code /} sending browsers there and any
 * other path a JSON 404.
 */
@Component(service = Servlet.class)
@HttpWhiteboardServletPattern({ "/labhal/*", "/" })
@HttpWhiteboardServletName("labhal-page")
public final class PageServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    /** The files of the page by name, with their content types. */
    private static final Map<String, String> FILES = Map.of("index.html", "text/html", "app.js", "text/javascript",
            "app.css", "text/css");
    private final transient WebDashboard dashboard;

    /** @param dashboard the guard */
    @Activate
    public PageServlet(@Reference WebDashboard dashboard) {
        this.dashboard = dashboard;
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        try {
            dashboard.guard().checkPage(Responses.view(request));
            if (!"GET".equals(request.getMethod()) && !"HEAD".equals(request.getMethod())) {
                throw new ApiException(405, request.getMethod() + " is not served here");
            }
            String servletPath = request.getServletPath();
            String info = request.getPathInfo();
            if (servletPath.equals("/labhal") || servletPath.isEmpty() && (info == null || info.equals("/"))) {
                if (info == null && servletPath.equals("/labhal") || servletPath.isEmpty()) {
                    Responses.secure(response);
                    response.sendRedirect(WebDashboard.PAGE);
                    return;
                }
                String name = info.equals("/") ? "index.html" : info.substring(1);
                String type = FILES.get(name);
                if (type != null) {
                    send(response, name, type);
                    return;
                }
            }
            throw new ApiException(404, "nothing at " + request.getRequestURI() + "; the dashboard is at "
                    + WebDashboard.PAGE + " and its API at " + WebDashboard.API + "/");
        } catch (ApiException e) {
            Responses.error(response, e);
        }
    }

    private void send(HttpServletResponse response, String name, String type) throws IOException, ApiException {
        try (InputStream in = PageServlet.class.getResourceAsStream("page/" + name)) {
            if (in == null) {
                throw new ApiException(500, "the bundle lacks its page file " + name);
            }
            byte[] bytes = in.readAllBytes();
            Responses.secure(response);
            response.setHeader("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "
                    + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
            response.setContentType(type);
            response.setCharacterEncoding("UTF-8");
            response.setContentLength(bytes.length);
            response.getOutputStream().write(bytes);
        }
    }
}
