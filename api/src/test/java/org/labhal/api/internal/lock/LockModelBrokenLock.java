package org.labhal.api.internal.lock;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.labhal.api.dto.HolderInfo;
import org.labhal.api.dto.LockInfo;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.LockPolicy;
import org.labhal.api.lock.Priority;
import org.labhal.api.lock.SessionLock;

/**
 * A deliberately broken lock for the control experiment in {@link LockModelCheckTest}: it checks a
 * flag and then sets it, without a compare-and-set, so two threads can both see it free and both
 * enter. If the model checker passes this lock, it cannot be trusted to fail ours either.
 */
final class LockModelBrokenLock implements SessionLock {
    private final String name;
    private volatile boolean held; // the bug: read and written separately, never CAS
    private volatile Thread owner;
    private int holds; // owner only

    LockModelBrokenLock(String name) {
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Lease acquire() {
        return acquire(Duration.ZERO, Priority.NORMAL, "");
    }

    @Override
    public Lease acquire(Duration timeout) {
        return acquire(timeout, Priority.NORMAL, "");
    }

    @Override
    public Lease acquire(Duration timeout, Priority priority, String activity) {
        Thread me = Thread.currentThread();
        if (owner == me) {
            holds++;
            return new BrokenLease();
        }
        while (held) {
            Thread.onSpinWait(); // waits forever, ignores the timeout: only mutual exclusion is under test
        }
        held = true;
        owner = me;
        holds = 1;
        return new BrokenLease();
    }

    @Override
    public Optional<Lease> tryAcquire() {
        return tryAcquire("");
    }

    @Override
    public Optional<Lease> tryAcquire(String activity) {
        Thread me = Thread.currentThread();
        if (owner == me) {
            holds++;
            return Optional.of(new BrokenLease());
        }
        if (held) {
            return Optional.empty();
        }
        held = true;
        owner = me;
        holds = 1;
        return Optional.of(new BrokenLease());
    }

    @Override
    public boolean isHeldByCurrentThread() {
        return owner == Thread.currentThread();
    }

    @Override
    public LockInfo info() {
        Thread current = owner;
        Optional<HolderInfo> holder = held && current != null
                ? Optional.of(new HolderInfo(current.getName(), current.getId(), "", Instant.EPOCH, Duration.ZERO,
                        holds))
                : Optional.empty();
        return new LockInfo(name, name, LockPolicy.INDEPENDENT_SESSIONS, holder, List.of(), 0, 0, 0, 0, Duration.ZERO,
                Duration.ZERO);
    }

    private final class BrokenLease implements Lease {
        private boolean closed;

        @Override
        public SessionLock lock() {
            return LockModelBrokenLock.this;
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            if (--holds == 0) {
                owner = null;
                held = false;
            }
        }
    }
}
