package org.labhal.transport.vxi11.internal;

import java.time.Duration;
import java.util.Set;

import org.labhal.api.ConnectionLostException;
import org.labhal.api.LabHalException;
import org.labhal.api.ResourceAddress;
import org.labhal.api.TransportKind;
import org.labhal.api.transport.Connection;
import org.labhal.api.transport.OpenConnections;
import org.labhal.api.transport.TransportFactory;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * The VXI-11 transport: {@code TCPIP[board]::host[::instN|::gpibB,N]::INSTR[?options]}. Options
 * (see {@link Vxi11Settings} and this bundle's README): {@code port} (the core channel, skipping the
 * portmapper), {@code portmapper} (111), {@code termchar}, {@code lock_wait_ms} (0),
 * {@code max_read} (1 MiB). Every connection is a {@link org.labhal.transport.vxi11.Vxi11Link}.
 *
 * <p>Stopping the bundle destroys every link this factory created and closes its connection:
 * callers blocked on them get a {@link ConnectionLostException} at once.
 */
@Component(service = TransportFactory.class, property = TransportFactory.KINDS_PROPERTY + "=VXI11")
public final class Vxi11TransportFactory implements TransportFactory {
    private final OpenConnections<Vxi11Connection> open =
            new OpenConnections<>(Vxi11Connection::kill, "closed because the VXI-11 transport stopped");

    @Override
    public Set<TransportKind> kinds() {
        return Set.of(TransportKind.VXI11);
    }

    @Override
    public Connection open(ResourceAddress address, Duration timeout) throws LabHalException {
        if (address.kind() != TransportKind.VXI11) {
            throw new LabHalException("The VXI-11 transport cannot open " + address.canonical()
                    + ": it serves TCPIP::host[::instN|::gpibB,N]::INSTR resources only");
        }
        Vxi11Settings settings = Vxi11Settings.of(address);
        Vxi11Connection connection = new Vxi11Connection(address, settings, open::remove);
        open.add(connection); // closes it at once if the transport stopped meanwhile
        try {
            connection.connect(timeout);
        } catch (LabHalException | RuntimeException e) {
            connection.close();
            throw e;
        }
        return connection;
    }

    /** @return how many connections this factory opened and nobody closed yet */
    int openConnections() {
        return open.size();
    }

    /** Destroys every link: blocked callers wake with {@link ConnectionLostException}. */
    @Deactivate
    public void deactivate() {
        open.closeAll();
    }
}
