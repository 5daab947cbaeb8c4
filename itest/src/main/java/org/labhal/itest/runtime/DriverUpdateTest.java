package org.labhal.itest.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.labhal.itest.runtime.RuntimeTesting.await;
import static org.labhal.itest.runtime.RuntimeTesting.awaitService;
import static org.labhal.itest.runtime.RuntimeTesting.configure;
import static org.labhal.itest.runtime.RuntimeTesting.properties;

import java.io.FileInputStream;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.felix.service.command.CommandProcessor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.labhal.api.Session;
import org.labhal.api.instrument.DriverUnavailableException;
import org.labhal.api.instrument.Instrument;
import org.labhal.itest.runtime.echo.Echo;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * A real driver bundle ({@code target/echo-driver.jar}, built from this module's src/test/java) installed,
 * updated and stopped under load: the session and its lock stay in the runtime, so a driver update
 * re-binds without dropping the connection, a step in flight completes, and no step is lost or answered
 * with another step's data.
 */
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
class DriverUpdateTest {
    private static final int THREADS = 8;
    private static final int UPDATES = 20;
    private static final Pattern BINDINGS = Pattern.compile("driver bindings (\\d+)");

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    ConfigurationAdmin cm;

    @InjectService(timeout = 10_000)
    CommandProcessor gogo;

    private Bundle driver;

    @BeforeEach
    void installDriver() throws Exception {
        String jar = context.getProperty("labhal.itest.echo.driver");
        driver = context.installBundle("file:" + jar);
        driver.start();
    }

    @AfterEach
    void cleanUp() throws Exception {
        RuntimeTesting.deleteAll(cm, context);
        driver.uninstall();
    }

    @Test
    void aDriverBundleUpdatedTwentyTimesWhileEightThreadsQueryLosesAndMisroutesNothing() throws Exception {
        // 1 ms of processing per message keeps steps in flight while the bundle is swapped
        configure(cm, "echo-load", properties("resource", RuntimeTesting.smw() + "?delay=1ms", "model",
                "labhal-echo-test", "driverWait", 5000L));
        Echo echo = awaitService(context, Echo.class, "(" + Instrument.ID + "=echo-load)");
        Instrument instrument = awaitService(context, Instrument.class, "(" + Instrument.ID + "=echo-load)");
        Session session = instrument.session();

        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong asked = new AtomicLong();
        AtomicLong answered = new AtomicLong();
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> failed = new ConcurrentLinkedQueue<>();
        ExecutorService threads = Executors.newFixedThreadPool(THREADS);
        List<Future<?>> running = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int thread = t;
            running.add(threads.submit(() -> {
                for (int step = 0; !stop.get(); step++) {
                    String token = "t" + thread + "s" + step;
                    asked.incrementAndGet();
                    try {
                        String answer = echo.echo(token);
                        answered.incrementAndGet();
                        if (!token.equals(answer)) {
                            wrong.add(token + " got " + answer);
                        }
                    } catch (Exception e) {
                        failed.add(token + ": " + e);
                    }
                }
            }));
        }
        try {
            await(() -> answered.get() >= 100, "the threads are querying");
            FrameworkWiring wiring = context.getBundle(0).adapt(FrameworkWiring.class);
            for (int update = 0; update < UPDATES; update++) {
                try (InputStream in = new FileInputStream(context.getProperty("labhal.itest.echo.driver"))) {
                    driver.update(in);
                }
                CountDownLatch refreshed = new CountDownLatch(1);
                wiring.refreshBundles(List.of(driver), event -> {
                    if (event.getType() == FrameworkEvent.PACKAGES_REFRESHED) {
                        refreshed.countDown();
                    }
                });
                assertTrue(refreshed.await(10, TimeUnit.SECONDS), "refresh " + update + " finished");
                long before = answered.get();
                await(() -> answered.get() >= before + THREADS, "queries go on after update " + update);
            }
        } finally {
            stop.set(true);
            for (Future<?> future : running) {
                future.get(30, TimeUnit.SECONDS);
            }
            threads.shutdown();
        }

        assertEquals(List.of(), List.copyOf(failed), "no step failed");
        assertEquals(List.of(), List.copyOf(wrong), "every answer belongs to its own question");
        assertEquals(asked.get(), answered.get(), "every step asked was answered");
        assertTrue(answered.get() > UPDATES * THREADS, "steps ran throughout: " + answered.get());
        assertSame(session, awaitService(context, Instrument.class, "(" + Instrument.ID + "=echo-load)").session(),
                "the connection was never dropped");
        assertTrue(session.isOpen());
        Matcher bindings = BINDINGS.matcher(RuntimeTesting.shell(gogo, "instr:info echo-load"));
        assertTrue(bindings.find());
        // each update stops and starts the bundle, and so does each refresh of the old revision
        assertTrue(Integer.parseInt(bindings.group(1)) >= UPDATES + 1, "re-bound on every update: " + bindings.group());
    }

    @Test
    void aCallWithNoDriverBoundWaitsThenFailsAndWorksAgainOnceTheDriverIsBack() throws Exception {
        configure(cm, "echo-gap", properties("resource", RuntimeTesting.smw(), "model", "labhal-echo-test",
                "driverWait", 300L));
        Echo echo = awaitService(context, Echo.class, "(" + Instrument.ID + "=echo-gap)");
        assertEquals("before", echo.echo("before"));

        driver.stop();
        long start = System.nanoTime();
        DriverUnavailableException e = assertThrows(DriverUnavailableException.class, () -> echo.echo("during"));
        Duration waited = Duration.ofNanos(System.nanoTime() - start);
        assertTrue(e.getMessage().contains("echo-gap") && e.getMessage().contains("labhal-echo-test"), e.getMessage());
        assertTrue(waited.toMillis() >= 300, "it waited for a driver first: " + waited);
        assertTrue(e.waited().toMillis() >= 300, e.waited().toString());
        Instrument instrument = awaitService(context, Instrument.class, "(" + Instrument.ID + "=echo-gap)");
        assertEquals("x", instrument.session().query("SIM:ECHO? x"), "the instrument stays connected meanwhile");

        driver.start();
        await(() -> {
            try {
                return "after".equals(echo.echo("after"));
            } catch (Exception retry) {
                return false;
            }
        }, "the same service object works again with the new driver");
    }
}
