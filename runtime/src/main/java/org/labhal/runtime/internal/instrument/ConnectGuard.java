package org.labhal.runtime.internal.instrument;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.labhal.api.transport.Deadline;
import org.labhal.runtime.internal.NamedThreadFactory;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * Bounds the steps of connecting an instrument as a whole: identifying it, checking a second
 * connection, preparing it for its model. A step that outlives its budget has its session closed from
 * here, which ends whatever wait it is in; the instrument thread then fails the attempt saying what
 * did not finish in time. One timer thread for every instrument. Thread-safe.
 */
@Component(service = ConnectGuard.class)
public final class ConnectGuard {
    private final ScheduledExecutorService timer =
            Executors.newSingleThreadScheduledExecutor(new NamedThreadFactory("labhal-connect-guard"));

    /**
     * @param budget how long the step may take
     * @param onExpiry what ends the step when it has not finished by then, e.g. closing its session
     * @return the armed guard: close it when the step ends
     */
    public Armed arm(Duration budget, Runnable onExpiry) {
        Armed armed = new Armed();
        try {
            armed.expiry = timer.schedule(() -> {
                armed.fired.set(true);
                onExpiry.run();
            }, Deadline.nanos(budget), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            // the runtime is stopping: the step is ended by its session's closing anyway
        }
        return armed;
    }

    /** Stops the timer; guards armed now never fire. */
    @Deactivate
    public void deactivate() {
        timer.shutdownNow();
    }

    /** One armed guard. */
    public static final class Armed implements AutoCloseable {
        private final AtomicBoolean fired = new AtomicBoolean();
        private volatile ScheduledFuture<?> expiry;

        /** @return whether the budget ran out and the guard ended the step */
        public boolean fired() {
            return fired.get();
        }

        /** Disarms the guard: the step ended in time (or failed by itself). */
        @Override
        public void close() {
            ScheduledFuture<?> scheduled = expiry;
            if (scheduled != null) {
                scheduled.cancel(false);
            }
        }
    }
}
