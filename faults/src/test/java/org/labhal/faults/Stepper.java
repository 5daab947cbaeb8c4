package org.labhal.faults;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs one step on a thread of its own, as a caller of the library would, and records how it ended:
 * its value or exception, when, and whether the thread's interrupt flag was still set. The step can
 * be cancelled as an executor's caller would ({@code Future.cancel(true)}), and the injector can
 * wait until the thread is inside a given method ({@link #awaitInside}) to interrupt it there.
 */
final class Stepper {
    /** Step threads are the case's own: the leak count ignores them. */
    static final String PREFIX = "fault-step-";
    private static final AtomicInteger NUMBERS = new AtomicInteger();

    private final FutureTask<Object> task;
    private final Thread thread;
    private final CountDownLatch done = new CountDownLatch(1);
    private final long started = System.nanoTime();
    private volatile Object value;
    private volatile Throwable failure;
    private volatile boolean interruptedAfter;
    private volatile long ended;
    private volatile long cancelled;

    private Stepper(String what, Callable<?> body) {
        task = new FutureTask<>(() -> {
            try {
                value = body.call();
            } catch (Throwable t) {
                failure = t;
            } finally {
                interruptedAfter = Thread.currentThread().isInterrupted();
                ended = System.nanoTime();
                done.countDown();
            }
            return value;
        });
        thread = new Thread(task, PREFIX + NUMBERS.incrementAndGet() + "-" + what);
        thread.setDaemon(true);
    }

    static Stepper start(String what, Callable<?> body) {
        Stepper stepper = new Stepper(what, body);
        stepper.thread.start();
        return stepper;
    }

    /** Interrupts the step through its future, as {@code Future.cancel(true)} does. */
    void cancel() {
        cancelled = System.nanoTime();
        task.cancel(true);
    }

    /** @return whether the step ended within {@code timeout} */
    boolean await(Duration timeout) throws InterruptedException {
        return done.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    boolean finished() {
        return done.getCount() == 0;
    }

    Object value() {
        return value;
    }

    Throwable failure() {
        return failure;
    }

    boolean interruptedAfter() {
        return interruptedAfter;
    }

    /** How long the step took, or has taken so far. */
    Duration elapsed() {
        return Duration.ofNanos((finished() ? ended : System.nanoTime()) - started);
    }

    /** How long the step went on after it was cancelled; zero when it was not. */
    Duration afterCancel() {
        return cancelled == 0 ? Duration.ZERO : Duration.ofNanos((finished() ? ended : System.nanoTime()) - cancelled);
    }

    Thread thread() {
        return thread;
    }

    /**
     * Waits until the step's thread is inside {@code method} of a class implementing {@code type},
     * e.g. {@code read} of a {@link org.labhal.api.transport.Connection}.
     *
     * @return whether it got there within {@code timeout}; false also when the step ended first
     */
    boolean awaitInside(Class<?> type, String method, Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        while (!finished()) {
            for (StackTraceElement frame : thread.getStackTrace()) {
                if (frame.getMethodName().equals(method) && implementsType(frame.getClassName(), type)) {
                    return true;
                }
            }
            if (System.nanoTime() >= end) {
                return false;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1)); // poll, bounded by timeout
        }
        return false;
    }

    private static boolean implementsType(String className, Class<?> type) {
        try {
            Class<?> frameClass = Class.forName(className, false, Stepper.class.getClassLoader());
            return type.isAssignableFrom(frameClass) && !frameClass.isInterface();
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** What the step did, for messages; where it is, when it is still running. */
    String outcome() {
        if (!finished()) {
            StringBuilder where = new StringBuilder();
            StackTraceElement[] stack = thread.getStackTrace();
            for (int i = 0; i < Math.min(stack.length, 12); i++) {
                StackTraceElement f = stack[i];
                if (f.getClassName().startsWith("org.labhal")) {
                    where.append(where.length() == 0 ? "" : " < ").append(f.getClassName()
                            .substring(f.getClassName().lastIndexOf('.') + 1)).append('.').append(f.getMethodName())
                            .append(':').append(f.getLineNumber());
                }
            }
            return "still running after " + elapsed().toMillis() + " ms, in " + where;
        }
        return (failure == null ? "returned " + Case.excerpt(String.valueOf(value))
                : "threw " + failure.getClass().getSimpleName() + ": " + Case.excerpt(String.valueOf(failure.getMessage())))
                + " after " + elapsed().toMillis() + " ms";
    }
}
