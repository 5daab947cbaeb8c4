package org.labhal.runtime.internal.web;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/** Headers and JSON answers every dashboard servlet sends, and the request as the guard sees it. */
final class Responses {
    private Responses() {
    }

    /** @return what {@link WebGuard} needs from the request */
    static WebGuard.Request view(HttpServletRequest request) {
        return new WebGuard.Request(request.getMethod(), request.getScheme(), request.getLocalAddr(),
                request.getHeader("Host"), request.getHeader("Authorization"), request.getHeader("Origin"),
                request.getHeader("Sec-Fetch-Site"), request.getContentType());
    }

    /** Headers that keep the answers out of caches, frames and content sniffing. */
    static void secure(HttpServletResponse response) {
        response.setHeader("Cache-Control", "no-store");
        response.setHeader("X-Content-Type-Options", "nosniff");
        response.setHeader("X-Frame-Options", "DENY");
        response.setHeader("Referrer-Policy", "no-referrer");
    }

    /** Writes a JSON answer. */
    static void json(HttpServletResponse response, int status, String json) throws IOException {
        secure(response);
        response.setStatus(status);
        if (status == 401) {
            response.setHeader("WWW-Authenticate", "Basic realm=\"LabHAL\", charset=\"UTF-8\"");
        }
        response.setContentType("application/json");
        response.setCharacterEncoding("UTF-8");
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        response.setContentLength(bytes.length);
        response.getOutputStream().write(bytes);
    }

    /** Writes {@code {"error": ...}}. */
    static void error(HttpServletResponse response, ApiException e) throws IOException {
        DashboardApi.Response answer = DashboardApi.error(e.status(), e.getMessage());
        json(response, answer.status(), answer.json());
    }
}
