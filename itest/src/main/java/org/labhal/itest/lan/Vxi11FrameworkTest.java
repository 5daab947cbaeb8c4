package org.labhal.itest.lan;

import java.time.Duration;

import org.junit.jupiter.api.extension.ExtendWith;
import org.labhal.api.LabHalException;
import org.labhal.api.SessionFactory;
import org.labhal.api.TransportKind;
import org.labhal.api.transport.Connection;
import org.labhal.transport.vxi11.Vxi11AbortedException;
import org.labhal.transport.vxi11.Vxi11Exception;
import org.labhal.transport.vxi11.Vxi11Link;
import org.labhal.transport.vxi11.sim.Vxi11SimServer;
import org.osgi.framework.BundleContext;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/** The LAN scenarios over the VXI-11 transport bundle against the VXI-11 simulator (own portmapper). */
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
class Vxi11FrameworkTest extends LanTransportScenarios {
    @InjectService(timeout = 10_000)
    SessionFactory sessions;

    @InjectBundleContext
    BundleContext context;

    private Vxi11SimServer server;

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
        return "org.labhal.transport.vxi11";
    }

    @Override
    TransportKind kind() {
        return TransportKind.VXI11;
    }

    @Override
    void startServer() throws Exception {
        server = Vxi11SimServer.builder("SMW200A").start();
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
        return Vxi11Exception.class;
    }

    @Override
    int serverPort() {
        return server.corePort();
    }

    @Override
    String resourceThrough(int port) {
        return "TCPIP::127.0.0.1::inst0::INSTR?port=" + port;
    }

    @Override
    void endReadFromAnotherThread(Connection link) throws LabHalException {
        ((Vxi11Link) link).abort(Duration.ofSeconds(5));
    }

    @Override
    Class<? extends LabHalException> readEndedFromAnotherThread() {
        return Vxi11AbortedException.class;
    }
}
