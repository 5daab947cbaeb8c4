package org.labhal.itest.lan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.labhal.api.LabHalException;
import org.labhal.api.SessionFactory;
import org.labhal.api.TransportKind;
import org.labhal.api.transport.Connection;
import org.labhal.transport.vxi11.Vxi11AbortedException;
import org.labhal.transport.vxi11.Vxi11Error;
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

    /**
     * The VXI-11 procedures beyond moving bytes, in the framework, through links the transport service
     * opens: device_readstb with and without an answer waiting, device_clear, device_lock keeping a
     * second link's lock and I/O out (error 11) until device_unlock, device_trigger, device_remote and
     * device_local.
     */
    @Test
    void everyProcedureWorksThroughTheTransportService() throws Exception {
        try (Connection a = transportConnection(); Connection b = transportConnection()) {
            Vxi11Link one = (Vxi11Link) a;
            Vxi11Link two = (Vxi11Link) b;
            assertEquals("inst0", one.device());
            assertEquals(2, server.openLinks());

            send(a, "SIM:ECHO? waiting");
            assertEquals(0x10, one.readStatusByte(LONG) & 0x10, "MAV: an answer waits");
            a.clear(LONG);
            assertEquals(0, one.readStatusByte(LONG) & 0x10, "device_clear dropped it");

            one.lock(LONG);
            assertTrue(server.locked());
            Vxi11Exception refused = assertThrows(Vxi11Exception.class, () -> two.lock(Duration.ZERO));
            assertEquals(Vxi11Error.DEVICE_LOCKED_BY_ANOTHER_LINK, refused.error(), refused.getMessage());
            Vxi11Exception kept = assertThrows(Vxi11Exception.class, () -> two.trigger(LONG));
            assertEquals(Vxi11Error.DEVICE_LOCKED_BY_ANOTHER_LINK, kept.error(), kept.getMessage());
            one.trigger(LONG);
            one.remote(LONG);
            one.local(LONG);
            one.unlock();
            assertFalse(server.locked());

            two.trigger(LONG);
            two.remote(LONG);
            two.local(LONG);
            send(b, "SIM:ECHO? after");
            assertEquals("after\n", receive(b, LONG));
        }
        assertEquals(0, server.openLinks(), "closing sent destroy_link");
    }
}
