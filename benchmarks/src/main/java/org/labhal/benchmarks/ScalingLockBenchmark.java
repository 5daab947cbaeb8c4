package org.labhal.benchmarks;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

import org.labhal.api.internal.lock.DefaultLockService;
import org.labhal.api.lock.Lease;
import org.labhal.api.lock.SessionLock;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.Blackhole;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * Locks of many instruments at once: a fixed {@value #THREADS} threads spread evenly over N locks
 * ({@code locks} = 1, 8, 32, 64: 64, 8, 2 and 1 threads per lock), each taking its own lock in a loop
 * with the same work as {@link ContendedLockBenchmark} (50 Blackhole tokens inside, 50 outside).
 * Total throughput per N, session locks from one {@link DefaultLockService} (so all of them share one
 * wait-for graph, as an application's instruments do) against fair {@link ReentrantLock}s in the same
 * configuration.
 * <p>
 * Waits on different locks should not slow each other down: with fewer threads per lock there is
 * less waiting, so throughput should rise with N, and the session locks should follow the fair
 * ReentrantLocks at every N. A service-wide lock on the contended path shows as a session/fair
 * ratio that falls as the number of locks with waiters grows.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(ScalingLockBenchmark.THREADS)
@State(Scope.Benchmark)
public class ScalingLockBenchmark {
    static final int THREADS = 64;
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    /** How many locks the threads are spread over. */
    @Param({ "1", "8", "32", "64" })
    public int locks;

    private DefaultLockService service;
    private SessionLock[] sessionLocks;
    private ReentrantLock[] fairLocks;

    @Setup(Level.Trial)
    public void setUp() {
        service = new DefaultLockService();
        sessionLocks = new SessionLock[locks];
        fairLocks = new ReentrantLock[locks];
        for (int i = 0; i < locks; i++) {
            sessionLocks[i] = service.newLock("instrument-" + i);
            fairLocks[i] = new ReentrantLock(true);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        service.close();
    }

    /** Which lock a thread uses: thread i takes lock i mod N. */
    @State(Scope.Thread)
    public static class Slot {
        int index;

        @Setup(Level.Trial)
        public void pick(ScalingLockBenchmark benchmark, ThreadParams thread) {
            index = thread.getThreadIndex() % benchmark.locks;
        }
    }

    @Benchmark
    public void sessionLock(Slot slot) throws Exception {
        try (Lease lease = sessionLocks[slot.index].acquire(TIMEOUT)) {
            Blackhole.consumeCPU(ContendedLockBenchmark.WORK_INSIDE);
        }
        Blackhole.consumeCPU(ContendedLockBenchmark.WORK_OUTSIDE);
    }

    @Benchmark
    public void fairReentrantLock(Slot slot) {
        ReentrantLock lock = fairLocks[slot.index];
        lock.lock();
        try {
            Blackhole.consumeCPU(ContendedLockBenchmark.WORK_INSIDE);
        } finally {
            lock.unlock();
        }
        Blackhole.consumeCPU(ContendedLockBenchmark.WORK_OUTSIDE);
    }
}
