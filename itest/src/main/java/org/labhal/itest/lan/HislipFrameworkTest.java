package org.labhal.itest.lan;

import java.time.Duration;

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
}
