package org.labhal.transport.vxi11.internal;

import java.io.IOException;
import java.net.InetSocketAddress;

import org.labhal.api.transport.Deadline;

/** The client side of the portmapper (RFC 1833, version 2) over TCP: GETPORT only. */
public final class Portmapper {
    private Portmapper() {
    }

    /**
     * Asks the portmapper at {@code portmapper} where a program listens over TCP.
     *
     * @param deadline when the connect, the call and its reply must be done, together
     * @return the port, 1 to 65535
     * @throws IOException when the portmapper is unreachable, answers garbage or not in time
     * @throws RpcRejectedException when it refuses the call
     * @throws XdrException also when the program is not registered (port 0) or the port is out of range
     */
    public static int getPort(InetSocketAddress portmapper, int program, int version, Deadline deadline)
            throws IOException, RpcRejectedException {
        try (RpcClient rpc = RpcClient.connect(portmapper, deadline, 1024, socket -> { })) {
            RpcClient.Request request = rpc.request(Rpc.PORTMAPPER_PROGRAM, Rpc.PORTMAPPER_VERSION,
                    Rpc.PORTMAPPER_GETPORT, 16);
            request.args().putInt(program).putInt(version).putInt(Rpc.IPPROTO_TCP).putInt(0);
            long port = rpc.call(request, deadline).getUnsignedInt();
            if (port == 0) {
                throw new NotRegisteredException("the portmapper at " + portmapper + " has no TCP registration "
                        + "for program 0x" + Integer.toHexString(program) + " version " + version);
            }
            if (port > 65535) {
                throw new XdrException("the portmapper at " + portmapper + " answered port " + port);
            }
            return (int) port;
        }
    }

    /** The portmapper answered, but the program is not registered with it. */
    public static final class NotRegisteredException extends IOException {
        private static final long serialVersionUID = 1L;

        NotRegisteredException(String message) {
            super(message);
        }
    }
}
