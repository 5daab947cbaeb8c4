package org.labhal.runtime.internal.launch;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.Map;

import org.labhal.runtime.internal.instrument.InstrumentSettings;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * Creates the built-in instrument configurations named by the framework property {@value #PROPERTY}
 * ({@code id=resource} pairs separated by spaces; the executable jar sets {@code sim-smw} and
 * {@code sim-shared}), once per framework storage: an instrument the user disconnects stays gone after
 * a restart. They are ordinary ConfigAdmin configurations marked {@code labhal.origin=default}.
 */
@Component(service = DefaultInstruments.class, immediate = true)
public final class DefaultInstruments {
    /** Framework property naming the built-in instruments. */
    public static final String PROPERTY = "labhal.instruments.defaults";
    private static final String MARKER = "defaults-created";

    /**
     * @param context reads the property and keeps the once-only marker in the bundle's data area
     * @param configurations where the configurations are made
     * @param logger where their creation is logged
     * @throws IOException when a configuration cannot be stored
     */
    @Activate
    public DefaultInstruments(BundleContext context, @Reference ConfigurationAdmin configurations,
            @Reference(service = LoggerFactory.class) Logger logger) throws IOException {
        Map<String, String> defaults = parse(context.getProperty(PROPERTY));
        File marker = context.getDataFile(MARKER);
        if (defaults.isEmpty() || marker == null || marker.exists()) {
            return;
        }
        for (Map.Entry<String, String> entry : defaults.entrySet()) {
            Configuration configuration = configurations.getFactoryConfiguration(InstrumentSettings.FACTORY_PID,
                    entry.getKey(), "?");
            if (configuration.getProperties() == null) {
                Map<String, Object> properties = InstrumentSettings.shellProperties(entry.getKey(), entry.getValue());
                properties.put(InstrumentSettings.ORIGIN, "default");
                configuration.update(new Hashtable<>(properties));
                logger.info("Created the built-in instrument {} at {}", entry.getKey(), entry.getValue());
            }
        }
        Files.writeString(marker.toPath(), "The built-in instruments were created; they are not made again.\n");
    }

    /**
     * @param spec e.g. {@code sim-smw=SIM::SMW200A::1::INSTR sim-shared=SIM::SHARED::1::INSTR}
     * @return id to resource, in order
     * @throws IllegalArgumentException for an item without {@code =}
     */
    static Map<String, String> parse(String spec) {
        Map<String, String> defaults = new LinkedHashMap<>();
        if (spec == null || spec.isBlank()) {
            return defaults;
        }
        for (String item : spec.strip().split("\\s+")) {
            int equals = item.indexOf('=');
            if (equals <= 0 || equals == item.length() - 1) {
                throw new IllegalArgumentException(PROPERTY + " item '" + item + "' is not id=resource");
            }
            defaults.put(item.substring(0, equals), item.substring(equals + 1));
        }
        return defaults;
    }
}
