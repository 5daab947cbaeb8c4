package org.labhal.itest.socket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionClosedException;
import org.labhal.api.SessionFactory;
import org.labhal.api.SessionOptions;
import org.labhal.api.TransportKind;
import org.labhal.api.TransportUnavailableException;
import org.labhal.api.lock.LockPolicy;
import org.labhal.transport.sim.SimServer;
import org.labhal.transport.sim.SimSettings;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * The socket transport bundle stopped, uninstalled and installed again while sessions are open:
 * blocked callers fail at once with a specific exception, their locks are released, and no socket
 * is left open (counted at the simulator server's end).
 */
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
class SocketTransportLifecycleTest {
    private static final String SOCKET_BUNDLE = "org.labhal.transport.socket";

    @InjectService(timeout = 10_000)
    SessionFactory sessions;

    @InjectBundleContext
    BundleContext context;

    private SimServer server;

    @BeforeEach
    void start() throws Exception {
        server = SimServer.builder("SMW200A").settings(SimSettings.defaults().withProcessingDelay(Duration.ofMillis(1))).start();
        await(() -> sessions.transports().contains(TransportKind.SOCKET), "the socket transport is there");
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
        if (socketBundle() == null) {
            fail("the test left the socket bundle uninstalled");
        }
        if (socketBundle().getState() != Bundle.ACTIVE) {
            socketBundle().start();
        }
    }

    private static void fail(String message) {
        throw new AssertionError(message);
    }

    private Bundle socketBundle() {
        return Arrays.stream(context.getBundles()).filter(b -> SOCKET_BUNDLE.equals(b.getSymbolicName())).findFirst()
                .orElse(null);
    }

    private Session open(LockPolicy policy, Duration io) throws LabHalException {
        return sessions.open(ResourceAddress.parse(server.resource()),
                SessionOptions.defaults().withLockPolicy(policy).withIoTimeout(io));
    }

    @Test
    void stoppingTheBundleFailsBlockedCallersAtOnceReleasesTheirLocksAndClosesEverySocket() throws Exception {
        List<Session> open = new ArrayList<>();
        try {
            Session reader = open(LockPolicy.INDEPENDENT_SESSIONS, Duration.ofSeconds(60));
            open.add(reader);
            open.add(open(LockPolicy.SHARED_BUFFER, Duration.ofSeconds(60)));
            open.add(open(LockPolicy.SINGLE_CONNECTION, Duration.ofSeconds(60)));
            open.add(open(LockPolicy.SINGLE_CONNECTION, Duration.ofSeconds(60)));
            for (Session s : open) {
                assertFalse(s.query("*IDN?").isEmpty());
            }
            assertTrue(server.awaitOpenConnections(3, Duration.ofSeconds(10)), "3 sockets: one is multiplexed");

            CompletableFuture<Throwable> blocked = failureOf("blocked-socket-reader", reader::read); // nothing asked
            await(() -> holder(reader, "blocked-socket-reader"), "the reader holds its lock");
            long start = System.nanoTime();
            socketBundle().stop();
            Throwable failure = blocked.get(10, TimeUnit.SECONDS);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertInstanceOf(SessionClosedException.class, failure, String.valueOf(failure));
            assertTrue(failure.getMessage().contains("transport"), failure.getMessage());
            assertTrue(ms < 2_000, "woke after " + ms + " ms, not after the 60 s I/O timeout");
            assertTrue(reader.lock().info().holder().isEmpty(), "the lock was released");
            for (Session s : open) {
                assertFalse(s.isOpen(), s.name());
                assertThrows(SessionClosedException.class, () -> s.query("*IDN?"));
            }
            assertTrue(server.awaitOpenConnections(0, Duration.ofSeconds(10)),
                    "no socket left: " + server.openConnections() + " open");
            TransportUnavailableException absent = assertThrows(TransportUnavailableException.class,
                    () -> open(LockPolicy.INDEPENDENT_SESSIONS, Duration.ofSeconds(5)));
            assertTrue(absent.getMessage().contains("SOCKET"), absent.getMessage());

            socketBundle().start();
            await(() -> sessions.transports().contains(TransportKind.SOCKET), "the socket transport is back");
            try (Session again = open(LockPolicy.INDEPENDENT_SESSIONS, Duration.ofSeconds(5))) {
                assertEquals("back", again.query("SIM:ECHO? back"));
            }
        } finally {
            open.forEach(Session::close);
        }
    }

    @Test
    void uninstallingTheBundleMidStepFailsTheStepAndInstallingItAgainServesSocketsAgain() throws Exception {
        Bundle bundle = socketBundle();
        String location = bundle.getLocation();
        Path jar = jarOf(location);
        CountDownLatch slowQueryRunning = new CountDownLatch(1);
        // An instrument that takes its time: the step is inside it when the bundle goes
        try (SimServer slowServer = SimServer.builder("SMW200A").onMessage(m -> slowQueryRunning.countDown())
                .settings(SimSettings.defaults().withProcessingDelay(Duration.ofSeconds(3))).start();
                Session idle = open(LockPolicy.INDEPENDENT_SESSIONS, Duration.ofSeconds(60));
                Session slow = sessions.open(ResourceAddress.parse(slowServer.resource()),
                        SessionOptions.defaults().withIoTimeout(Duration.ofSeconds(60)))) {
            assertEquals("idle", idle.query("SIM:ECHO? idle"));
            CompletableFuture<Throwable> step = failureOf("slow-socket-query", () -> slow.query("SIM:ECHO? slow"));
            assertTrue(slowQueryRunning.await(10, TimeUnit.SECONDS), "the query reached the instrument");
            long start = System.nanoTime();
            bundle.uninstall();
            Throwable failure = step.get(10, TimeUnit.SECONDS);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertInstanceOf(SessionClosedException.class, failure, String.valueOf(failure));
            assertTrue(failure.getMessage().contains("transport"), failure.getMessage());
            assertTrue(ms < 2_000, "failed after " + ms + " ms, not after the 3 s the instrument takes");
            assertTrue(slow.lock().info().holder().isEmpty(), "the lock was released");
            assertFalse(idle.isOpen(), "the idle session went with its transport");
            assertTrue(server.awaitOpenConnections(0, Duration.ofSeconds(10)), "no socket left");
            // (the server notices the closed socket when it has run the message and reads again)
            assertTrue(slowServer.awaitOpenConnections(0, Duration.ofSeconds(10)), "no socket left");
            assertThrows(TransportUnavailableException.class, () -> open(LockPolicy.INDEPENDENT_SESSIONS,
                    Duration.ofSeconds(5)));
        } finally {
            if (socketBundle() == null) {
                try (InputStream in = Files.newInputStream(jar)) {
                    context.installBundle(location, in).start();
                }
            }
        }
        await(() -> sessions.transports().contains(TransportKind.SOCKET), "installed again, the transport is back");
        try (Session again = open(LockPolicy.INDEPENDENT_SESSIONS, Duration.ofSeconds(5))) {
            assertEquals("reinstalled", again.query("SIM:ECHO? reinstalled"));
        }
    }

    /** The jar a launcher location points at: a file URL, a reference: URL or a plain path. */
    private static Path jarOf(String location) {
        String url = location.startsWith("reference:") ? location.substring("reference:".length()) : location;
        Path path = url.startsWith("file:") ? Paths.get(URI.create(url)) : Paths.get(url);
        assertTrue(Files.isRegularFile(path), "the socket bundle's jar: " + location);
        return path;
    }

    private static boolean holder(Session session, String thread) {
        return session.lock().info().holder().map(h -> h.thread().equals(thread)).orElse(false);
    }

    interface Step {
        Object run() throws Exception;
    }

    private static CompletableFuture<Throwable> failureOf(String threadName, Step step) {
        CompletableFuture<Throwable> failure = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                failure.complete(new AssertionError("the step succeeded: " + step.run()));
            } catch (Throwable t) {
                failure.complete(t);
            }
        }, threadName);
        thread.start();
        return failure;
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(5);
        }
    }
}
