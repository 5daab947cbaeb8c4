package org.labhal.itest.lan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.labhal.api.LabHalException;
import org.labhal.api.SessionFactory;
import org.labhal.api.TransportKind;
import org.labhal.api.transport.Connection;
import org.labhal.transport.hislip.HislipClearedException;
import org.labhal.transport.hislip.HislipLink;
import org.labhal.transport.hislip.HislipLockException;
import org.labhal.transport.hislip.server.HislipServer;
import org.osgi.framework.BundleContext;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/** The LAN scenarios over the HiSLIP transport bundle against the HiSLIP simulator server. */
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
class HislipFrameworkTest extends LanTransportScenarios {
    @InjectService(timeout = 10_000)
    SessionFactory sessions;

    @InjectBundleContext
    BundleContext context;

    private HislipServer server;

    @Override
    SessionFactory sessions() {
        return sessions;
    }

    @Override
    BundleContext context() {
        return context;
    }

    @Override
    String bundleName() {
        return "org.labhal.transport.hislip";
    }

    @Override
    TransportKind kind() {
        return TransportKind.HISLIP;
    }

    @Override
    void startServer() throws Exception {
        server = HislipServer.builder("SMW200A").start();
    }

    @Override
    void stopServer() {
        server.close();
    }

    @Override
    String resource() {
        return server.resource();
    }

    @Override
    Class<? extends LabHalException> lockHeldElsewhere() {
        return HislipLockException.class;
    }

    @Override
    int serverPort() {
        return server.port();
    }

    @Override
    String resourceThrough(int port) {
        return "TCPIP::127.0.0.1::hislip0," + port + "::INSTR";
    }

    @Override
    void endReadFromAnotherThread(Connection link) throws LabHalException {
        ((HislipLink) link).clear(Duration.ofSeconds(5));
    }

    @Override
    Class<? extends LabHalException> readEndedFromAnotherThread() {
        return HislipClearedException.class;
    }

    /**
     * Every HiSLIP transaction beyond moving bytes, in the framework, through links the transport
     * service opens: the negotiated session, AsyncStatusQuery, the shared and exclusive locks with
     * AsyncLockInfo, and a non-holder's Trigger and AsyncRemoteLocalControl held off by the exclusive
     * lock until its release.
     */
    @Test
    void everyTransactionWorksThroughTheTransportService() throws Exception {
        ExecutorService threads = Executors.newSingleThreadExecutor();
        try (Connection a = transportConnection(); Connection b = transportConnection()) {
            HislipLink one = (HislipLink) a;
            HislipLink two = (HislipLink) b;
            assertNotEquals(one.sessionId(), two.sessionId(), "two sessions");
            assertEquals(0x0100, one.serverProtocolVersion());
            assertEquals("LS", one.serverVendorId());

            send(a, "SIM:ECHO? waiting");
            awaitStatus(one, 0x10, "MAV: an answer waits");
            a.clear(LONG);
            assertEquals(0, one.statusQuery(LONG) & 0x10, "the device clear dropped it");

            one.lock("bench-7", LONG);
            two.lock("bench-7", LONG);
            assertEquals(new HislipLink.LockInfo(false, 2), two.lockInfo(LONG), "both share the lock");
            assertEquals(HislipLink.LockKind.SHARED, one.unlock(LONG));
            assertEquals(HislipLink.LockKind.SHARED, two.unlock(LONG));

            one.lock("", LONG);
            assertEquals(new HislipLink.LockInfo(true, 1), two.lockInfo(LONG));
            two.trigger(LONG);
            Future<?> remote = threads.submit(() -> {
                two.remoteLocal(HislipLink.RemoteLocal.ENABLE_AND_GO_TO_REMOTE, LONG);
                return null;
            });
            server.awaitOperationsHeldOff(HislipServer.HeldOperation.MESSAGE, 1, LONG);
            server.awaitOperationsHeldOff(HislipServer.HeldOperation.REMOTE_LOCAL, 1, LONG);
            assertFalse(remote.isDone(), "held off while the other session holds the exclusive lock");
            one.remoteLocal(HislipLink.RemoteLocal.GO_TO_LOCAL, LONG); // the holder goes through
            assertEquals(HislipLink.LockKind.EXCLUSIVE, one.unlock(LONG));
            remote.get(LONG.toSeconds(), TimeUnit.SECONDS);
            send(b, "SIM:ECHO? after");
            assertEquals("after\n", receive(b, LONG), "the link goes on after its held-off trigger");
            assertEquals(0, server.operationsHeldOff());
        } finally {
            threads.shutdownNow();
        }
    }

    private static void awaitStatus(HislipLink link, int bits, String what) throws Exception {
        long deadline = System.nanoTime() + LONG.toNanos();
        while ((link.statusQuery(LONG) & bits) != bits) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(10);
        }
    }
}
