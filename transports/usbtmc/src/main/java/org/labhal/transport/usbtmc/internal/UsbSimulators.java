package org.labhal.transport.usbtmc.internal;

import java.io.IOException;
import java.util.Map;

import org.labhal.api.transport.TransportFactory;
import org.labhal.transport.sim.SimSettings;
import org.labhal.transport.sim.SimulatedInstrument;
import org.labhal.transport.sim.SimulatorLauncher;
import org.labhal.transport.usbtmc.SimulatedUsb488Device;
import org.labhal.transport.usbtmc.SimulatedUsbDevices;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * Offers the simulated USB488 devices the framework property {@value #PROPERTY} lists, while this bundle
 * is active, e.g. {@code SMW200A@0 SHARED@0}: each item is a simulator model and an instance number, which
 * becomes the device's serial number ({@code SIM-SMW200A-0}). The generator has R&amp;S's vendor id
 * (0x0AAD), the meter Keysight's (0x0957); the product ids are made up. The devices are registered as a
 * {@link SimulatedUsbDevices} service, which the transport opens before it asks libusb and its discovery
 * lists, so {@code USB0::0x0AAD::0x0001::SIM-SMW200A-0::INSTR} reaches the simulated generator. Unset or
 * empty: nothing is offered.
 */
@Component(service = {}, immediate = true)
public final class UsbSimulators {
    /** The framework property listing what to offer. */
    public static final String PROPERTY = "labhal.simulators.usb";
    /** Vendor and product id of each simulator model. */
    static final Map<String, int[]> IDS = Map.of("SMW200A", new int[] {0x0AAD, 0x0001}, "SHARED",
            new int[] {0x0957, 0x0001});

    private final SimulatedUsbDevices devices = new SimulatedUsbDevices();
    private final SimulatorLauncher launcher;
    private final ServiceRegistration<SimulatedUsbDevices> registration;

    /**
     * @param context reads the property and registers the devices
     * @param logger reports each device offered or refused
     * @param simulated the SIM transport, present when the simulated instruments are
     */
    @Activate
    public UsbSimulators(BundleContext context, @Reference(service = LoggerFactory.class) Logger logger,
            @Reference(target = "(" + TransportFactory.KINDS_PROPERTY + "=SIM)") TransportFactory simulated) {
        launcher = SimulatorLauncher.launch(PROPERTY, context::getProperty, "USB", spec -> {
            int[] ids = IDS.get(spec.model().toUpperCase(java.util.Locale.ROOT));
            if (ids == null) {
                throw new IllegalArgumentException("no USB ids for model " + spec.model() + "; known: " + IDS.keySet());
            }
            SimulatedInstrument instrument = SimulatedInstrument.create(spec.model(), SimSettings.defaults());
            SimulatedUsb488Device device;
            try {
                device = SimulatedUsb488Device.builder(instrument).vendorId(ids[0]).productId(ids[1])
                        .serial("SIM-" + instrument.model() + "-" + spec.port()).build();
            } catch (IOException | RuntimeException e) {
                instrument.close();
                throw e;
            }
            devices.add(device);
            return new SimulatorLauncher.Started(() -> {
                devices.remove(device);
                device.close();
                instrument.close();
            }, SimulatedUsbDevices.resource(device));
        }, logger::info, logger::error);
        registration = context.registerService(SimulatedUsbDevices.class, devices, null);
    }

    /** Withdraws the devices: their connections see them detached. */
    @Deactivate
    public void deactivate() {
        registration.unregister();
        launcher.close();
    }
}
