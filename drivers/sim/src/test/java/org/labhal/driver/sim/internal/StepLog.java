package org.labhal.driver.sim.internal;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import org.labhal.api.Session;
import org.labhal.api.lock.Lease;

/**
 * Wraps a session so that every write and query, and those of the handles it shares, is numbered in
 * the order the steps really ran: the number is taken while the step's lock is still held. Tests then
 * reason about the order of steps, not about time.
 */
final class StepLog {
    /** One step: its place in the order, the thread that ran it, the message and the answer. */
    record Step(long seq, String thread, String message, String answer) {
    }

    private static final Set<String> STEPS = Set.of("write", "query");

    private final AtomicLong sequence = new AtomicLong();
    final List<Step> steps = new CopyOnWriteArrayList<>();

    Session wrap(Session session) {
        return (Session) Proxy.newProxyInstance(Session.class.getClassLoader(), new Class<?>[] { Session.class },
                (proxy, method, args) -> {
                    if (method.getName().equals("share")) {
                        return wrap((Session) invoke(session, method, args));
                    }
                    if (!STEPS.contains(method.getName()) || args == null || !(args[0] instanceof String message)) {
                        return invoke(session, method, args);
                    }
                    try (Lease lease = session.lock().acquire(Duration.ofSeconds(30))) {
                        Object answer = invoke(session, method, args);
                        steps.add(new Step(sequence.incrementAndGet(), Thread.currentThread().getName(), message,
                                answer == null ? null : answer.toString()));
                        return answer;
                    }
                });
    }

    private static Object invoke(Session session, Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(session, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
