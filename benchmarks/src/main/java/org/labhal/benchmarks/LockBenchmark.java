package org.labhal.benchmarks;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.LockTimeoutException;
import org.labhal.api.lock.SessionLock;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Uncontended acquire/release: one thread, nobody else near the lock. The session lock in its three
 * forms against {@link ReentrantLock} (non-fair and fair) as the baseline of the same run. The
 * issue's target: ours within 1.2x of the non-fair ReentrantLock.
 * <p>
 * The {@code cost*} benchmarks measure, in isolation, the pieces of a fast path: the bare CAS in and
 * volatile write out that every lock has, the session lock's fast path before issue 11 (a 40-byte
 * Holding allocated per acquire and CAS'd in as a reference) and after it (a thread id CAS'd in, a
 * 16-byte lease allocated); see BENCHMARKS.md for how they add up.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
@State(Scope.Thread)
public class LockBenchmark {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private SessionLock sessionLock;
    private ReentrantLock nonFair;
    private ReentrantLock fair;

    @Setup
    public void setUp() {
        sessionLock = new DefaultLockService().newLock("bench");
        nonFair = new ReentrantLock(false);
        fair = new ReentrantLock(true);
    }

    @Benchmark
    public void sessionLockAcquireTimeout(Blackhole bh) throws Exception {
        try (Lease lease = sessionLock.acquire(TIMEOUT)) {
            bh.consume(lease);
        }
    }

    @Benchmark
    public void sessionLockAcquireUnbounded(Blackhole bh) throws Exception {
        try (Lease lease = sessionLock.acquire()) {
            bh.consume(lease);
        }
    }

    @Benchmark
    public void sessionLockTryAcquire(Blackhole bh) throws LockTimeoutException {
        Optional<Lease> lease = sessionLock.tryAcquire();
        if (lease.isEmpty()) {
            throw new IllegalStateException("uncontended tryAcquire failed");
        }
        try (Lease held = lease.get()) {
            bh.consume(held);
        }
    }

    @Benchmark
    public void reentrantLockNonFair(Blackhole bh) {
        nonFair.lock();
        try {
            bh.consume(nonFair);
        } finally {
            nonFair.unlock();
        }
    }

    @Benchmark
    public void reentrantLockFair(Blackhole bh) {
        fair.lock();
        try {
            bh.consume(fair);
        } finally {
            fair.unlock();
        }
    }

    // ---- What the session lock's fast path does on top of a CAS and a volatile write -------------

    /** Acquire stamps the hold's start and release measures the hold: two clock reads per pair. */
    @Benchmark
    public long costTwoNanoTimeCalls() {
        return System.nanoTime() + System.nanoTime();
    }

    /** Before issue 11: every acquire allocated a Holding (the lease) and published it: allocation plus CAS. */
    @Benchmark
    public void costAllocateAndCasHolding(HoldingModel model) {
        model.acquireRelease();
    }

    /** After issue 11: a thread id CAS'd in and out, and a 16-byte lease handed out (and consumed). */
    @Benchmark
    public void costCasThreadIdAndLease(LeaseModel model, Blackhole bh) {
        model.acquireRelease(bh);
    }

    /** The bare CAS-in, volatile-write-out that both locks have at their core. */
    @Benchmark
    public void costCasAndVolatileWrite(CasModel model) {
        model.acquireRelease();
    }

    /** A model of the lease object: the same fields as the lock core's Holding. */
    @State(Scope.Thread)
    public static class HoldingModel {
        private static final java.lang.invoke.VarHandle HOLDER;

        static {
            try {
                HOLDER = java.lang.invoke.MethodHandles.lookup().findVarHandle(HoldingModel.class, "holder",
                        Hold.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        @SuppressWarnings("unused") // written through HOLDER
        private volatile Hold holder;

        void acquireRelease() {
            Hold mine = new Hold(this, Thread.currentThread(), "");
            if (!HOLDER.compareAndSet(this, null, mine)) {
                throw new IllegalStateException();
            }
            HOLDER.setVolatile(this, null);
        }

        static final class Hold {
            final Object lock;
            final Thread thread;
            final String activity;
            long since;
            int holds = 1;
            boolean closed;

            Hold(Object lock, Thread thread, String activity) {
                this.lock = lock;
                this.thread = thread;
                this.activity = activity;
            }
        }
    }

    /** A model of the current fast path: the lock word is a thread id, the lease one reference. */
    @State(Scope.Thread)
    public static class LeaseModel {
        private static final java.lang.invoke.VarHandle OWNER;

        static {
            try {
                OWNER = java.lang.invoke.MethodHandles.lookup().findVarHandle(LeaseModel.class, "owner", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        @SuppressWarnings("unused") // written through OWNER
        private volatile long owner;
        private final Object holding = new Object();

        void acquireRelease(Blackhole bh) {
            long tid = Thread.currentThread().getId();
            if (!OWNER.compareAndSet(this, 0L, tid)) {
                throw new IllegalStateException();
            }
            bh.consume(new Lease16(holding));
            owner = 0;
        }

        static final class Lease16 {
            final Object target;

            Lease16(Object target) {
                this.target = target;
            }
        }
    }

    /** A CAS of a preallocated token in, a volatile null out: no allocation, no clock. */
    @State(Scope.Thread)
    public static class CasModel {
        private static final java.lang.invoke.VarHandle HOLDER;

        static {
            try {
                HOLDER = java.lang.invoke.MethodHandles.lookup().findVarHandle(CasModel.class, "holder", Object.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        @SuppressWarnings("unused") // written through HOLDER
        private volatile Object holder;
        private final Object token = new Object();

        void acquireRelease() {
            if (!HOLDER.compareAndSet(this, null, token)) {
                throw new IllegalStateException();
            }
            HOLDER.setVolatile(this, null);
        }
    }
}
