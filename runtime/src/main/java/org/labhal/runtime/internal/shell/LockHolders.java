package org.labhal.runtime.internal.shell;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.labhal.api.LabHalException;
import org.labhal.api.StepInterruptedException;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.Priority;
import org.labhal.api.lock.SessionLock;
import org.labhal.runtime.internal.NamedThreadFactory;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * Instrument locks held from the shell ({@code instr:lock}/{@code instr:unlock}) and from the web
 * dashboard, one registry for both: a lock taken on the page is shown by and released from the shell,
 * and the other way round. A lease belongs to the thread that took it, and a command returns at once,
 * so each hold gets a holder thread that takes the lock, keeps it until {@link #release} or until its
 * lease expires, and gives it back. Thread-safe.
 */
// Immediate: the holds must outlive the commands and requests that make them.
@Component(service = LockHolders.class, immediate = true)
public final class LockHolders implements AutoCloseable {

    /** One lock held from the shell or the page. */
    private static final class Hold {
        final SessionLock lock;
        final Duration lease;
        /** Who took it, for messages: the shell or the web dashboard. */
        final String by;
        final CountDownLatch release = new CountDownLatch(1);
        final CompletableFuture<String> acquired = new CompletableFuture<>();
        /** Completed when the holder thread has let go (or never got the lock). */
        final CompletableFuture<Void> done = new CompletableFuture<>();
        volatile Instant since = Instant.now();

        Hold(SessionLock lock, Duration lease, String by) {
            this.lock = lock;
            this.lease = lease;
            this.by = by;
        }
    }

    private final ExecutorService threads = Executors.newCachedThreadPool(new NamedThreadFactory("labhal-shell-lock"));
    private final Map<String, Hold> holds = new ConcurrentHashMap<>();

    /**
     * Takes the lock on a holder thread and returns once it is held.
     *
     * @param id the instrument id, the key for {@link #release}
     * @param lock the instrument's lock
     * @param timeout how long to wait for it
     * @param lease how long to keep it at most
     * @return the holder thread's name
     * @throws LabHalException when the lock was not free within the timeout (naming its holder), or
     *         for a deadlock or an interrupt
     * @throws IllegalStateException when the shell (or the page) already holds this instrument's lock
     */
    public String hold(String id, SessionLock lock, Duration timeout, Duration lease) throws LabHalException {
        return hold(id, lock, timeout, lease, "the shell", "held from the shell (instr:lock " + id + ")");
    }

    /**
     * As {@link #hold(String, SessionLock, Duration, Duration)}, for another taker than the shell.
     *
     * @param id the instrument id, the key for {@link #release}
     * @param lock the instrument's lock
     * @param timeout how long to wait for it
     * @param lease how long to keep it at most
     * @param by who takes it, for messages: {@code the shell}, {@code the web dashboard}
     * @param activity what the holder is doing, shown by {@code instr:locks} and the dashboard
     * @return the holder thread's name
     * @throws LabHalException when the lock was not free within the timeout (naming its holder), or
     *         for a deadlock or an interrupt
     * @throws IllegalStateException when the lock of this instrument is held already (from the shell or the page)
     */
    public String hold(String id, SessionLock lock, Duration timeout, Duration lease, String by, String activity)
            throws LabHalException {
        Hold hold = new Hold(lock, lease, by);
        Hold existing = holds.putIfAbsent(id, hold);
        if (existing != null) {
            throw new IllegalStateException(existing.by + " already holds the lock of " + id + " (for "
                    + ShellDurations.format(Duration.between(existing.since, Instant.now())) + " of its "
                    + ShellDurations.format(existing.lease) + " lease); instr:unlock " + id + " releases it");
        }
        try {
            threads.execute(() -> {
                try {
                    keep(id, hold, timeout, lease, activity);
                } finally {
                    hold.done.complete(null);
                }
            });
        } catch (RejectedExecutionException e) {
            holds.remove(id, hold);
            throw new IllegalStateException("the runtime is stopping: no lock is taken for " + id, e);
        }
        try {
            return hold.acquired.get(timeout.toMillis() + 5000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            hold.release.countDown();
            Thread.currentThread().interrupt();
            throw new StepInterruptedException("Interrupted while waiting for the lock of " + id, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof LabHalException failure) {
                throw failure;
            }
            throw new IllegalStateException("taking the lock of " + id + " failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            hold.release.countDown();
            throw new IllegalStateException("the holder thread for " + id + " did not report back in time");
        }
    }

    private void keep(String id, Hold hold, Duration timeout, Duration lease, String activity) {
        Lease held;
        try {
            held = hold.lock.acquire(timeout, Priority.NORMAL, activity);
        } catch (InterruptedException e) {
            holds.remove(id, hold);
            hold.acquired.completeExceptionally(new StepInterruptedException("Interrupted waiting for the lock of "
                    + id, e));
            return;
        } catch (LabHalException | RuntimeException e) {
            holds.remove(id, hold);
            hold.acquired.completeExceptionally(e);
            return;
        }
        try {
            hold.since = Instant.now();
            hold.acquired.complete(Thread.currentThread().getName());
            hold.release.await(lease.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // shutting down: give the lock back
        } finally {
            holds.remove(id, hold); // forget the hold before the lock is free, so a new lock command can follow
            held.close();
        }
    }

    /**
     * Gives the lock back and waits until the holder thread has let go.
     *
     * @param id the instrument id
     * @return how long it was held
     * @throws IllegalStateException when neither the shell nor the page holds a lock of that instrument
     */
    public Duration release(String id) {
        Hold hold = holds.get(id);
        if (hold == null) {
            throw new IllegalStateException("the shell and the web dashboard hold no lock of " + id
                    + " (never taken, released, or its "
                    + "lease expired)");
        }
        hold.release.countDown();
        try {
            hold.done.get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the holder thread for " + id + " failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            if (!hold.acquired.isDone()) {
                throw new IllegalStateException("the lock of " + id + " was still being waited for (" + hold.by
                        + "); the wait goes on, and the lock is given back as soon as it comes");
            }
            throw new IllegalStateException("the holder thread for " + id + " did not let go within 5 s");
        }
        return Duration.between(hold.since, Instant.now());
    }

    /** @return whether the shell or the page holds that instrument's lock */
    public boolean holds(String id) {
        return holds.containsKey(id);
    }

    /** Releases every lock and stops the holder threads. */
    @Deactivate
    @Override
    public void close() {
        holds.values().forEach(h -> h.release.countDown());
        threads.shutdown();
        try {
            if (!threads.awaitTermination(5, TimeUnit.SECONDS)) {
                threads.shutdownNow();
            }
        } catch (InterruptedException e) {
            threads.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
