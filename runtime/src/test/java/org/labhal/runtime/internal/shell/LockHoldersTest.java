package org.labhal.runtime.internal.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.LockPolicy;
import org.labhal.api.lock.LockTimeoutException;
import org.labhal.api.lock.SessionLock;

class LockHoldersTest {
    private final DefaultLockService service = new DefaultLockService();
    private final LockHolders holders = new LockHolders();

    @AfterEach
    void close() {
        holders.close();
    }

    @Test
    void holdsTheLockOnItsOwnThreadUntilReleased() throws Exception {
        SessionLock lock = service.lockFor(LockPolicy.SHARED_BUFFER, "SIM::X::1");
        String thread = holders.hold("x", lock, Duration.ofSeconds(1), Duration.ofMinutes(1));
        assertTrue(thread.startsWith("labhal-shell-lock-"), thread);
        assertEquals(thread, lock.info().holder().orElseThrow().thread(), "the holder thread has it");
        assertEquals(Optional.empty(), lock.tryAcquire(), "nobody else gets it");
        assertTrue(holders.holds("x"));

        holders.release("x");
        assertFalse(holders.holds("x"));
        try (Lease lease = lock.acquire(Duration.ofSeconds(1))) {
            assertTrue(lock.isHeldByCurrentThread());
        }
    }

    @Test
    void aReleaseWhileTheLockIsStillAwaitedSaysSoAndTheLockIsGivenBackWhenItComes() throws Exception {
        SessionLock lock = service.lockFor(LockPolicy.SHARED_BUFFER, "SIM::X::9");
        java.util.concurrent.CompletableFuture<Lease> other = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CountDownLatch letGo = new java.util.concurrent.CountDownLatch(1);
        Thread owner = new Thread(() -> {
            try (Lease lease = lock.acquire(Duration.ofSeconds(10))) {
                other.complete(lease);
                letGo.await();
            } catch (Exception e) {
                other.completeExceptionally(e);
            }
        }, "other-owner");
        owner.start();
        other.get(10, java.util.concurrent.TimeUnit.SECONDS);
        java.util.concurrent.CompletableFuture<String> taking = java.util.concurrent.CompletableFuture
                .supplyAsync(() -> {
                    try {
                        return holders.hold("x", lock, Duration.ofSeconds(30), Duration.ofMinutes(1));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (!holders.holds("x") && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        IllegalStateException waiting = assertThrows(IllegalStateException.class, () -> holders.release("x"));
        assertTrue(waiting.getMessage().contains("still being waited for"), waiting.getMessage());
        letGo.countDown();
        owner.join(10_000);
        taking.get(10, java.util.concurrent.TimeUnit.SECONDS);
        try (Lease lease = lock.acquire(Duration.ofSeconds(10))) {
            assertTrue(lock.isHeldByCurrentThread(), "given back as soon as it came, the release having been asked");
        }
    }

    @Test
    void leaseExpiryGivesTheLockBack() throws Exception {
        SessionLock lock = service.lockFor(LockPolicy.SHARED_BUFFER, "SIM::X::2");
        holders.hold("x", lock, Duration.ofSeconds(1), Duration.ofMillis(200));
        try (Lease lease = lock.acquire(Duration.ofSeconds(10))) {
            assertTrue(lock.isHeldByCurrentThread(), "free again once the lease ran out");
        }
        assertThrows(IllegalStateException.class, () -> holders.release("x"));
    }

    @Test
    void aBusyLockTimesOutNamingItsHolder() throws Exception {
        SessionLock lock = service.lockFor(LockPolicy.SHARED_BUFFER, "SIM::X::3");
        try (Lease lease = lock.acquire(Duration.ofSeconds(1))) {
            LockTimeoutException e = assertThrows(LockTimeoutException.class,
                    () -> holders.hold("x", lock, Duration.ofMillis(100), Duration.ofMinutes(1)));
            assertTrue(e.getMessage().contains(Thread.currentThread().getName()), e.getMessage());
        }
        assertFalse(holders.holds("x"));
    }

    @Test
    void oneHoldPerInstrument() throws Exception {
        SessionLock lock = service.lockFor(LockPolicy.SHARED_BUFFER, "SIM::X::4");
        holders.hold("x", lock, Duration.ofSeconds(1), Duration.ofMinutes(1));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> holders.hold("x", lock, Duration.ofSeconds(1), Duration.ofMinutes(1)));
        assertTrue(e.getMessage().contains("instr:unlock x"), e.getMessage());
    }
}
