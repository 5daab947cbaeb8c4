package org.labhal.runtime.internal.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.labhal.runtime.internal.instrument.InstrumentConnection;
import org.labhal.runtime.internal.instrument.InstrumentDirectory;
import org.labhal.runtime.internal.instrument.RuntimeFixture;
import org.labhal.runtime.internal.instrument.ScpiTestServer;
import org.labhal.runtime.internal.shell.LockHolders;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/** The JSON API against a real instrument on a loopback SCPI server, without HTTP around it. */
class DashboardApiTest {
    private ScpiTestServer device;
    private RuntimeFixture runtime;
    private LockHolders holders;
    private InstrumentDirectory directory;
    private DashboardApi api;

    @BeforeEach
    void start() throws Exception {
        device = new ScpiTestServer(ScpiTestServer.Mode.MANY, false);
        runtime = new RuntimeFixture();
        holders = new LockHolders();
        directory = new InstrumentDirectory();
        InstrumentConnection box = runtime.start("box", device.resource(), "ioTimeout", "2000");
        directory.claim(box);
        assertEquals(InstrumentConnection.State.ONLINE, RuntimeFixture.settle(box), box.status().detail());
        api = new DashboardApi(directory, runtime.locks, holders, runtime.traces, Optional::empty);
    }

    @AfterEach
    void stop() throws Exception {
        holders.close();
        runtime.close();
        device.close();
    }

    private static JsonObject object(DashboardApi.Response response) {
        return JsonParser.parseString(response.json()).getAsJsonObject();
    }

    private static String error(DashboardApi.Response response) {
        return object(response).get("error").getAsString();
    }

    @Test
    void listsTheInstrumentsAsTheShellDoes() {
        DashboardApi.Response response = api.handle("GET", "/instruments", null, null);
        assertEquals(200, response.status());
        JsonArray all = JsonParser.parseString(response.json()).getAsJsonArray();
        assertEquals(1, all.size());
        JsonObject box = all.get(0).getAsJsonObject();
        assertEquals("box", box.get("id").getAsString());
        assertEquals("ONLINE", box.get("state").getAsString());
        assertEquals(ScpiTestServer.IDN, box.get("identity").getAsString());
        assertFalse(box.get("trace").getAsBoolean());
    }

    @Test
    void queriesThroughTheInstrumentsSession() {
        DashboardApi.Response response = api.handle("POST", "/instruments/BOX/query", null, "{\"command\":\"*IDN?\"}");
        assertEquals(200, response.status(), response.json());
        assertEquals(ScpiTestServer.IDN, object(response).get("answer").getAsString());
    }

    @Test
    void anUnknownInstrumentIs404WithTheShellsMessage() {
        DashboardApi.Response response = api.handle("POST", "/instruments/nope/query", null, "{\"command\":\"*IDN?\"}");
        assertEquals(404, response.status());
        assertEquals(directory.unknown("nope").getMessage(), error(response));
        assertEquals("no instrument 'nope'; configured: box", error(response));
    }

    @Test
    void badInputIs400WithWhatWasWrong() {
        DashboardApi.Response broken = api.handle("POST", "/instruments/box/query", null, "{\"command\":");
        assertEquals(400, broken.status());
        assertTrue(error(broken).startsWith("bad JSON: "), error(broken));
        DashboardApi.Response missing = api.handle("POST", "/instruments/box/query", null, "{}");
        assertEquals(400, missing.status());
        assertTrue(error(missing).contains("\"command\""), error(missing));
        DashboardApi.Response array = api.handle("POST", "/instruments/box/write", null, "[1]");
        assertEquals(400, array.status());
        DashboardApi.Response duration = api.handle("POST", "/instruments/box/lock", null, "{\"timeout\":\"soon\"}");
        assertEquals(400, duration.status());
        assertTrue(error(duration).startsWith("timeout 'soon' is not a duration"), error(duration));
        DashboardApi.Response count = api.handle("GET", "/instruments/box/trace", "0", null);
        assertEquals(400, count.status());
        DashboardApi.Response forever = api.handle("POST", "/instruments/box/lock", null,
                "{\"timeout\":\"1s\",\"lease\":\"99999m\"}");
        assertEquals(400, forever.status(), "a page may be closed while it holds a lock: its leases are bounded");
        assertTrue(error(forever).contains("held at most 30"), error(forever));
    }

    @Test
    void unknownPathsAndMethodsAreJsonErrors() {
        assertEquals(404, api.handle("GET", "/nothing", null, null).status());
        assertEquals(404, api.handle("POST", "/instruments/box/explode", null, "{}").status());
        assertEquals(404, api.handle("GET", "/instruments/box/query", null, null).status());
        assertEquals(405, api.handle("DELETE", "/instruments/box", null, null).status());
    }

