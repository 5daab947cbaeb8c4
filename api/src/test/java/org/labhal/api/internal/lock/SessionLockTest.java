package org.labhal.api.internal.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.labhal.api.dto.HolderInfo;
import org.labhal.api.dto.LockInfo;
import org.labhal.api.lock.DeadlockException;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.LockPolicy;
import org.labhal.api.lock.LockTimeoutException;
import org.labhal.api.lock.Priority;
import org.labhal.api.lock.SessionLock;

/** Every lock behaviour, by example. Waits are on conditions (queue contents), never on sleeps. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SessionLockTest {
    /** The precise clock, so that hold and wait times compare exactly; the coarse one has its own test. */
    private final DefaultLockService service = new DefaultLockService(Duration.ofMillis(200), LockClock.precise());
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r);
        t.setDaemon(true);
        return t;
    });

    @AfterEach
    void shutDown() {
        pool.shutdownNow();
        service.close();
    }

    /** Holds the lock on another thread until released. */
    private final class Holder implements AutoCloseable {
        private final CountDownLatch held = new CountDownLatch(1);
        private final CountDownLatch release = new CountDownLatch(1);
        private final Future<?> done;

        Holder(SessionLock lock, String name, String activity) throws InterruptedException {
            done = pool.submit(() -> {
                Thread.currentThread().setName(name);
                try (Lease lease = lock.acquire(Duration.ofSeconds(10), Priority.NORMAL, activity)) {
                    held.countDown();
                    release.await();
                }
                return null;
            });
            assertTrue(held.await(10, TimeUnit.SECONDS), "holder did not get the lock");
        }

        @Override
        public void close() throws Exception {
            release.countDown();
            done.get(10, TimeUnit.SECONDS);
        }
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.onSpinWait();
            Thread.sleep(1);
        }
    }

    private static void awaitWaiters(SessionLock lock, int count) throws InterruptedException {
        await(() -> lock.info().waiters().size() == count, count + " waiters are queued on " + lock.name());
    }

    @Test
    void timeoutNamesTheHolderWhatItDoesAndForHowLong() throws Exception {
        SessionLock lock = service.newLock("TCPIP::10.0.0.5");
        try (Holder holder = new Holder(lock, "sweep-worker", "query \"SWE:DATA?\"")) {
            LockTimeoutException e = assertThrows(LockTimeoutException.class,
                    () -> lock.acquire(Duration.ofMillis(50)));
            HolderInfo info = e.holder().orElseThrow();
            assertEquals("sweep-worker", info.thread());
            assertEquals("query \"SWE:DATA?\"", info.activity());
            assertTrue(info.heldFor().compareTo(Duration.ofMillis(50)) >= 0, "held at least as long as we waited");
            assertTrue(e.getMessage().contains("sweep-worker") && e.getMessage().contains("SWE:DATA?")
                    && e.getMessage().contains("TCPIP::10.0.0.5"), e.getMessage());
            assertEquals(Duration.ofMillis(50), e.timeout());
        }
        LockInfo info = lock.info();
        assertEquals(1, info.timeouts());
        assertTrue(info.waiters().isEmpty(), "a timed-out waiter leaves the queue");
        assertTrue(info.holder().isEmpty());
    }

    @Test
    void zeroTimeoutTriesOnceAndTryAcquireNeverWaits() throws Exception {
        SessionLock lock = service.newLock("try");
        try (Holder holder = new Holder(lock, "holder", "")) {
            assertEquals(Optional.empty(), lock.tryAcquire());
            assertThrows(LockTimeoutException.class, () -> lock.acquire(Duration.ZERO));
        }
        Optional<Lease> lease = lock.tryAcquire("now");
        assertTrue(lease.isPresent());
        assertEquals("now", lock.info().holder().orElseThrow().activity());
        lease.get().close();
        assertTrue(lock.info().holder().isEmpty());
    }

    @Test
    void tryAcquireDoesNotJumpTheQueue() throws Exception {
        SessionLock lock = service.newLock("fair-try");
        Future<?> waiter;
        try (Holder holder = new Holder(lock, "holder", "")) {
            waiter = pool.submit(() -> {
                try (Lease lease = lock.acquire(Duration.ofSeconds(10))) {
                    return lock.info().holder().orElseThrow().thread();
                }
            });
            awaitWaiters(lock, 1);
            assertEquals(Optional.empty(), lock.tryAcquire(), "a queued waiter goes first");
        }
        waiter.get(10, TimeUnit.SECONDS);
    }

    @Test
    void interruptEndsTheWaitWithoutTakingTheLock() throws Exception {
        SessionLock lock = service.newLock("interrupt");
        CompletableFuture<Throwable> outcome = new CompletableFuture<>();
        Thread waiter = new Thread(() -> {
            try (Lease lease = lock.acquire()) {
                outcome.complete(null);
            } catch (Throwable t) {
                outcome.complete(t);
            }
        }, "interrupted-waiter");
        try (Holder holder = new Holder(lock, "holder", "")) {
            waiter.start();
            awaitWaiters(lock, 1);
            waiter.interrupt();
            assertInstanceOf(InterruptedException.class, outcome.get(10, TimeUnit.SECONDS));
            assertTrue(lock.info().waiters().isEmpty());
        }
        waiter.join(10_000);
        assertTrue(lock.tryAcquire().map(l -> {
            l.close();
            return true;
        }).orElse(false), "the lock is free after the interrupted wait");
    }

    @Test
    void alreadyInterruptedThreadDoesNotWait() throws Exception {
        SessionLock lock = service.newLock("pre-interrupted");
        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, () -> lock.acquire(Duration.ofSeconds(5)));
        assertFalse(Thread.interrupted(), "the interrupt was consumed by the exception");
        assertTrue(lock.info().holder().isEmpty());
    }

    @Test
    void waitersGetTheLockInArrivalOrder() throws Exception {
        SessionLock lock = service.newLock("fifo");
        List<Integer> order = Collections.synchronizedList(new ArrayList<>());
        List<Future<?>> waiters = new ArrayList<>();
        try (Holder holder = new Holder(lock, "holder", "")) {
            for (int i = 0; i < 8; i++) {
                int id = i;
                waiters.add(pool.submit(() -> {
                    try (Lease lease = lock.acquire(Duration.ofSeconds(10))) {
                        order.add(id);
                    }
                    return null;
                }));
                awaitWaiters(lock, i + 1); // queue them one by one so arrival order is known
            }
        }
        for (Future<?> w : waiters) {
            w.get(10, TimeUnit.SECONDS);
        }
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7), order);
    }

    @Test
    void urgentGoesFirstAndAgingLetsLowPriorityOvertake() throws Exception {
        DefaultLockService slowAging = new DefaultLockService(Duration.ofHours(1), LockClock.precise());
        SessionLock lock = slowAging.newLock("priorities");
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        List<Future<?>> waiters = new ArrayList<>();
        try (Holder holder = new Holder(lock, "holder", "")) {
            String[] names = { "low", "normal", "urgent", "high" };
            Priority[] priorities = { Priority.LOW, Priority.NORMAL, Priority.URGENT, Priority.HIGH };
            for (int i = 0; i < names.length; i++) {
                String name = names[i];
                Priority priority = priorities[i];
                waiters.add(pool.submit(() -> {
                    try (Lease lease = lock.acquire(Duration.ofSeconds(10), priority, name)) {
                        order.add(name);
                    }
                    return null;
                }));
                awaitWaiters(lock, i + 1);
            }
            assertEquals(List.of("urgent", "high", "normal", "low"),
                    lock.info().waiters().stream().map(w -> w.activity()).toList(), "diagnostics show hand-over order");
        }
        for (Future<?> w : waiters) {
            w.get(10, TimeUnit.SECONDS);
        }
        assertEquals(List.of("urgent", "high", "normal", "low"), order);

        // With fast aging, a LOW request that has waited outranks a fresh HIGH one, never an URGENT one.
        DefaultLockService fastAging = new DefaultLockService(Duration.ofMillis(20), LockClock.precise());
        SessionLock aged = fastAging.newLock("aging");
        order.clear();
        waiters.clear();
        try (Holder holder = new Holder(aged, "holder", "")) {
            waiters.add(pool.submit(() -> {
                try (Lease lease = aged.acquire(Duration.ofSeconds(10), Priority.LOW, "old-low")) {
                    order.add("old-low");
                }
                return null;
            }));
            awaitWaiters(aged, 1);
            // Wait (on the lock's own clock) until the LOW waiter has aged up to HIGH: > 2 intervals.
            await(() -> aged.info().waiters().get(0).waiting().toMillis() > 60, "the low waiter aged");
            for (Priority fresh : List.of(Priority.HIGH, Priority.URGENT)) {
                String name = "new-" + fresh.name().toLowerCase(java.util.Locale.ROOT);
                waiters.add(pool.submit(() -> {
                    try (Lease lease = aged.acquire(Duration.ofSeconds(10), fresh, name)) {
                        order.add(name);
                    }
                    return null;
                }));
                awaitWaiters(aged, waiters.size());
            }
        }
        for (Future<?> w : waiters) {
            w.get(10, TimeUnit.SECONDS);
        }
        assertEquals(List.of("new-urgent", "old-low", "new-high"), order,
                "urgent first; aging lets the old low request overtake a fresh high one");
        fastAging.close();
    }

    @Test
    void reentrantForTheHolderWithNestedLeases() throws Exception {
        SessionLock lock = service.newLock("reentrant");
        try (Lease outer = lock.acquire(Duration.ofSeconds(1))) {
            try (Lease inner = lock.acquire(Duration.ofSeconds(1)); Lease innermost = lock.tryAcquire().orElseThrow()) {
                assertEquals(3, lock.info().holder().orElseThrow().holdCount());
                assertNotSame(outer, inner);
                assertSame(lock, inner.lock());
            }
            assertEquals(1, lock.info().holder().orElseThrow().holdCount());
            assertFalse(pool.submit(() -> lock.tryAcquire().isPresent()).get(), "still held after inner leases closed");
        }
        assertTrue(lock.info().holder().isEmpty());
        assertTrue(pool.submit(() -> lock.tryAcquire().map(l -> {
            l.close();
            return true;
        }).orElse(false)).get());
    }

    @Test
    void leaseCloseIsIdempotentAndReleasesOnExceptions() throws Exception {
        SessionLock lock = service.newLock("exceptions");
        assertThrows(IllegalStateException.class, () -> {
            try (Lease lease = lock.acquire(Duration.ofSeconds(1))) {
                throw new IllegalStateException("step failed");
            }
        });
        assertTrue(lock.info().holder().isEmpty(), "the exception released the lock");

        Lease lease = lock.acquire(Duration.ofSeconds(1));
        Lease second = lock.acquire(Duration.ofSeconds(1));
        lease.close();
        lease.close(); // no effect: must not release the second hold
        assertEquals(1, lock.info().holder().orElseThrow().holdCount());
        second.close();
        assertTrue(lock.info().holder().isEmpty());
    }

    @Test
    void leaseBelongsToItsThread() throws Exception {
        SessionLock lock = service.newLock("ownership");
        Lease lease = lock.acquire(Duration.ofSeconds(1));
        ExecutionException e = assertThrows(ExecutionException.class, () -> pool.submit(() -> {
            lease.close();
            return null;
        }).get());
        assertInstanceOf(IllegalStateException.class, e.getCause());
        assertTrue(lock.isHeldByCurrentThread());
        lease.close();
        assertFalse(lock.isHeldByCurrentThread());
    }

    @Test
    void deadlockCycleIsReportedToTheThreadThatClosesIt() throws Exception {
        SessionLock generator = service.newLock("TCPIP::smw");
        SessionLock analyzer = service.newLock("TCPIP::fsw");
        CountDownLatch bothHeld = new CountDownLatch(2);
        CompletableFuture<Throwable> first = new CompletableFuture<>();
        Future<?> a = pool.submit(() -> {
            Thread.currentThread().setName("thread-A");
            try (Lease g = generator.acquire(Duration.ofSeconds(10))) {
                bothHeld.countDown();
                bothHeld.await();
                try (Lease s = analyzer.acquire(Duration.ofSeconds(20))) {
                    first.complete(null);
                }
            } catch (Throwable t) {
                first.complete(t);
            }
            return null;
        });
        Future<Throwable> b = pool.submit(() -> {
            Thread.currentThread().setName("thread-B");
            try (Lease s = analyzer.acquire(Duration.ofSeconds(10))) {
                bothHeld.countDown();
                bothHeld.await();
                // A has joined the wait-for graph (it parks): B's wait closes the cycle.
                await(() -> service.graph().waitingThreads() == 1, "thread-A waits in the wait-for graph");
                try (Lease g = generator.acquire(Duration.ofSeconds(20))) {
                    return null;
                }
            } catch (Throwable t) {
                return t;
            }
        });
        DeadlockException deadlock = assertInstanceOf(DeadlockException.class, b.get(10, TimeUnit.SECONDS));
        assertEquals(List.of("thread-B", "thread-A"), deadlock.threads());
        assertEquals(List.of("TCPIP::smw", "TCPIP::fsw"), deadlock.locks());
        assertTrue(deadlock.getMessage().contains("thread-A") && deadlock.getMessage().contains("TCPIP::fsw"),
                deadlock.getMessage());
        // B gave its lock back while unwinding, so A completes: one victim, no hang.
        assertEquals(null, first.get(10, TimeUnit.SECONDS));
        a.get(10, TimeUnit.SECONDS);
        assertEquals(1, generator.info().deadlocks());
        assertEquals(0, service.graph().waitingThreads());
    }

    /**
     * Two threads take two locks in opposite order at the same moment, so both waits outlast the
     * first waiter's spin and join the wait-for graph at about the same time: every time, exactly
     * one of them is refused with the cycle named, and the other gets both locks.
     */
    @Test
    void simultaneousDeadlockRefusesExactlyOneThreadEveryTime() throws Exception {
        for (int round = 0; round < 40; round++) {
            SessionLock left = service.newLock("left-" + round);
            SessionLock right = service.newLock("right-" + round);
            CyclicBarrier bothHeld = new CyclicBarrier(2);
            String nameA = "A-" + round;
            String nameB = "B-" + round;
            Future<Throwable> a = pool.submit(() -> takeBoth(nameA, left, right, bothHeld));
            Future<Throwable> b = pool.submit(() -> takeBoth(nameB, right, left, bothHeld));
            Throwable outcomeA = a.get(20, TimeUnit.SECONDS);
            Throwable outcomeB = b.get(20, TimeUnit.SECONDS);
            assertTrue((outcomeA == null) != (outcomeB == null),
                    "round " + round + ": exactly one refusal expected, got " + outcomeA + " and " + outcomeB);
            DeadlockException refusal = assertInstanceOf(DeadlockException.class,
                    outcomeA != null ? outcomeA : outcomeB);
            String victim = outcomeA != null ? nameA : nameB;
            String other = outcomeA != null ? nameB : nameA;
            assertEquals(List.of(victim, other), refusal.threads());
            assertEquals(outcomeA != null ? List.of(right.name(), left.name()) : List.of(left.name(), right.name()),
                    refusal.locks(), "the victim waited for its second lock, held by the other");
            assertEquals(1, left.info().deadlocks() + right.info().deadlocks());
            assertTrue(left.info().holder().isEmpty() && right.info().holder().isEmpty());
            assertEquals(0, service.graph().waitingThreads());
        }
    }

    /** Three threads in a ring of three locks: one is refused, the other two finish. */
    @Test
    void threeThreadRingRefusesOneAndTheOthersFinish() throws Exception {
        List<SessionLock> ring = List.of(service.newLock("ring-0"), service.newLock("ring-1"), service.newLock("ring-2"));
        CyclicBarrier allHeld = new CyclicBarrier(3);
        List<Future<Throwable>> outcomes = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            SessionLock first = ring.get(i);
            SessionLock second = ring.get((i + 1) % 3);
            String name = "ring-thread-" + i;
            outcomes.add(pool.submit(() -> takeBoth(name, first, second, allHeld)));
        }
        List<Throwable> failures = new ArrayList<>();
        for (Future<Throwable> outcome : outcomes) {
            Throwable t = outcome.get(20, TimeUnit.SECONDS);
            if (t != null) {
                failures.add(t);
            }
        }
        assertEquals(1, failures.size(), "one refusal: " + failures);
        DeadlockException refusal = assertInstanceOf(DeadlockException.class, failures.get(0));
        assertEquals(3, refusal.threads().size(), refusal.getMessage());
        assertEquals(3, refusal.locks().stream().distinct().count(), refusal.getMessage());
        assertEquals(1, ring.stream().mapToLong(l -> l.info().deadlocks()).sum());
        assertEquals(0, service.graph().waitingThreads());
    }

    /** Takes one lock, meets the others at the barrier, then waits (unbounded) for the second. */
    private static Throwable takeBoth(String name, SessionLock first, SessionLock second, CyclicBarrier held) {
        Thread.currentThread().setName(name);
        try (Lease outer = first.acquire(Duration.ofSeconds(10))) {
            held.await(10, TimeUnit.SECONDS);
            try (Lease inner = second.acquire()) {
                return null;
            }
        } catch (Throwable t) {
            return t;
        }
    }

    /**
     * Many threads on many locks, each taking two locks in ascending order (which can never
     * deadlock) and sometimes holding them for 2 ms, so that waits park and join the wait-for graph
     * while its edges change all the time: no thread may ever be refused. Fails too if no
     * wait ever joined the graph (then nothing was checked).
     */
    @Test
    void manyThreadsOnManyLocksNeverReportAFalseDeadlock() throws Exception {
        int lockCount = 16;
        int threadCount = 32;
        List<SessionLock> locks = new ArrayList<>();
        for (int i = 0; i < lockCount; i++) {
            locks.add(service.newLock("independent-" + i));
        }
        AtomicInteger mostInGraph = new AtomicInteger();
        AtomicBoolean done = new AtomicBoolean();
        Future<?> sampler = pool.submit(() -> {
            while (!done.get()) {
                mostInGraph.accumulateAndGet(service.graph().waitingThreads(), Math::max);
                Thread.onSpinWait();
            }
        });
        List<Future<Integer>> workers = new ArrayList<>();
        for (int t = 0; t < threadCount; t++) {
            long seed = t;
            workers.add(pool.submit(() -> {
                Random random = new Random(seed);
                int sections = 0;
                for (int op = 0; op < 60; op++) {
                    int i = random.nextInt(lockCount);
                    int j = random.nextInt(lockCount);
                    SessionLock low = locks.get(Math.min(i, j));
                    SessionLock high = locks.get(Math.max(i, j));
                    try (Lease a = low.acquire(); Lease b = high.acquire(Duration.ofSeconds(30))) {
                        if (random.nextInt(4) == 0) {
                            LockSupport.parkNanos(2_000_000); // a long step: others' waits park
                        }
                        sections++;
                    }
                }
                return sections;
            }));
        }
        try {
            for (Future<Integer> worker : workers) {
                assertEquals(60, worker.get(60, TimeUnit.SECONDS), "every section ran, none refused");
            }
        } finally {
            done.set(true);
            sampler.get(10, TimeUnit.SECONDS);
        }
        assertEquals(0, locks.stream().mapToLong(l -> l.info().deadlocks()).sum(), "false deadlocks");
        assertTrue(mostInGraph.get() > 0, "no wait lasted long enough to be checked: the test checked nothing");
        assertEquals(0, service.graph().waitingThreads());
    }

    @Test
    void waitingForAFreeLockOrARunningHolderIsNoDeadlock() throws Exception {
        SessionLock one = service.newLock("one");
        SessionLock two = service.newLock("two");
        try (Holder holder = new Holder(two, "runner", "")) {
            try (Lease mine = one.acquire(Duration.ofSeconds(1))) {
                assertThrows(LockTimeoutException.class, () -> two.acquire(Duration.ofMillis(30)));
            }
        }
        assertEquals(0, one.info().deadlocks() + two.info().deadlocks());
    }

    @Test
    void diagnosticsCountAndReportHolderAndWaiters() throws Exception {
        SessionLock lock = service.lockFor(LockPolicy.SHARED_BUFFER, "TCPIP::diag");
        long heldAtLeast;
        try (Lease lease = lock.acquire(Duration.ofSeconds(1), Priority.NORMAL, "write \"*RST\"")) {
            long acquired = System.nanoTime();
            Future<?> waiter = pool.submit(() -> {
                Thread.currentThread().setName("diag-waiter");
                try (Lease inner = lock.acquire(Duration.ofSeconds(10), Priority.HIGH, "query \"*IDN?\"")) {
                    return null;
                }
            });
            awaitWaiters(lock, 1);
            LockInfo info = lock.info();
            assertEquals("TCPIP::diag", info.name());
            assertEquals("TCPIP::diag", info.domainKey());
            assertEquals(LockPolicy.SHARED_BUFFER, info.policy());
            assertEquals(Thread.currentThread().getName(), info.holder().orElseThrow().thread());
            assertEquals("write \"*RST\"", info.holder().orElseThrow().activity());
            assertEquals("diag-waiter", info.waiters().get(0).thread());
            assertEquals(Priority.HIGH, info.waiters().get(0).priority());
            assertEquals("query \"*IDN?\"", info.waiters().get(0).activity());
            heldAtLeast = System.nanoTime() - acquired;
            lease.close();
            waiter.get(10, TimeUnit.SECONDS);
        }
        LockInfo after = lock.info();
        assertEquals(2, after.acquisitions());
        assertEquals(1, after.contended());
        assertTrue(after.longestWait().toNanos() > 0);
        assertTrue(after.longestHold().toNanos() >= heldAtLeast, "the hold we timed is the longest one");
        assertTrue(service.locks().stream().anyMatch(i -> i.name().equals("TCPIP::diag")));
    }

    @Nested
    class Sharing {
        @Test
        void sharedPoliciesGiveOneLockPerDomainIndependentGivesFreshOnes() {
            SessionLock a = service.lockFor(LockPolicy.SHARED_BUFFER, "TCPIP::10.0.0.5");
            SessionLock b = service.lockFor(LockPolicy.SHARED_BUFFER, "TCPIP::10.0.0.5");
            SessionLock c = service.lockFor(LockPolicy.SINGLE_CONNECTION, "TCPIP::10.0.0.5");
            SessionLock other = service.lockFor(LockPolicy.SHARED_BUFFER, "TCPIP::10.0.0.6");
            SessionLock i1 = service.lockFor(LockPolicy.INDEPENDENT_SESSIONS, "TCPIP::10.0.0.5");
            SessionLock i2 = service.lockFor(LockPolicy.INDEPENDENT_SESSIONS, "TCPIP::10.0.0.5");
            assertSame(a, b);
            assertSame(a, c);
            assertNotSame(a, other);
            assertNotSame(i1, i2);
            assertNotSame(i1, a);
            assertTrue(i1.name().startsWith("TCPIP::10.0.0.5#"), i1.name());
        }

        @Test
        void unreferencedDomainsAreForgotten() throws Exception {
            DefaultLockService fresh = new DefaultLockService(Duration.ofMillis(100), LockClock.precise());
            for (int i = 0; i < 5_000; i++) {
                fresh.lockFor(LockPolicy.SHARED_BUFFER, "TCPIP::10.1." + (i / 250) + "." + (i % 250));
            }
            SessionLock kept = fresh.lockFor(LockPolicy.SHARED_BUFFER, "TCPIP::kept");
            // Weak references need a collection; ask for one until the idle domains are gone.
            await(() -> {
                System.gc();
                return fresh.domainCount() == 1;
            }, "idle domains are collected");
            assertSame(kept, fresh.lockFor(LockPolicy.SHARED_BUFFER, "TCPIP::kept"), "a referenced domain stays");
            assertEquals(1, fresh.locks().size());
        }
    }
}
