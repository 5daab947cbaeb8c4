package org.labhal.runtime.internal.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;
import org.labhal.api.instrument.DriverUnavailableException;
import org.labhal.api.instrument.InstrumentModel;
import org.labhal.api.instrument.ModelQuirks;
import org.labhal.api.lock.LockPolicy;

class DriverSlotTest {
    private static final Method GET;

    static {
        try {
            GET = Supplier.class.getMethod("get");
        } catch (NoSuchMethodException e) {
            throw new AssertionError(e);
        }
    }

    private static ModelCatalog.Entry entry(String name) {
        return new ModelCatalog.Entry((InstrumentModel) null, 1, 0, "test", name, "", LockPolicy.SHARED_BUFFER,
                ModelQuirks.defaults(), Set.of(Supplier.class));
    }

    @Test
    void aCallRunsOnTheBoundDriver() throws Throwable {
        DriverSlot slot = new DriverSlot("gen");
        slot.bind(entry("m"), (Supplier<String>) () -> "first");
        assertEquals("first", slot.invoke(GET, null, Duration.ofSeconds(1)));
        slot.bind(entry("m"), (Supplier<String>) () -> "second");
        assertEquals("second", slot.invoke(GET, null, Duration.ofSeconds(1)));
        assertEquals(2, slot.state().bindings());
    }

    @Test
    void aCallWithoutDriverWaitsForTheNextOne() throws Exception {
        DriverSlot slot = new DriverSlot("gen");
        CompletableFuture<Object> call = CompletableFuture.supplyAsync(() -> {
            try {
                return slot.invoke(GET, null, Duration.ofSeconds(10));
            } catch (Throwable e) {
                return e;
            }
        });
        slot.bind(entry("m"), (Supplier<String>) () -> "late");
        assertEquals("late", call.get(10, TimeUnit.SECONDS));
    }

    @Test
    void aCallWithoutDriverFailsAfterItsWaitNamingInstrumentAndModel() throws Exception {
        DriverSlot slot = new DriverSlot("gen");
        ModelCatalog.Entry model = entry("rs-smw200a");
        slot.bind(model, (Supplier<String>) () -> "x");
        assertEquals(0, slot.unbind(model, Duration.ofSeconds(1)));
        DriverUnavailableException e = assertThrows(DriverUnavailableException.class,
                () -> slot.invoke(GET, null, Duration.ofMillis(50)));
        assertTrue(e.getMessage().contains("gen") && e.getMessage().contains("rs-smw200a"), e.getMessage());
        assertTrue(e.waited().toMillis() >= 50, e.waited().toString());
    }

    @Test
    void unbindingWaitsForTheCallsRunningOnTheOldDriver() throws Exception {
        DriverSlot slot = new DriverSlot("gen");
        ModelCatalog.Entry model = entry("m");
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        slot.bind(model, (Supplier<String>) () -> {
            inside.countDown();
            try {
                finish.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return "done";
        });
        CompletableFuture<Object> call = CompletableFuture.supplyAsync(() -> {
            try {
                return slot.invoke(GET, null, Duration.ofSeconds(10));
            } catch (Throwable e) {
                return e;
            }
        });
        assertTrue(inside.await(10, TimeUnit.SECONDS));
        assertEquals(1, slot.unbind(model, Duration.ofMillis(50)), "still running when the drain time ran out");
        finish.countDown();
        assertEquals("done", call.get(10, TimeUnit.SECONDS), "the step in flight completed");
    }

    @Test
    void closingFailsWaitingCalls() throws Exception {
        DriverSlot slot = new DriverSlot("gen");
        CompletableFuture<Object> call = CompletableFuture.supplyAsync(() -> {
            try {
                return slot.invoke(GET, null, Duration.ofSeconds(10));
            } catch (Throwable e) {
                return e;
            }
        });
        slot.close("instrument gen was disconnected");
        Object result = call.get(10, TimeUnit.SECONDS);
        assertTrue(result instanceof DriverUnavailableException, String.valueOf(result));
        assertTrue(((Exception) result).getMessage().contains("disconnected"));
    }
}