    @Test
    void aLockTakenHereIsTheShellsToReleaseAndTheOtherWayRound() throws Exception {
        DashboardApi.Response locked = api.handle("POST", "/instruments/box/lock", null,
                "{\"timeout\":\"1s\",\"lease\":\"30s\"}");
        assertEquals(200, locked.status(), locked.json());
        assertTrue(holders.holds("box"), "the shared registry holds it");
        String holder = lockOf("box").getAsJsonObject("holder").get("activity").getAsString();
        assertTrue(holder.contains("web dashboard"), holder);

        // the shell cannot take it a second time, and the page refuses with 409 once the shell holds it
        IllegalStateException taken = assertThrows(IllegalStateException.class,
                () -> holders.hold("box", directory.online("box", Duration.ofSeconds(1)).session().lock(),
                        Duration.ofMillis(100), Duration.ofSeconds(5)));
        assertTrue(taken.getMessage().startsWith("the web dashboard already holds the lock of box"), taken.getMessage());
        holders.release("box"); // instr:unlock box
        DashboardApi.Response again = api.handle("POST", "/instruments/box/unlock", null, "{}");
        assertEquals(409, again.status());
        assertTrue(error(again).startsWith("the shell and the web dashboard hold no lock of box"), error(again));

        holders.hold("box", directory.online("box", Duration.ofSeconds(1)).session().lock(), Duration.ofSeconds(1),
                Duration.ofSeconds(30)); // instr:lock box
        DashboardApi.Response busy = api.handle("POST", "/instruments/box/lock", null, "{\"timeout\":\"100ms\"}");
        assertEquals(409, busy.status());
        DashboardApi.Response released = api.handle("POST", "/instruments/box/unlock", null, "");
        assertEquals(200, released.status(), released.json());
        assertTrue(object(released).get("result").getAsString().startsWith("box: lock released after "));
        assertFalse(holders.holds("box"));
    }

    private JsonObject lockOf(String id) {
        DashboardApi.Response response = api.handle("GET", "/locks", null, null);
        assertEquals(200, response.status());
        JsonArray locks = JsonParser.parseString(response.json()).getAsJsonArray();
        for (int i = 0; i < locks.size(); i++) {
            JsonObject lock = locks.get(i).getAsJsonObject();
            if (lock.getAsJsonArray("instruments").toString().contains("\"" + id + "\"")) {
                return lock;
            }
        }
        throw new AssertionError("no lock used by " + id + " in " + locks);
    }

    @Test
    void traceSwitchesOnAndOff() {
        DashboardApi.Response on = api.handle("POST", "/instruments/box/trace", null, "{\"on\":true}");
        assertEquals(200, on.status(), on.json());
        assertTrue(object(on).get("result").getAsString().startsWith("box: trace on; the last "), on.json());
        assertTrue(object(api.handle("GET", "/instruments/box", null, null)).get("trace").getAsBoolean());
        assertEquals(400, api.handle("POST", "/instruments/box/trace", null, "{\"on\":\"yes\"}").status());
        api.handle("POST", "/instruments/box/trace", null, "{\"on\":false}");
        assertFalse(object(api.handle("GET", "/instruments/box", null, null)).get("trace").getAsBoolean());
    }

    @Test
    void aTracedQueryIsInTheTraceAndItsStatistics() {
        assertEquals(200, api.handle("POST", "/instruments/box/trace", null, "{\"on\":true}").status());
        assertEquals(200, api.handle("POST", "/instruments/box/query", null, "{\"command\":\"*IDN?\"}").status());
        JsonObject trace = object(api.handle("GET", "/instruments/box/trace", "10", null));
        assertTrue(trace.get("tracing").getAsBoolean());
        JsonArray steps = trace.getAsJsonArray("steps");
        JsonObject last = steps.get(steps.size() - 1).getAsJsonObject();
        assertEquals("QUERY", last.get("kind").getAsString());
        assertEquals("*IDN?", last.get("command").getAsString());
        assertEquals(ScpiTestServer.IDN, last.get("answer").getAsString());
        JsonArray kinds = object(api.handle("GET", "/instruments/box/stats", null, null)).getAsJsonArray("kinds");
        assertTrue(kinds.toString().contains("\"kind\":\"QUERY\""), kinds.toString());
    }

    @Test
    void theSnapshotSignatureIgnoresTimePassingButNotANewHolder() throws Exception {
        DashboardApi.Snapshot before = api.snapshot();
        assertEquals(before.signature(), api.snapshot().signature());
        holders.hold("box", directory.online("box", Duration.ofSeconds(1)).session().lock(), Duration.ofSeconds(1),
                Duration.ofSeconds(30));
        DashboardApi.Snapshot held = api.snapshot();
        assertFalse(before.signature().equals(held.signature()));
        assertEquals(held.signature(), api.snapshot().signature(), "only the hold time changed");
    }
}
