package org.labhal.runtime.internal.web;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Locale;
import java.util.Optional;

/**
 * Who may use the dashboard and its API, decided per request. Without a token only requests that
 * arrived on a loopback address and name a loopback host are served (the Host check keeps a DNS-rebinding
 * page out); with a token every request must carry it. Every request must come from this origin: its
 * {@code Origin}, when sent, must equal its own and {@code Sec-Fetch-Site}, when sent, must be
 * {@code same-origin} or {@code none}; a state-changing request (POST) must also send its body as
 * {@code application/json}. Immutable.
 */
final class WebGuard {
    /** Configuration PID of the dashboard. */
    static final String PID = "org.labhal.web";
    /** Run property giving the token when the configuration has none. */
    static final String TOKEN_PROPERTY = "labhal.web.token";

    /** What the servlet needs to know about a request. */
    record Request(String method, String scheme, String localAddress, String host, String authorization,
            String origin, String fetchSite, String contentType) {
    }

    private final byte[] token;

    /** @param token the credential requests must carry; empty for loopback-only serving */
    WebGuard(String token) {
        this.token = token.getBytes(StandardCharsets.UTF_8);
    }

    /** @return whether a token is configured */
    boolean hasToken() {
        return token.length > 0;
    }

    /**
     * @param request the request
     * @throws ApiException 401 without the token, 403 off loopback without a token or cross-site, 415 for a
     *         POST body that is not JSON
     */
    void check(Request request) throws ApiException {
        check(request, true);
    }

    /**
     * As {@link #check(Request)} for the page itself, which a link on another site may open (a navigation): the
     * origin is not checked for its reads.
     *
     * @param request the request
     * @throws ApiException as {@link #check(Request)}
     */
    void checkPage(Request request) throws ApiException {
        check(request, !"GET".equals(request.method()));
    }

    private void check(Request request, boolean sameOrigin) throws ApiException {
        if (hasToken()) {
            if (!authorized(request.authorization())) {
                throw new ApiException(401, "this dashboard needs its token: send 'Authorization: Bearer <token>' "
                        + "(or basic auth with the token as password)");
            }
        } else {
            if (!loopback(request.localAddress())) {
                throw new ApiException(403, "the web dashboard serves only on loopback while no token is configured ("
                        + "reached on " + request.localAddress() + "); set token in configuration " + PID + " or -D"
                        + TOKEN_PROPERTY + "=...");
            }
            if (!loopbackName(hostName(request.host()))) {
                throw new ApiException(403, "Host '" + request.host() + "' is not a loopback name; without a token the "
                        + "dashboard answers only requests for localhost, 127.0.0.1 or [::1]");
            }
        }
        // Every request, reads too: another site's page must not hold the dashboard's event streams (16 at most)
        // open in the user's browser, even though it cannot read them.
        String self = request.scheme() + "://" + request.host();
        if (sameOrigin && request.origin() != null && !request.origin().equalsIgnoreCase(self)) {
            throw new ApiException(403, "cross-site request refused: Origin " + request.origin() + " is not " + self);
        }
        String site = request.fetchSite();
        if (sameOrigin && site != null && !site.equals("same-origin") && !site.equals("none")) {
            throw new ApiException(403, "cross-site request refused: Sec-Fetch-Site is " + site);
        }
        if ("POST".equals(request.method())) {
            String type = request.contentType() == null ? "" : request.contentType().toLowerCase(Locale.ROOT);
            if (!type.equals("application/json") && !type.startsWith("application/json;")) {
                throw new ApiException(415, "send the request body as Content-Type: application/json, not "
                        + (request.contentType() == null ? "none" : request.contentType()));
            }
        }
    }

    private boolean authorized(String header) {
        if (header == null) {
            return false;
        }
        byte[] given;
        if (header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            given = header.substring(7).strip().getBytes(StandardCharsets.UTF_8);
        } else if (header.regionMatches(true, 0, "Basic ", 0, 6)) {
            String pair;
            try {
                pair = new String(Base64.getDecoder().decode(header.substring(6).strip()), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                return false;
            }
            int colon = pair.indexOf(':');
            given = (colon < 0 ? pair : pair.substring(colon + 1)).getBytes(StandardCharsets.UTF_8);
        } else {
            return false;
        }
        return MessageDigest.isEqual(given, token); // constant time: no timing hint about the token
    }

    /** @return whether the address is a loopback one; false for anything unparseable */
    static boolean loopback(String address) {
        if (address == null || address.isEmpty()) {
            return false;
        }
        if (!address.matches("[0-9.]+") && !address.contains(":")) {
            return false; // only literal addresses: a name would be looked up
        }
        try {
            return InetAddress.getByName(address).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private static String hostName(String host) {
        if (host == null) {
            return "";
        }
        String h = host.strip().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end < 0 ? h : h.substring(0, end + 1);
        }
        int colon = h.indexOf(':');
        return colon < 0 ? h : h.substring(0, colon);
    }

    private static boolean loopbackName(String name) {
        return name.equals("localhost") || name.equals("[::1]") || name.matches("127(\\.\\d{1,3}){3}");
    }

    /**
     * @param host the host the HTTP server binds, e.g. from {@code org.apache.felix.http.host}; null or empty
     *        means every address
     * @return why the dashboard will not serve there without a token, or empty when it will
     */
    Optional<String> refusal(String host) {
        if (hasToken()) {
            return Optional.empty();
        }
        if (host == null || host.isBlank()) {
            return Optional.of("the HTTP server listens on every address (org.apache.felix.http.host is not set); "
                    + "the dashboard answers only requests on loopback until a token is configured (" + PID
                    + " token, or -D" + TOKEN_PROPERTY + "=...)");
        }
        String h = host.strip();
        if (h.equalsIgnoreCase("localhost") || loopback(h.replace("[", "").replace("]", ""))) {
            return Optional.empty();
        }
        return Optional.of("the HTTP server listens on " + h + ", which is not loopback; the dashboard refuses every "
                + "request that does not arrive on loopback until a token is configured (" + PID + " token, or -D"
                + TOKEN_PROPERTY + "=...)");
    }
}
