package org.labhal.transport.gpib.internal;

import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.Designate;

/**
 * One configured GPIB board, a factory configuration of {@value BoardSettings#FACTORY_PID}. It only
 * checks and carries the settings: the {@link GpibTransportFactory} opens the controller link when a
 * resource on the board is first opened, and closes it with every connection on it when this
 * configuration goes away. A bad configuration fails activation with a message naming it, so a
 * broken board never registers.
 */
@Component(name = BoardSettings.FACTORY_PID, configurationPid = BoardSettings.FACTORY_PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE, service = GpibBoard.class)
@Designate(ocd = BoardConfiguration.class, factory = true)
public final class GpibBoard {
    private final BoardSettings settings;

    /**
     * @param properties the configuration
     * @throws IllegalArgumentException naming the configuration and the bad property
     */
    @Activate
    public GpibBoard(Map<String, Object> properties) {
        this.settings = BoardSettings.from(properties);
    }

    BoardSettings settings() {
        return settings;
    }

    @Override
    public String toString() {
        return settings.describe();
    }
}
