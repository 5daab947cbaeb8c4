package org.labhal.runtime.internal.instrument;

import java.util.Map;

import org.labhal.api.SessionFactory;
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
     * @param sessions opens sessions
     * @param catalog the installed models
     * @param directory the running instruments, where the id is claimed
     * @param served what the runtime knows of the connections each resource serves
     * @param guard bounds the steps of connecting
     * @param workers the threads the instruments' connection work shares
     * @param logger where the instrument logs
     */
    @Activate
    public InstrumentComponent(Map<String, Object> properties, BundleContext context,
            @Reference SessionFactory sessions, @Reference ModelCatalog catalog, @Reference InstrumentDirectory directory,
            @Reference ServedConnections served, @Reference ConnectGuard guard, @Reference InstrumentWorkers workers,
            @Reference(service = LoggerFactory.class) Logger logger) {
        InstrumentSettings settings;
        try {
            settings = InstrumentSettings.from(properties);
        } catch (IllegalArgumentException e) {
            logger.error("{}; the instrument does not start", e.getMessage());
            throw e;
        }
        this.directory = directory;
        this.connection = new InstrumentConnection(settings, sessions, catalog, context, logger, served, guard,
                workers);
        try {
            directory.claim(connection);
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
