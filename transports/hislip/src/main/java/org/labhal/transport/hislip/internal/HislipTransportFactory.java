package org.labhal.transport.hislip.internal;

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
 * The HiSLIP transport: {@code TCPIP[board]::host::hislipN[,port]::INSTR[?max_message_size=n]}. The
 * connections it opens are {@link org.labhal.transport.hislip.HislipLink}s.
 *
 * <p>Stopping the bundle closes every connection this factory opened: callers blocked on them get a
 * {@link ConnectionLostException} at once, and the instrument releases their HiSLIP locks.
 */
@Component(service = TransportFactory.class, property = TransportFactory.KINDS_PROPERTY + "=HISLIP")
public final class HislipTransportFactory implements TransportFactory {
    private final OpenConnections<HislipConnection> open =
            new OpenConnections<>(HislipConnection::kill, "closed because the HiSLIP transport stopped");

    @Override
    public Set<TransportKind> kinds() {
        return Set.of(TransportKind.HISLIP);
    }

    @Override
    public Connection open(ResourceAddress address, Duration timeout) throws LabHalException {
        if (address.kind() != TransportKind.HISLIP) {
            throw new LabHalException("The HiSLIP transport cannot open " + address.canonical()
                    + ": it serves TCPIP::host::hislipN[,port]::INSTR resources only");
        }
        HislipConnection connection = new HislipConnection(address, HislipSettings.of(address), open::remove);
        open.add(connection); // closes it at once if the transport stopped meanwhile
        connection.open(timeout); // closes the connection when it fails
        return connection;
    }

    /** @return how many connections this factory opened and nobody closed yet */
    int openConnections() {
        return open.size();
    }

    /** Closes every connection: blocked callers wake with {@link ConnectionLostException}. */
    @Deactivate
    public void deactivate() {
        open.closeAll();
    }
}
