package org.labhal.runtime.internal.trace;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.service.component.annotations.Component;

/** TEMPORARY STAND-IN (web branch) for the lead's trace core: the signatures only. Delete before merging. */
@Component(service = Traces.class)
public final class Traces {
    private final Map<String, InstrumentTrace> traces = new ConcurrentHashMap<>();

    public InstrumentTrace of(String instrumentId) {
        return traces.computeIfAbsent(instrumentId.toLowerCase(java.util.Locale.ROOT), k -> new InstrumentTrace(instrumentId));
    }

    public Optional<InstrumentTrace> find(String instrumentId) {
        return Optional.ofNullable(traces.get(instrumentId.toLowerCase(java.util.Locale.ROOT)));
    }

    public TraceFeed follow(int capacity) {
        return new TraceFeed() {
            @Override
            public java.util.List<TracedStep> poll(java.time.Duration wait) throws InterruptedException {
                Thread.sleep(wait.toMillis());
                return java.util.List.of();
            }

            @Override
            public long dropped() {
                return 0;
            }

            @Override
            public void close() {
            }
        };
    }
}
