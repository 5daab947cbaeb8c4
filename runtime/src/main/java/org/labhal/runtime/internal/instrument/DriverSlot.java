package org.labhal.runtime.internal.instrument;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.labhal.api.StepInterruptedException;
import org.labhal.api.instrument.DriverUnavailableException;

/**
 * Where an instrument's current driver lives, so that the driver can be swapped while callers keep
 * their service object. A call enters the slot, runs on the bound driver and leaves; unbinding waits
 * (bounded) until the calls already running on the old driver have left, so a step in flight
 * completes before the driver bundle stops. A call that finds no driver waits, bounded, for the next
 * one, then fails with {@link DriverUnavailableException}. Thread-safe.
 */
final class DriverSlot {

    /** One bound driver and the calls running on it. */
    static final class Binding {
        final ModelCatalog.Entry model;
        final Object driver;
        final Instant since;
        int inFlight; // guarded by the slot's monitor

        Binding(ModelCatalog.Entry model, Object driver, Instant since) {
            this.model = model;
            this.driver = driver;
            this.since = since;
        }
    }

    /**
     * What the slot holds right now.
     *
     * @param model the bound model, empty while unbound
     * @param since when the current driver was bound, or when the last one was unbound
     * @param bindings how many drivers were bound so far
     * @param inFlight calls running on the current driver
     */
    record State(Optional<ModelCatalog.Entry> model, Instant since, long bindings, int inFlight) {
    }

    private final String instrument;
    private final Object monitor = new Object();
    private Binding current;
    private String lastModel = "";
    private Instant changed = Instant.now();
    private long bindings;
    private String closedBecause;

    /** @param instrument the instrument id, for messages */
    DriverSlot(String instrument) {
        this.instrument = instrument;
    }

    /**
     * Runs a driver-type method on the bound driver, waiting at most {@code wait} for one.
     *
     * @param method a method of one of the model's driver types
     * @param args its arguments
     * @param wait how long to wait while no driver is bound
     * @return what the driver returned
     * @throws Throwable what the driver threw, or {@link DriverUnavailableException}, or
     *         {@link StepInterruptedException} when interrupted while waiting
     */
    Object invoke(Method method, Object[] args, Duration wait) throws Throwable {
        Binding binding = enter(method.getDeclaringClass(), wait);
        try {
            return method.invoke(binding.driver, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        } finally {
            leave(binding);
        }
    }

    private Binding enter(Class<?> type, Duration wait) throws DriverUnavailableException, StepInterruptedException {
        long start = System.nanoTime();
        long deadline = start + wait.toNanos();
        synchronized (monitor) {
            while (true) {
                if (closedBecause != null) {
                    throw new DriverUnavailableException(instrument + ": " + closedBecause, elapsed(start));
                }
                if (current != null) {
                    if (!type.isInstance(current.driver)) {
                        throw new DriverUnavailableException(instrument + ": the driver of model '"
                                + current.model.name() + "' does not implement " + type.getName(), elapsed(start));
                    }
                    current.inFlight++;
                    return current;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new DriverUnavailableException(instrument + ": no driver bound"
                            + (lastModel.isEmpty() ? "" : " for model '" + lastModel + "'") + " after waiting "
                            + wait.toMillis() + " ms (its driver bundle is being updated or was removed)",
                            elapsed(start));
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(monitor, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new StepInterruptedException(instrument + ": interrupted while waiting for a driver", e);
                }
            }
        }
    }

    private void leave(Binding binding) {
        synchronized (monitor) {
            if (--binding.inFlight == 0) {
                monitor.notifyAll();
            }
        }
    }

    /**
     * Binds a driver; callers waiting for one proceed on it.
     *
     * @param model the model that made it
     * @param driver the driver object
     */
    void bind(ModelCatalog.Entry model, Object driver) {
        Objects.requireNonNull(driver, "driver");
        synchronized (monitor) {
            if (closedBecause != null) {
                return;
            }
            current = new Binding(model, driver, Instant.now());
            lastModel = model.name();
            changed = current.since;
            bindings++;
            monitor.notifyAll();
        }
    }

    /**
     * Unbinds the driver if it came from the given model, then waits at most {@code drain} for the calls
     * running on it to finish. New calls wait for the next driver meanwhile.
     *
     * @param model the model going away
     * @param drain how long to wait for running calls
     * @return the number of calls still running when the wait ended (0 when all finished), or -1
     *         when the driver was not from that model
     * @throws InterruptedException when interrupted while waiting
     */
    int unbind(ModelCatalog.Entry model, Duration drain) throws InterruptedException {
        long deadline = System.nanoTime() + drain.toNanos();
        synchronized (monitor) {
            if (current == null || current.model != model) {
                return -1;
            }
            Binding old = current;
            current = null;
            changed = Instant.now();
            while (old.inFlight > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return old.inFlight;
                }
                TimeUnit.NANOSECONDS.timedWait(monitor, left);
            }
            return 0;
        }
    }

    /**
     * Fails every waiting and future call; calls already running go on.
     *
     * @param reason why, e.g. {@code disconnected}
     */
    void close(String reason) {
        synchronized (monitor) {
            closedBecause = reason;
            current = null;
            monitor.notifyAll();
        }
    }

    /** @return the bound model, if any */
    Optional<ModelCatalog.Entry> model() {
        synchronized (monitor) {
            return current == null ? Optional.empty() : Optional.of(current.model);
        }
    }

    /** @return a snapshot for diagnostics */
    State state() {
        synchronized (monitor) {
            return new State(current == null ? Optional.empty() : Optional.of(current.model), changed, bindings,
                    current == null ? 0 : current.inFlight);
        }
    }

    private static Duration elapsed(long start) {
        return Duration.ofNanos(System.nanoTime() - start);
    }
}
