package org.labhal.api.internal.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.InstrumentControlUnsupportedException;
import org.labhal.api.LabHalException;
import org.labhal.api.RemoteLocal;
import org.labhal.api.ResourceAddress;
import org.labhal.api.Session;
import org.labhal.api.SessionOptions;
import org.labhal.api.TransportKind;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.lock.Lease;
import org.labhal.api.dto.LockInfo;
import org.labhal.api.lock.LockTimeoutException;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.InstrumentControl;
import org.labhal.api.transport.TransportFactory;

/**
 * Instruments on one bus: addressing is the controller's state, so a step's addressing, message and
 * answer must not interleave with another instrument's. Every step takes the bus lock named by
 * {@link ResourceAddress#busKey()}.
 */
class BusLockTest {
    private static final int STEPS = 400;

    /**
     * A controller with one addressed device at a time, as a Prologix controller is: a write addresses
     * its device, a read answers from whichever device is addressed now. Each connection is one device.
     */
    private static final class Bus implements TransportFactory {
        volatile String addressed;
        final List<String> controlCalls = new ArrayList<>();
        volatile CountDownLatch hold;
        volatile CountDownLatch holding;

        @Override
        public Set<TransportKind> kinds() {
            return EnumSet.allOf(TransportKind.class);
        }

        @Override
        public Connection open(ResourceAddress address, Duration timeout) {
            return new Device(this, address.canonical());
        }
    }

    private static final class Device implements Connection, InstrumentControl {
        private final Bus bus;
        private final String device;
        private final StringBuilder input = new StringBuilder();
        private byte[] output;
        private int outputAt;

        Device(Bus bus, String device) {
            this.bus = bus;
            this.device = device;
        }

