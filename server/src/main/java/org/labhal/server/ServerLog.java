package org.labhal.server;

import java.util.Objects;
import java.util.function.Consumer;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Where a {@link TcpServer} reports its rare events: an OSGi component passes its {@code Logger}'s
 * methods, a standalone server the default, which goes to {@link System#getLogger(String)}.
 * Implementations must be thread-safe and must not block for long.
 */
@ConsumerType
public interface ServerLog {
    /** @param message survivable trouble, e.g. accepting failed and the server backs off */
    void warn(String message);

    /** @param message a rare lifecycle event, e.g. accepting works again after a streak of failures */
    void info(String message);

    /**
     * @param warn takes warnings, e.g. an OSGi {@code Logger}'s {@code warn}
     * @param info takes lifecycle events, e.g. its {@code info}
     * @return a log that hands each message to one of them
     */
    static ServerLog of(Consumer<String> warn, Consumer<String> info) {
        Objects.requireNonNull(warn, "warn");
        Objects.requireNonNull(info, "info");
        return new ServerLog() {
            @Override
            public void warn(String message) {
                warn.accept(message);
            }

            @Override
            public void info(String message) {
                info.accept(message);
            }
        };
    }

    /** @return a log writing to the platform logger {@code org.labhal.server} */
    static ServerLog system() {
        System.Logger logger = System.getLogger("org.labhal.server");
        return new ServerLog() {
            @Override
            public void warn(String message) {
                logger.log(System.Logger.Level.WARNING, message);
            }

            @Override
            public void info(String message) {
                logger.log(System.Logger.Level.INFO, message);
            }
        };
    }
}
