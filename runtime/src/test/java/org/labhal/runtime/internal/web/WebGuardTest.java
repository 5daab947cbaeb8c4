package org.labhal.runtime.internal.web;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import org.junit.jupiter.api.Test;

class WebGuardTest {
    private static WebGuard.Request get(String local, String host, String authorization) {
        return new WebGuard.Request("GET", "http", local, host, authorization, null, null, null);
    }

    private static WebGuard.Request post(String origin, String site, String type) {
        return new WebGuard.Request("POST", "http", "127.0.0.1", "localhost:7480", null, origin, site, type);
    }

    private static int refused(WebGuard guard, WebGuard.Request request) {
        return assertThrows(ApiException.class, () -> guard.check(request)).status();
    }

    @Test
    void anotherSitesPageCannotOpenTheApiOrItsEventStreamButALinkMayOpenThePage() {
        WebGuard guard = new WebGuard("");
        WebGuard.Request crossSite = new WebGuard.Request("GET", "http", "127.0.0.1", "localhost:7480", null,
                "https://evil.example", "cross-site", null);
        assertEquals(403, refused(guard, crossSite));
        WebGuard.Request navigation = new WebGuard.Request("GET", "http", "127.0.0.1", "localhost:7480", null, null,
                "cross-site", null);
        assertEquals(403, refused(guard, navigation), "the API and events only from the page itself");
        assertDoesNotThrow(() -> guard.checkPage(navigation), "a link from a wiki opens the dashboard");
        WebGuard.Request ownFetch = new WebGuard.Request("GET", "http", "127.0.0.1", "localhost:7480", null,
                "http://localhost:7480", "same-origin", null);
        assertDoesNotThrow(() -> guard.check(ownFetch));
    }

    @Test
    void withoutATokenOnlyLoopbackIsServed() {
        WebGuard guard = new WebGuard("");
        assertDoesNotThrow(() -> guard.check(get("127.0.0.1", "127.0.0.1:7480", null)));
        assertDoesNotThrow(() -> guard.check(get("0:0:0:0:0:0:0:1", "[::1]:7480", null)));
        assertEquals(403, refused(guard, get("192.168.1.20", "192.168.1.20:7480", null)));
        // a DNS-rebinding page reaches loopback under its own name
        assertEquals(403, refused(guard, get("127.0.0.1", "evil.example:7480", null)));
    }

    @Test
    void aTokenIsNeededEverywhereOnceConfigured() {
        WebGuard guard = new WebGuard("s3cret");
        assertEquals(401, refused(guard, get("127.0.0.1", "localhost:7480", null)));
        assertEquals(401, refused(guard, get("10.0.0.5", "lab:7480", "Bearer wrong")));
        assertDoesNotThrow(() -> guard.check(get("10.0.0.5", "lab:7480", "Bearer s3cret")));
        String basic = Base64.getEncoder().encodeToString("anyone:s3cret".getBytes(StandardCharsets.UTF_8));
        assertDoesNotThrow(() -> guard.check(get("10.0.0.5", "lab:7480", "Basic " + basic)));
        assertEquals(401, refused(guard, get("10.0.0.5", "lab:7480", "Basic !!!")));
    }

    @Test
    void statechangingRequestsMustBeSameOriginJson() {
        WebGuard guard = new WebGuard("");
        assertDoesNotThrow(() -> guard.check(post(null, null, "application/json")));
        assertDoesNotThrow(() -> guard.check(post("http://localhost:7480", "same-origin", "application/json; charset=UTF-8")));
        assertEquals(403, refused(guard, post("http://evil.example", null, "application/json")));
        assertEquals(403, refused(guard, post(null, "cross-site", "application/json")));
        assertEquals(415, refused(guard, post(null, null, "text/plain")));
        assertEquals(415, refused(guard, post(null, null, null)));
    }

    @Test
    void bindingOffLoopbackWithoutATokenIsReported() {
        assertTrue(new WebGuard("").refusal("127.0.0.1").isEmpty());
        assertTrue(new WebGuard("").refusal("localhost").isEmpty());
        assertTrue(new WebGuard("").refusal("0.0.0.0").isPresent());
        assertTrue(new WebGuard("").refusal(null).isPresent());
        assertTrue(new WebGuard("t").refusal("0.0.0.0").isEmpty());
    }
}
