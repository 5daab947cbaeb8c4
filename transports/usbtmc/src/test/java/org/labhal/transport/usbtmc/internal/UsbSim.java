package org.labhal.transport.usbtmc.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.UnaryOperator;

import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportUnavailableException;
import org.labhal.api.TransportKind;
import org.labhal.api.transport.Connection;
import org.labhal.transport.sim.SimSettings;
import org.labhal.transport.sim.SimulatedInstrument;
import org.labhal.transport.usbtmc.SimulatedUsb488Device;
import org.labhal.transport.usbtmc.SimulatedUsbDevices;

/**
 * A simulated instrument behind a simulated USB488 (or raw) device, registered with a transport factory
 * that has no libusb: what each test opens. Also the steps a session takes, without the session and
 * without its clear after a timeout (so the tests see what the transport alone does).
 */
final class UsbSim implements AutoCloseable {
    static final Duration IO = Duration.ofSeconds(5);

    final SimulatedInstrument instrument;
    final SimulatedUsb488Device device;
    final SimulatedUsbDevices devices = new SimulatedUsbDevices();
    final UsbtmcTransportFactory factory = new UsbtmcTransportFactory(NoLibUsb::new);

    UsbSim(String model, SimSettings settings, UnaryOperator<SimulatedUsb488Device.Builder> configure)
            throws IOException {
        instrument = SimulatedInstrument.create(model, settings);
        device = configure.apply(SimulatedUsb488Device.builder(instrument).serial("SIM-" + model + "-0")).build();
        devices.add(device);
        factory.addSimulated(devices);
    }

    UsbSim(String model) throws IOException {
        this(model, SimSettings.defaults(), b -> b);
    }

    String resource() {
        return SimulatedUsbDevices.resource(device);
    }

    Connection open(String options) throws LabHalException {
        return factory.open(ResourceAddress.parse(resource() + options), IO);
    }

    Connection open() throws LabHalException {
        return open("");
    }

    @Override
    public void close() {
        factory.deactivate();
        device.close();
        instrument.close();
    }

    static void write(Connection connection, String command, Duration io) throws LabHalException {
        connection.write(ByteBuffer.wrap(command.getBytes(StandardCharsets.ISO_8859_1)), true, io);
    }

    static String query(Connection connection, String query, Duration io) throws LabHalException {
        write(connection, query, io);
        return read(connection, io);
    }

    static String query(Connection connection, String query) throws LabHalException {
        return query(connection, query, IO);
    }

    /** Reads one message; returns it without its final newline. */
    static String read(Connection connection, Duration io) throws LabHalException {
        String text = new String(readMessage(connection, io, 8192), StandardCharsets.ISO_8859_1);
        return text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
    }

    /** Reads one message, terminator included, in reads of {@code chunk} bytes. */
    static byte[] readMessage(Connection connection, Duration io, int chunk) throws LabHalException {
        ByteArrayOutputStream message = new ByteArrayOutputStream();
        ByteBuffer buffer = ByteBuffer.allocate(chunk);
        while (true) {
            buffer.clear();
            boolean end = connection.read(buffer, io);
            message.write(buffer.array(), 0, buffer.position());
            if (end) {
                return message.toByteArray();
            }
        }
    }

    /** The backend of a machine without libusb. */
    static final class NoLibUsb implements UsbBackend {
        @Override
        public org.labhal.transport.usbtmc.UsbDevice open(ResourceAddress address, Duration timeout)
                throws LabHalException {
            throw new TransportUnavailableException("USB devices cannot be opened (" + address.canonical()
                    + "): no libusb in this test", TransportKind.USBTMC);
        }

        @Override
        public java.util.List<Found> usbtmcInterfaces(java.util.List<String> problems) throws LabHalException {
            throw new TransportUnavailableException("USB devices cannot be listed: no libusb in this test",
                    TransportKind.USBTMC);
        }

        @Override
        public void close() {
        }
    }
}
