package org.labhal.api.discovery;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a search may do and for how long.
 *
 * @param timeout bounds the whole search, positive
 * @param interfaces the local addresses or interface names a network search may use ({@code 127.0.0.1},
 *        {@code eth0}); a network search uses these only, so an empty list means no network search
 * @param settings further settings by key, each read by the discoverer it concerns, e.g.
 *        {@code serial.probe = /dev/ttyUSB0@9600,/dev/ttyS1@115200} (serial ports that may be probed with
 *        {@code *IDN?}, and at which baud rate) or {@code gpib.scan = 0} (GPIB boards whose addresses may be
 *        scanned)
 */
public record DiscoveryRequest(Duration timeout, List<String> interfaces, Map<String, String> settings) {

    /**
     * @throws NullPointerException for a null component
     * @throws IllegalArgumentException when the timeout is not positive
     */
    public DiscoveryRequest {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("a discovery timeout must be positive, got " + timeout);
        }
        interfaces = List.copyOf(Objects.requireNonNull(interfaces, "interfaces"));
        settings = Map.copyOf(Objects.requireNonNull(settings, "settings"));
    }

    /**
     * @param key a setting's key
     * @return its value, or empty when not set
     */
    public Optional<String> setting(String key) {
        return Optional.ofNullable(settings.get(key));
    }
}
