package org.labhal.itest.lan;

import java.time.Duration;

import org.junit.jupiter.api.extension.ExtendWith;
import org.labhal.api.LabHalException;
import org.labhal.api.SessionFactory;
import org.labhal.api.TransportKind;
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

    /** Closing the connection ends the HiSLIP session at once, and its lock with it. */
    @Override
    Duration instrumentLockOutlivesADroppedLinkBy() {
        return Duration.ZERO;
    }

    @Override
    Class<? extends LabHalException> lockHeldElsewhere() {
        return HislipLockException.class;
    }
}
