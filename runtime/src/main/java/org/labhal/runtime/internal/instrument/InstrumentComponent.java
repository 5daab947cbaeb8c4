package org.labhal.runtime.internal.instrument;

import java.util.Map;

import org.labhal.runtime.internal.trace.InstrumentTrace;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.Designate;

/**
 * One instance per {@value InstrumentSettings#FACTORY_PID} factory configuration. A bad configuration
 * fails activation with a message naming every bad value (logged here and by SCR) and registers
 * nothing; the other instruments go on. A changed configuration reconnects; a deleted one disconnects.
 */
@Component(configurationPid = InstrumentSettings.FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = {}, immediate = true)
@Designate(ocd = InstrumentConfiguration.class, factory = true)
public final class InstrumentComponent {
    private final InstrumentDirectory directory;
    private final InstrumentConnection connection;

    /**
     * @param properties the raw configuration, checked by {@link InstrumentSettings#from}
     * @param context registers the instrument service
     * @param environment what every instrument shares: sessions, models, the directory where the id is
     *        claimed, served connections, the connect guard, the connection threads
     * @param logger where the instrument logs
     */
    @Activate
    public InstrumentComponent(Map<String, Object> properties, BundleContext context,
            @Reference InstrumentEnvironment environment, @Reference(service = LoggerFactory.class) Logger logger) {
        InstrumentSettings settings;
        try {
            settings = InstrumentSettings.from(properties);
        } catch (IllegalArgumentException e) {
            logger.error("{}; the instrument does not start", e.getMessage());
            throw e;
        }
        this.directory = environment.directory();
        InstrumentTrace trace = environment.traces().of(settings.id());
        settings.trace().ifPresent(trace::trace);
        this.connection = new InstrumentConnection(settings, environment.sessions(), environment.catalog(), context,
                logger, environment.served(), environment.guard(), environment.workers(), trace);
        try {
            this.directory.claim(connection);
        } catch (IllegalStateException e) {
            logger.error("{}; the instrument does not start", e.getMessage());
            throw e;
        }
        connection.start();
    }

    /** Disconnects the instrument. */
    @Deactivate
    public void deactivate() {
        try {
            connection.close();
        } finally {
            directory.release(connection);
        }
    }
}