        @Override
        public void write(ByteBuffer data, boolean end, Duration timeout) {
            bus.addressed = device;
            CountDownLatch hold = bus.hold;
            if (hold != null) {
                bus.holding.countDown();
                try {
                    hold.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            byte[] bytes = new byte[data.remaining()];
            data.get(bytes);
            input.append(new String(bytes, StandardCharsets.ISO_8859_1));
            // The controller passes the message to whoever is addressed by now.
            LockSupport.parkNanos(50_000);
            String question = input.toString();
            input.setLength(0);
            Device listener = bus.addressed.equals(device) ? this : null;
            if (listener != null) {
                output = (question + "\n").getBytes(StandardCharsets.ISO_8859_1);
                outputAt = 0;
            }
        }

        @Override
        public boolean read(ByteBuffer into, Duration timeout) throws LabHalException {
            LockSupport.parkNanos(50_000);
            if (!bus.addressed.equals(device) || output == null) {
                // The controller asked another device to talk: it has nothing for this question.
                throw new org.labhal.api.IoTimeoutException("no answer from " + device + " (bus addressed to "
                        + bus.addressed + ")", timeout);
            }
            int n = Math.min(into.remaining(), output.length - outputAt);
            into.put(output, outputAt, n);
            outputAt += n;
            boolean end = outputAt == output.length;
            if (end) {
                output = null;
            }
            return end;
        }

        @Override
        public void clear(Duration timeout) {
            output = null;
        }

        @Override
        public int readStatusByte(Duration timeout) {
            synchronized (bus.controlCalls) {
                bus.controlCalls.add("stb " + device);
            }
            return 0x10;
        }

        @Override
        public void trigger(Duration timeout) {
            synchronized (bus.controlCalls) {
                bus.controlCalls.add("trigger " + device);
            }
        }

        @Override
        public void remoteLocal(RemoteLocal mode, Duration timeout) {
            synchronized (bus.controlCalls) {
                bus.controlCalls.add(mode + " " + device);
            }
        }

        @Override
        public String describe() {
            return "bus device " + device;
        }

        @Override
        public void close() {
        }
    }

    private final Bus bus = new Bus();
    private final DefaultLockService locks = new DefaultLockService();
    private final DefaultSessionFactory factory = new DefaultSessionFactory(locks);
    private final List<Session> sessions = new ArrayList<>();
    private final ExecutorService pool = Executors.newFixedThreadPool(2);

    BusLockTest() {
        factory.addTransport(bus);
    }

    @AfterEach
    void close() {
        CountDownLatch hold = bus.hold;
        if (hold != null) {
            hold.countDown();
        }
        pool.shutdownNow();
        sessions.forEach(Session::close);
    }

    private Session open(String resource) throws LabHalException {
        Session session = factory.open(ResourceAddress.parse(resource),
                SessionOptions.defaults().withErrorChecking(false).withIoTimeout(Duration.ofSeconds(5)));
        sessions.add(session);
        return session;
    }

    /** Two threads, each asking its own instrument; counts answers that are not the thread's own. */
    private int wrongAnswers(Session a, Session b) throws Exception {
        AtomicInteger wrong = new AtomicInteger();
        List<Future<?>> runs = new ArrayList<>();
        for (Session session : List.of(a, b)) {
            runs.add(pool.submit(() -> {
                for (int i = 0; i < STEPS; i++) {
                    String question = session.name() + "#" + i + "?";
                    try {
                        if (!question.equals(session.query(question))) {
                            wrong.incrementAndGet();
                        }
                    } catch (LabHalException e) {
                        wrong.incrementAndGet();
                    }
                }
                return null;
            }));
        }
        for (Future<?> run : runs) {
            run.get(60, TimeUnit.SECONDS);
        }
        return wrong.get();
    }

    @Test
    void withoutABusLockTwoInstrumentsOnOneControllerGetEachOthersAnswersOrNone() throws Exception {
        // The negative control: two addresses without a bus key on the same controller model.
        int wrong = wrongAnswers(open("TCPIP::a.lab::5025::SOCKET"), open("TCPIP::b.lab::5025::SOCKET"));

        assertTrue(wrong > 0, "the fake controller must show crossed addressing without a bus lock");
    }

    @Test
    void instrumentsOnOneGpibBusGetOnlyTheirOwnAnswers() throws Exception {
        assertEquals(0, wrongAnswers(open("GPIB0::5::INSTR"), open("GPIB0::22::INSTR")));
    }

    @Test
    void instrumentsBehindOneVxi11GpibGatewayLockTheGatewaysBusTheSameWay() throws Exception {
        Session five = open("TCPIP::gw.lab::gpib0,5::INSTR");
        Session twentyTwo = open("TCPIP::gw.lab::gpib0,22::INSTR");

        assertEquals(0, wrongAnswers(five, twentyTwo));
        assertTrue(locks.locks().stream().anyMatch(info -> info.name().equals("TCPIP::gw.lab::gpib0")),
                "the gateway's bus is a lock of its own");
    }

    @Test
    void theBusLockIsAListedLockOfItsOwnBesideEachInstrumentsLock() throws Exception {
        open("GPIB0::5::INSTR");
        open("GPIB0::22::INSTR");
        open("GPIB1::5::INSTR");

        List<String> names = locks.locks().stream().map(LockInfo::name).sorted().toList();

        assertEquals(List.of("GPIB0", "GPIB0::22", "GPIB0::5", "GPIB1", "GPIB1::5"), names);
    }

    @Test
    void aStepWaitsForTheBusWhileAnotherInstrumentsStepIsOnItAndTheWaitIsBoundedByTheLockTimeout()
            throws Exception {
        Session five = open("GPIB0::5::INSTR");
        Session twentyTwo = open("GPIB0::22::INSTR");
        twentyTwo.setLockTimeout(Duration.ofMillis(200));
        bus.hold = new CountDownLatch(1);
        bus.holding = new CountDownLatch(1);
        Future<String> busy = pool.submit(() -> five.query("MEAS?"));
        assertTrue(bus.holding.await(10, TimeUnit.SECONDS));

        LockTimeoutException e = assertThrows(LockTimeoutException.class, () -> twentyTwo.query("MEAS?"));

        assertTrue(e.getMessage().contains("GPIB0"), e.getMessage());
        assertFalse(twentyTwo.lock().isHeldByCurrentThread(), "the instrument's own lock is given back when the bus is not free");
        CountDownLatch hold = bus.hold;
        bus.hold = null;
        hold.countDown();
        assertEquals("MEAS?", busy.get(10, TimeUnit.SECONDS));
        assertEquals("MEAS?", twentyTwo.query("MEAS?"));
    }

    @Test
    void aLeaseOnOneInstrumentHoldsItsOwnLockButNotTheBus() throws Exception {
        Session five = open("GPIB0::5::INSTR");
        Session twentyTwo = open("GPIB0::22::INSTR");

        try (Lease lease = five.lock().acquire(Duration.ofSeconds(1))) {
            five.query("A?");
            String other = CompletableFuture.supplyAsync(() -> {
                try {
                    return twentyTwo.query("B?");
                } catch (LabHalException e) {
                    return e.toString();
                }
            }, pool).get(10, TimeUnit.SECONDS);

            assertEquals("B?", other);
        }
    }

    @Test
    void statusByteTriggerAndRemoteLocalAreStepsOnTheirInstrument() throws Exception {
        Session five = open("GPIB0::5::INSTR");

        assertTrue(five.instrumentControlSupported());
        assertEquals(0x10, five.readStatusByte());
        five.trigger();
        five.remoteLocal(RemoteLocal.LOCAL_LOCKOUT);

        assertEquals(List.of("stb GPIB0::5::INSTR", "trigger GPIB0::5::INSTR", "LOCAL_LOCKOUT GPIB0::5::INSTR"),
                bus.controlCalls);
    }

    @Test
    void aTransportWithoutControlFunctionsSaysSoNamingTheResourceAndKind() throws Exception {
        Session plain = FixedTransport.factoryFor(new PlainLink())
                .open("TCPIP::10.0.0.5::5025::SOCKET");
        sessions.add(plain);

        assertFalse(plain.instrumentControlSupported());
        InstrumentControlUnsupportedException e =
                assertThrows(InstrumentControlUnsupportedException.class, plain::readStatusByte);

        assertEquals(TransportKind.SOCKET, e.kind());
        assertTrue(e.getMessage().contains("read the status byte") && e.getMessage().contains("SOCKET"),
                e.getMessage());
        assertFalse(plain.lock().isHeldByCurrentThread());
    }
}
