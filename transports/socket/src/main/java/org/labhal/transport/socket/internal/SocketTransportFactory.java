package org.labhal.transport.socket.internal;

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
 * The raw TCP socket transport: {@code TCPIP[board]::host::port::SOCKET[?options]}. Options (see
 * {@link SocketSettings} and this bundle's README): {@code write_termination},
 * {@code read_termination} ({@code lf} default, {@code crlf}, {@code cr}, {@code none}),
 * {@code drain_ms} (100), {@code late_ms} (5000), {@code reconnect} (false), {@code nodelay} (true),
 * {@code keepalive} (true).
 *
 * <p>Stopping the bundle closes every socket this factory opened: callers blocked on them get a
 * {@link ConnectionLostException} at once.
 */
@Component(service = TransportFactory.class, property = TransportFactory.KINDS_PROPERTY + "=SOCKET")
public final class SocketTransportFactory implements TransportFactory {
    private final OpenConnections<SocketConnection> open =
            new OpenConnections<>(SocketConnection::kill, "closed because the socket transport stopped");

    @Override
    public Set<TransportKind> kinds() {
        return Set.of(TransportKind.SOCKET);
    }

    @Override
    public Connection open(ResourceAddress address, Duration timeout) throws LabHalException {
        if (address.kind() != TransportKind.SOCKET) {
            throw new LabHalException("The socket transport cannot open " + address.canonical()
                    + ": it serves TCPIP::host::port::SOCKET resources only");
        }
        SocketSettings settings = SocketSettings.of(address);
        SocketConnection connection = new SocketConnection(address, settings, timeout, open::remove);
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

    /** Closes every connection: blocked callers wake with {@link ConnectionLostException}. */
    @Deactivate
    public void deactivate() {
        open.closeAll();
    }
}
